// Reduced-precision conv2d (bf16 and int8) on the lowp linear's panels kernels (lowp-body.inc):
//   1. the input, once per call, converted to bf16 or quantized to u8 (per-tensor scale and zero point:
//      static, or from this batch's min and max) and laid out group-major NHWC, [groups][batch][h][w][c/g],
//      so a patch row of kernel_w pixels is kernel_w * c/g contiguous elements, with the padding written out
//      (the zero point, or bf16 0). In the int8 chain (lib/model/plan.ts) the input arrives as u8 NHWC already;
//   2. per thread, blocks of output pixels: the gather kernels read each pixel's patch in place, a window
//      start per row and one table of k-step offsets (k ordered (ky, kx, c), each kernel row padded to whole
//      4-byte steps in the packed weights, 0 past kernel_w * c/g). Where the padded copy would outgrow the
//      input, patches are gathered into rows of A instead (im2col), a block small enough to stay in L2;
//   3. the kernel's sums, in the epilogue compiled here (the same outputs on every ISA; an AVX-512 twin does
//      the same single operations 16 channels at a time): int8 dequantized (sum - zero_point * sum_k q) *
//      act_scale * w_scale, + bias, ReLU, written to NCHW fp32, or requantized with the next layer's scale to
//      u8 NHWC (the chain: max pooling runs on those u8, lib/model/plan.ts int8Chain).
// The weights are held only as bf16 or int8. Padding reads as 0.0: bf16 0, and for u8 the zero point (so it
// adds exactly 0).
#include <algorithm>
#include <cstring>
#include <vector>

#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/lowp-internal.h"
#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"

namespace alexnet {
namespace {

// bytes of A rows per block: with a group of 4 panels (lowp-body.inc) both fit in a 1-2 MB L2
constexpr size_t CONV_BLOCK_BYTES = 160 * 1024;
// tasks per thread where the blocks leave fewer, and the smallest block of pixels halved to for that
constexpr int CONV_TASKS_PER_THREAD = 32;
constexpr int64_t CONV_MIN_BLOCK_ROWS = 32;

struct conv_geometry {
  int groups, in_per_group, out_per_group;
  int seg;            // elements of one kernel row of a patch, kernel_w * c/g rounded up to a whole k step (4 u8 or
                      // 2 bf16), so that no step straddles two kernel rows (the gather kernels read them in place)
  int k, steps;       // k = kernel_h * seg (the packed weights are 0 past kernel_w * c/g in each kernel row)
  size_t elem;        // bytes per activation: 1 (u8) or 2 (bf16)
  size_t lda;         // bytes per A row: steps * 4
  size_t group_bytes; // one group's packed weights (a lowp linear layout, 64-byte aligned)
};

conv_geometry geometry_of(lowp_type type, const conv2d_params& p) {
  conv_geometry g;
  g.groups = p.groups;
  g.in_per_group = p.in_channels / p.groups;
  g.out_per_group = p.out_channels / p.groups;
  const int per_step = type == lowp_type::int8 ? 4 : 2;
  g.seg = (p.kernel_w * g.in_per_group + per_step - 1) / per_step * per_step;
  g.k = p.kernel_h * g.seg;
  g.steps = lowp_k_steps(type, g.k);
  g.elem = type == lowp_type::int8 ? 1 : 2;
  g.lda = static_cast<size_t>(g.steps) * 4;
  g.group_bytes = (lowp_packed_layout(type, g.out_per_group, g.k).total_bytes + 63) / 64 * 64;
  return g;
}

// OIHW [o][c][ky][kx] of one group -> [o][ky][kx][c] (the patch k order), each kernel row seg long (0 after
// its kernel_w * c/g)
template <class T>
void to_patch_order(const conv2d_params& p, const conv_geometry& g, const T* oihw, int group, T* out) {
  const int kk = p.kernel_h * p.kernel_w;
  const size_t o_size = static_cast<size_t>(kk) * g.in_per_group;  // one output channel's OIHW weights
  for (int o = 0; o < g.out_per_group; ++o) {
    const T* src = oihw + static_cast<size_t>(group * g.out_per_group + o) * o_size;
    T* dst = out + static_cast<size_t>(o) * g.k;
    std::fill(dst, dst + g.k, T(0));
    for (int c = 0; c < g.in_per_group; ++c)
      for (int ky = 0; ky < p.kernel_h; ++ky)
        for (int kx = 0; kx < p.kernel_w; ++kx)
          dst[ky * g.seg + kx * g.in_per_group + c] = src[c * kk + ky * p.kernel_w + kx];
  }
}

template <class T>
void from_patch_order(const conv2d_params& p, const conv_geometry& g, const T* patch, int group, T* oihw) {
  const int kk = p.kernel_h * p.kernel_w;
  const size_t o_size = static_cast<size_t>(kk) * g.in_per_group;
  for (int o = 0; o < g.out_per_group; ++o) {
    const T* src = patch + static_cast<size_t>(o) * g.k;
    T* dst = oihw + static_cast<size_t>(group * g.out_per_group + o) * o_size;
    for (int c = 0; c < g.in_per_group; ++c)
      for (int ky = 0; ky < p.kernel_h; ++ky)
        for (int kx = 0; kx < p.kernel_w; ++kx)
          dst[c * kk + ky * p.kernel_w + kx] = src[ky * g.seg + kx * g.in_per_group + c];
  }
}

// the output pixel of a row: (image, pixel) in the [batch, plane] grid, written at
// out[(image * out_channels + channel) * plane + pixel]
inline float* out_of(const lowp_run& r, int row, int col) {
  const int m = r.row_base + row;
  const int image = m / r.plane, pixel = m % r.plane;
  return r.out + (static_cast<size_t>(image) * r.out_channels + r.channel0 + col) * r.plane + pixel;
}

// The epilogue computes a tile's outputs row by row over contiguous channels (loops the compiler
// vectorizes: the scalar version took as many instructions as the int8 GEMM itself for conv1), then stores
// them transposed, each channel's pixels together (NCHW): when the tile's 4 rows are consecutive pixels of
// one image (almost always), 4x4 blocks transposed in registers and stored as 16-byte runs.
constexpr int TILE_COLS = 4 * LOWP_PANEL;  // lowp-body.inc: at most 4 panels per tile

void conv_store_transposed(const lowp_run& r, int row0, int rows, int col0, int cols, const float (*values)[TILE_COLS]) {
  const int m0 = r.row_base + row0;
  if (rows == 4 && m0 / r.plane == (m0 + 3) / r.plane) {
    float* out = out_of(r, row0, col0);
    int j = 0;
#ifdef __SSE2__
    for (; j + 4 <= cols; j += 4) {
      __m128 v0 = _mm_loadu_ps(values[0] + j), v1 = _mm_loadu_ps(values[1] + j);
      __m128 v2 = _mm_loadu_ps(values[2] + j), v3 = _mm_loadu_ps(values[3] + j);
      _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
      _mm_storeu_ps(out + static_cast<size_t>(j) * r.plane, v0);
      _mm_storeu_ps(out + static_cast<size_t>(j + 1) * r.plane, v1);
      _mm_storeu_ps(out + static_cast<size_t>(j + 2) * r.plane, v2);
      _mm_storeu_ps(out + static_cast<size_t>(j + 3) * r.plane, v3);
    }
#endif
    for (; j < cols; ++j)
      for (int i = 0; i < 4; ++i) out[static_cast<size_t>(j) * r.plane + i] = values[i][j];
    return;
  }
  for (int i = 0; i < rows; ++i) {
    float* out = out_of(r, row0 + i, col0);
    for (int j = 0; j < cols; ++j) out[static_cast<size_t>(j) * r.plane] = values[i][j];
  }
}

// a tile's int8 outputs as fp32: dequantized, + bias, ReLU (shared by both int8 epilogues, so that the
// chain requantizes exactly the values the fp32 output would hold)
inline void int8_tile_values(const lowp_run& r, int rows, int col0, int cols, const int32_t* sums, int ld,
                             float (*values)[TILE_COLS]) {
  const int32_t zero_point = r.act.zero_point;
  const float act_scale = r.act.scale;
  const int32_t* w_sums = r.w_sums + col0;
  const float* w_scales = r.w_scales + col0;
  const float* bias = r.bias ? r.bias + col0 : nullptr;
  for (int i = 0; i < rows; ++i) {
    const int32_t* s = sums + static_cast<size_t>(i) * ld;
    float* v = values[i];
    for (int j = 0; j < cols; ++j) v[j] = static_cast<float>(s[j] - zero_point * w_sums[j]) * (act_scale * w_scales[j]);
    if (bias)
      for (int j = 0; j < cols; ++j) v[j] += bias[j];
    if (r.relu)
      for (int j = 0; j < cols; ++j) v[j] = v[j] < 0.0f ? 0.0f : v[j];
  }
}

void conv_int8_epilogue(const lowp_run& r, int row0, int rows, int col0, int cols, const void* sums_v, int ld) {
  alignas(64) float values[4][TILE_COLS];
  int8_tile_values(r, rows, col0, cols, static_cast<const int32_t*>(sums_v), ld, values);
  conv_store_transposed(r, row0, rows, col0, cols, values);
}

// the chain's epilogue: the same values requantized for the next layer, each pixel's channels contiguous (NHWC)
inline uint8_t* u8_row_of(const lowp_run& r, int row, int col0) {
  return r.out_u8 + static_cast<size_t>(r.row_base + row) * r.out_channels + r.channel0 + col0;
}
void conv_int8_u8_epilogue(const lowp_run& r, int row0, int rows, int col0, int cols, const void* sums_v, int ld) {
  alignas(64) float values[4][TILE_COLS];
  int8_tile_values(r, rows, col0, cols, static_cast<const int32_t*>(sums_v), ld, values);
  for (int i = 0; i < rows; ++i)
    lowp_quantize_u8_row(values[i], u8_row_of(r, row0 + i, col0), static_cast<size_t>(cols), r.out_inverse, r.out_zero);
}

#if defined(ALEXNET_HAVE_AVX512) && defined(__GNUC__)
// The same two epilogues 16 channels at a time where the CPU has AVX-512 (for conv1, k = 363, the epilogue
// took a third as long as the int8 sums themselves in SSE2). The same outputs to the bit: each value is the
// same single IEEE operations in the same order (this file is compiled with -ffp-contract=off, so no FMA),
// and vmaxps / vminps take the scalar compares' operand for NaN and signed zeros (the second one).
#define ALEXNET_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))
// GCC 12 warns of the intrinsics' own _mm512_undefined_* (`__Y = __Y`) when they are inlined into a target function
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

ALEXNET_AVX512_TARGET inline __mmask16 first_lanes(int n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << n) - 1u);
}

// lowp_quantize_u8_row's operations on 16 values, the m lanes of them stored as u8
struct quantize16 {
  __m512 inv, lo, hi, magic, zero, zeros, top;
  ALEXNET_AVX512_TARGET quantize16(float inverse, float zero_point)
      : inv(_mm512_set1_ps(inverse)), lo(_mm512_set1_ps(-512.0f)), hi(_mm512_set1_ps(512.0f)),
        magic(_mm512_set1_ps(12582912.0f)), zero(_mm512_set1_ps(zero_point)), zeros(_mm512_setzero_ps()),
        top(_mm512_set1_ps(255.0f)) {}
  ALEXNET_AVX512_TARGET void store(__m512 x, uint8_t* dst, __mmask16 m) const {
    __m512 t = _mm512_mul_ps(x, inv);
    t = _mm512_min_ps(_mm512_max_ps(t, lo), hi);  // max(t, lo) = t > lo ? t : lo (lo for NaN)
    __m512 v = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(t, magic), magic), zero);
    v = _mm512_min_ps(_mm512_max_ps(v, zeros), top);
    _mm512_mask_cvtepi32_storeu_epi8(dst, m, _mm512_cvttps_epi32(v));
  }
};

// int8_tile_values: 16 columns of every row at a time, the column constants loaded once for all rows;
// `emit(row, j, mask, v)` takes each 16 values
template <class Emit>
ALEXNET_AVX512_TARGET inline void int8_tile_values_avx512(const lowp_run& r, int rows, int col0, int cols,
                                                         const int32_t* sums, int ld, Emit emit) {
  const __m512i zero_point = _mm512_set1_epi32(r.act.zero_point);
  const __m512 act_scale = _mm512_set1_ps(r.act.scale), zero = _mm512_setzero_ps();
  for (int j = 0; j < cols; j += 16) {
    const __mmask16 m = first_lanes(cols - j);
    const __m512i zw = _mm512_mullo_epi32(zero_point, _mm512_maskz_loadu_epi32(m, r.w_sums + col0 + j));
    const __m512 scale = _mm512_mul_ps(act_scale, _mm512_maskz_loadu_ps(m, r.w_scales + col0 + j));
    const __m512 bias = r.bias ? _mm512_maskz_loadu_ps(m, r.bias + col0 + j) : zero;
    for (int i = 0; i < rows; ++i) {
      const __m512i s = _mm512_maskz_loadu_epi32(m, sums + static_cast<size_t>(i) * ld + j);
      __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(s, zw)), scale);
      if (r.bias) v = _mm512_add_ps(v, bias);
      if (r.relu) v = _mm512_max_ps(zero, v);  // v < 0 ? 0 : v (v for -0 and NaN)
      emit(i, j, m, v);
    }
  }
}

ALEXNET_AVX512_TARGET void conv_int8_epilogue_avx512(const lowp_run& r, int row0, int rows, int col0, int cols,
                                                     const void* sums_v, int ld) {
  alignas(64) float values[4][TILE_COLS];
  int8_tile_values_avx512(r, rows, col0, cols, static_cast<const int32_t*>(sums_v), ld,
                          [&](int i, int j, __mmask16, __m512 v) ALEXNET_AVX512_TARGET { _mm512_store_ps(values[i] + j, v); });
  conv_store_transposed(r, row0, rows, col0, cols, values);
}

ALEXNET_AVX512_TARGET void conv_int8_u8_epilogue_avx512(const lowp_run& r, int row0, int rows, int col0, int cols,
                                                        const void* sums_v, int ld) {
  const quantize16 q(r.out_inverse, r.out_zero);
  int8_tile_values_avx512(r, rows, col0, cols, static_cast<const int32_t*>(sums_v), ld,
                          [&](int i, int j, __mmask16 m, __m512 x)
                              ALEXNET_AVX512_TARGET { q.store(x, u8_row_of(r, row0 + i, col0) + j, m); });
}
// lowp_quantize_u8_row, 16 values at a time (the input's quantization before conv1: 3x fewer instructions than SSE2)
ALEXNET_AVX512_TARGET void quantize_u8_row_avx512(const float* src, uint8_t* dst, size_t n, float inverse, float zero) {
  const quantize16 q(inverse, zero);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes(static_cast<int>(std::min<size_t>(16, n - i)));
    q.store(_mm512_maskz_loadu_ps(m, src + i), dst + i, m);
  }
}
#pragma GCC diagnostic pop
#undef ALEXNET_AVX512_TARGET
#endif

// whether the kernel set in use runs the AVX-512 twins above
inline bool avx512_twins() {
#if defined(ALEXNET_HAVE_AVX512) && defined(__GNUC__)
  const cpu_isa isa = cpu_isa_current();
  return isa == cpu_isa::avx512 || isa == cpu_isa::avx512_vnni;
#else
  return false;
#endif
}

// lowp_quantize_u8_row for the ISA in use
using quantize_row_fn = void (*)(const float*, uint8_t*, size_t, float, float);
quantize_row_fn quantize_u8_row_current() {
#if defined(ALEXNET_HAVE_AVX512) && defined(__GNUC__)
  if (avx512_twins()) return quantize_u8_row_avx512;
#endif
  return lowp_quantize_u8_row;
}

// the int8 epilogue for the ISA in use
void (*int8_conv_epilogue(bool u8))(const lowp_run&, int, int, int, int, const void*, int) {
#if defined(ALEXNET_HAVE_AVX512) && defined(__GNUC__)
  if (avx512_twins()) return u8 ? conv_int8_u8_epilogue_avx512 : conv_int8_epilogue_avx512;
#endif
  return u8 ? conv_int8_u8_epilogue : conv_int8_epilogue;
}

void conv_bf16_epilogue(const lowp_run& r, int row0, int rows, int col0, int cols, const void* sums_v, int ld) {
  const float* sums = static_cast<const float*>(sums_v);
  alignas(64) float values[4][TILE_COLS];
  const float* bias = r.bias ? r.bias + col0 : nullptr;
  for (int i = 0; i < rows; ++i) {
    const float* s = sums + static_cast<size_t>(i) * ld;
    float* v = values[i];
    for (int j = 0; j < cols; ++j) v[j] = s[j];
    if (bias)
      for (int j = 0; j < cols; ++j) v[j] += bias[j];
    if (r.relu)
      for (int j = 0; j < cols; ++j) v[j] = v[j] < 0.0f ? 0.0f : v[j];
  }
  conv_store_transposed(r, row0, rows, col0, cols, values);
}

// `count` elements of value `fill` (u8 zero point, or bf16 0)
inline void fill_elems(uint8_t* dst, size_t count, size_t elem, uint8_t fill) { std::memset(dst, fill, count * elem); }

// rows [row0, row0 + rows) of A: each output pixel's patch from the group-major NHWC input of one group (the
// fallback of the gather kernels: gather_fits)
void im2col_block(const conv2d_params& p, const conv_geometry& g, const uint8_t* group_src, int row0, int rows,
                  uint8_t fill, uint8_t* a) {
  const int plane = p.out_height * p.out_width;
  const size_t pixel_bytes = static_cast<size_t>(g.in_per_group) * g.elem;
  const size_t image_bytes = static_cast<size_t>(p.in_height) * p.in_width * pixel_bytes;
  const size_t k_bytes = static_cast<size_t>(g.k) * g.elem;
  for (int i = 0; i < rows; ++i) {
    const int m = row0 + i;
    const int image = m / plane, pixel = m % plane;
    const int oy = pixel / p.out_width, ox = pixel % p.out_width;
    const uint8_t* src = group_src + static_cast<size_t>(image) * image_bytes;
    uint8_t* dst = a + static_cast<size_t>(i) * g.lda;
    const int ix0 = ox * p.stride_w - p.pad_left;
    const int kx_lo = std::max(0, -ix0), kx_hi = std::min(p.kernel_w, p.in_width - ix0);
    const size_t row_bytes = static_cast<size_t>(p.kernel_w) * pixel_bytes, seg_bytes = static_cast<size_t>(g.seg) * g.elem;
    for (int ky = 0; ky < p.kernel_h; ++ky) {
      uint8_t* d = dst + static_cast<size_t>(ky) * seg_bytes;
      for (size_t j = row_bytes; j < seg_bytes; ++j) d[j] = fill;  // int8's padding to the k step (weights 0)
      const int iy = oy * p.stride_h - p.pad_top + ky;
      if (iy < 0 || iy >= p.in_height || kx_hi <= kx_lo) {
        fill_elems(d, static_cast<size_t>(p.kernel_w) * g.in_per_group, g.elem, fill);
        continue;
      }
      if (kx_lo > 0) fill_elems(d, static_cast<size_t>(kx_lo) * g.in_per_group, g.elem, fill);
      std::memcpy(d + kx_lo * pixel_bytes, src + (static_cast<size_t>(iy) * p.in_width + ix0 + kx_lo) * pixel_bytes,
                  static_cast<size_t>(kx_hi - kx_lo) * pixel_bytes);
      if (kx_hi < p.kernel_w)
        fill_elems(d + kx_hi * pixel_bytes, static_cast<size_t>(p.kernel_w - kx_hi) * g.in_per_group, g.elem, fill);
    }
    std::memset(dst + k_bytes, 0, g.lda - k_bytes);  // past k the weights are 0; 0 keeps bf16 products finite
  }
}

#ifdef __SSE2__
// 16 rows of 16 bytes (src, stride src_stride) -> 16 rows of 16 bytes (dst, stride dst_stride), transposed:
// unpacks of 8, 16, 32 and 64 bits, each stage pairing the rows the previous one interleaved
inline void transpose_16x16_u8(const uint8_t* src, size_t src_stride, uint8_t* dst, size_t dst_stride) {
  __m128i a[16], b[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * src_stride));
  for (int i = 0; i < 8; ++i) {  // b[i]: columns 0-7 of rows 2i, 2i+1 interleaved; b[8 + i]: columns 8-15
    b[i] = _mm_unpacklo_epi8(a[2 * i], a[2 * i + 1]);
    b[8 + i] = _mm_unpackhi_epi8(a[2 * i], a[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j) {  // a[8h + j]: columns 8h + 0-3 of rows 4j-4j+3; a[8h + 4 + j]: columns 8h + 4-7
      a[8 * h + j] = _mm_unpacklo_epi16(b[8 * h + 2 * j], b[8 * h + 2 * j + 1]);
      a[8 * h + 4 + j] = _mm_unpackhi_epi16(b[8 * h + 2 * j], b[8 * h + 2 * j + 1]);
    }
  for (int q = 0; q < 4; ++q) {  // columns 4q-4q+3: a[4q + j] holds them for rows 4j-4j+3
    const __m128i lo01 = _mm_unpacklo_epi32(a[4 * q], a[4 * q + 1]), hi01 = _mm_unpackhi_epi32(a[4 * q], a[4 * q + 1]);
    const __m128i lo23 = _mm_unpacklo_epi32(a[4 * q + 2], a[4 * q + 3]), hi23 = _mm_unpackhi_epi32(a[4 * q + 2], a[4 * q + 3]);
    b[4 * q] = _mm_unpacklo_epi64(lo01, lo23);  // column 4q, rows 0-15
    b[4 * q + 1] = _mm_unpackhi_epi64(lo01, lo23);
    b[4 * q + 2] = _mm_unpacklo_epi64(hi01, hi23);
    b[4 * q + 3] = _mm_unpackhi_epi64(hi01, hi23);
  }
  for (int i = 0; i < 16; ++i) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * dst_stride), b[i]);
}
#endif

// [channels][n] (channel c at q + c * q_stride) -> [n][channels]
void transpose_u8(const uint8_t* q, size_t q_stride, int channels, size_t n, uint8_t* d) {
  size_t x = 0;
#ifdef __SSE2__
  if (channels % 16 == 0)
    for (; x + 16 <= n; x += 16)
      for (int c0 = 0; c0 < channels; c0 += 16)
        transpose_16x16_u8(q + static_cast<size_t>(c0) * q_stride + x, q_stride, d + x * channels + c0, static_cast<size_t>(channels));
  if (channels == 3) {
    // an image's RGB (conv1): 16 pixels at a time interleaved to (r, g, b, 0) words in registers, each stored as
    // 4 bytes at 3 * pixel (the 0 is overwritten by the next pixel's r, so the last pixel is left to the loop below)
    const __m128i zero = _mm_setzero_si128();
    for (; x + 16 < n; x += 16) {
      const __m128i r = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + x));
      const __m128i g = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + q_stride + x));
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 2 * q_stride + x));
      const __m128i rg_lo = _mm_unpacklo_epi8(r, g), rg_hi = _mm_unpackhi_epi8(r, g);
      const __m128i b0_lo = _mm_unpacklo_epi8(b, zero), b0_hi = _mm_unpackhi_epi8(b, zero);
      const __m128i words[4] = {_mm_unpacklo_epi16(rg_lo, b0_lo), _mm_unpackhi_epi16(rg_lo, b0_lo),
                                _mm_unpacklo_epi16(rg_hi, b0_hi), _mm_unpackhi_epi16(rg_hi, b0_hi)};
      uint8_t* out = d + x * 3;
      for (int v = 0; v < 4; ++v) {
        alignas(16) uint32_t w[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(w), words[v]);
        for (int k = 0; k < 4; ++k) std::memcpy(out + (4 * v + k) * 3, &w[k], 4);
      }
    }
  }
#endif
  for (; x < n; ++x) {
    uint8_t* pixel = d + x * channels;
    for (int c = 0; c < channels; ++c) pixel[c] = q[static_cast<size_t>(c) * q_stride + x];
  }
}

// Where the gather kernels read a conv's input: group-major NHWC u8 or bf16 with the padding written out (the
// zero point or bf16 0, which add exactly 0), [groups][batch][hp][wp][c/g], then SLACK bytes: the last k step
// of a kernel row reads up to 3 bytes past its window (seg > kernel_w * c/g), against weights of 0.
constexpr size_t SLACK = 64;

struct padded_input {
  int hp, wp;
  size_t pixel, row, image, bytes;  // bytes per pixel, row, (group, image) plane, and in all with SLACK
  double approx_bytes;              // bytes, computed without wrapping (gather_fits checks it first)
  bool unpadded;                    // no padding: the plain group-major NHWC layout, plus SLACK
};

padded_input padded_of(const conv2d_params& p, const conv_geometry& g) {
  padded_input d;
  d.hp = p.in_height + p.pad_top + p.pad_bottom;
  d.wp = p.in_width + p.pad_left + p.pad_right;
  d.pixel = static_cast<size_t>(g.in_per_group) * g.elem;
  d.row = static_cast<size_t>(d.wp) * d.pixel;
  d.image = static_cast<size_t>(d.hp) * d.row;
  d.bytes = static_cast<size_t>(g.groups) * p.batch * d.image + SLACK;
  // the same in double, which cannot wrap: the padding alone may be up to 2^24 per side
  d.approx_bytes = static_cast<double>(g.groups) * p.batch * d.hp * d.wp * static_cast<double>(d.pixel) + SLACK;
  d.unpadded = p.pad_top == 0 && p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0;
  return d;
}

// whether every window lies within the padded input, the k steps' offsets fit in int32, and the padded copy
// stays within a few times the input (a stride as large as a huge padding keeps the output small and valid:
// im2col then touches only the windows' bytes, where the padded copy would grow with the padding); else im2col
constexpr size_t PADDED_MAX_RATIO = 4, PADDED_MAX_EXTRA = 64 * 1024;
bool gather_fits(const conv2d_params& p, const conv_geometry& g, const padded_input& d, size_t in_bytes) {
  return d.approx_bytes <= static_cast<double>(PADDED_MAX_RATIO * in_bytes + PADDED_MAX_EXTRA) && p.pad_top >= 0 &&
         p.pad_left >= 0 && p.pad_bottom >= 0 && p.pad_right >= 0 && p.out_height > 0 && p.out_width > 0 &&
         static_cast<int64_t>(p.out_height - 1) * p.stride_h + p.kernel_h <= d.hp &&
         static_cast<int64_t>(p.out_width - 1) * p.stride_w + p.kernel_w <= d.wp &&
         static_cast<size_t>(p.kernel_h) * d.row + static_cast<size_t>(g.seg) * g.elem < (size_t{1} << 31);
}

// the unpadded group-major NHWC `src` (u8 or bf16) written into the padded layout `dst`, the padding's bytes `fill`
// (with src null, only the padding)
void pad_input(const conv2d_params& p, const padded_input& d, const uint8_t* src, uint8_t fill, uint8_t* dst,
               int planes, thread_pool& pool) {
  const size_t in_row = static_cast<size_t>(p.in_width) * d.pixel;
  const size_t left = static_cast<size_t>(p.pad_left) * d.pixel;
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(static_cast<int64_t>(planes) * d.hp, ith, nth, &begin, &end);
    for (int64_t r = begin; r < end; ++r) {
      const int64_t plane = r / d.hp;
      const int y = static_cast<int>(r % d.hp) - p.pad_top;
      uint8_t* row = dst + static_cast<size_t>(plane) * d.image + static_cast<size_t>(r % d.hp) * d.row;
      if (y < 0 || y >= p.in_height) {
        std::memset(row, fill, d.row);
        continue;
      }
      std::memset(row, fill, left);
      if (src) std::memcpy(row + left, src + (static_cast<size_t>(plane) * p.in_height + y) * in_row, in_row);
      std::memset(row + left + in_row, fill, d.row - left - in_row);
    }
  });
}

// the input as u8 or bf16, [groups][batch][h][w][c/g]: into the padded layout `pad` (its padding left as it is), or
// with pad null into the plain one
void convert_input(const conv2d_params& p, const conv_geometry& g, lowp_type type, const float* in, int8_act_quant act,
                   uint8_t* dst, const padded_input* pad, thread_pool& pool) {
  const float inverse = 1.0f / act.scale, zero = static_cast<float>(act.zero_point);
  const int height = p.in_height, width = p.in_width, channels = g.in_per_group;
  const int rows = g.groups * p.batch * height;  // (group, image, y): one NHWC row each
  const size_t plane = static_cast<size_t>(height) * width;
  const size_t row_elems = static_cast<size_t>(width) * channels;
  // int8: runs of rows of one (group, image) at a time, each channel's run quantized (contiguous), then
  // the [channels][pixels] bytes transposed to [pixels][channels]; a run's bytes stay within 32 kB
  const int64_t run_rows = std::max<int64_t>(1, static_cast<int64_t>(32 * 1024 / std::max<size_t>(1, row_elems)));
  const quantize_row_fn quantize = quantize_u8_row_current();
  // where row (group, image, y) goes, and whether a plane's rows follow one another (no left or right padding)
  const size_t row_bytes = pad ? pad->row : row_elems * g.elem;
  const size_t plane_bytes = pad ? pad->image : static_cast<size_t>(height) * row_bytes;
  const size_t first = pad ? static_cast<size_t>(p.pad_top) * pad->row + static_cast<size_t>(p.pad_left) * pad->pixel : 0;
  const bool contiguous = row_bytes == row_elems * g.elem;
  const auto row_dst = [&](int64_t row) {
    return dst + static_cast<size_t>(row / height) * plane_bytes + static_cast<size_t>(row % height) * row_bytes + first;
  };
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(rows, ith, nth, &begin, &end);
    thread_local aligned_buffer scratch;
    for (int64_t row = begin; row < end;) {
      const int y = static_cast<int>(row % height);
      const int image = static_cast<int>(row / height % p.batch);
      const int group = static_cast<int>(row / height / p.batch);
      const float* src = in + (static_cast<size_t>(image) * p.in_channels + static_cast<size_t>(group) * channels) * plane +
                         static_cast<size_t>(y) * width;
      if (type == lowp_type::int8) {
        const int64_t run = std::min({end - row, static_cast<int64_t>(height - y), run_rows});
        const size_t n = static_cast<size_t>(run) * width;
        uint8_t* q = reinterpret_cast<uint8_t*>(scratch.reserve(static_cast<size_t>(channels) * n / 4 + 16));
        for (int c = 0; c < channels; ++c) quantize(src + c * plane, q + static_cast<size_t>(c) * n, n, inverse, zero);
        if (contiguous) {
          transpose_u8(q, n, channels, n, row_dst(row));
        } else {
          for (int64_t r = 0; r < run; ++r) transpose_u8(q + r * width, n, channels, static_cast<size_t>(width), row_dst(row + r));
        }
        row += run;
      } else {
        uint16_t* d = reinterpret_cast<uint16_t*>(row_dst(row));
        for (int c = 0; c < channels; ++c)
          for (int x = 0; x < width; ++x) d[static_cast<size_t>(x) * channels + c] = lowp_float_to_bf16(src[c * plane + x]);
        ++row;
      }
    }
  });
}


}  // namespace

size_t conv_lowp_packed_bytes(lowp_type type, const conv2d_params& p) {
  return geometry_of(type, p).group_bytes * p.groups;
}

void conv_lowp_pack_cpu(lowp_type type, const conv2d_params& p, const float* weight, void* packed, thread_pool& pool) {
  const conv_geometry g = geometry_of(type, p);
  aligned_buffer patch(static_cast<size_t>(g.out_per_group) * g.k);
  for (int group = 0; group < g.groups; ++group) {
    to_patch_order(p, g, weight, group, patch.data());
    void* block = static_cast<uint8_t*>(packed) + group * g.group_bytes;
    if (type == lowp_type::bf16)
      bf16_pack_cpu(g.out_per_group, g.k, patch.data(), static_cast<uint16_t*>(block), pool);
    else
      int8_pack_cpu(g.out_per_group, g.k, patch.data(), block, pool);
  }
}

void conv_int8_pack_quantized_cpu(const conv2d_params& p, const int8_t* q, const float* scales, void* packed,
                                  thread_pool& pool) {
  const conv_geometry g = geometry_of(lowp_type::int8, p);
  aligned_buffer patch_buffer((static_cast<size_t>(g.out_per_group) * g.k + 3) / 4);
  int8_t* patch = reinterpret_cast<int8_t*>(patch_buffer.data());
  for (int group = 0; group < g.groups; ++group) {
    to_patch_order(p, g, q, group, patch);
    int8_pack_quantized_cpu(g.out_per_group, g.k, patch, scales + group * g.out_per_group,
                            static_cast<uint8_t*>(packed) + group * g.group_bytes, pool);
  }
}

void conv_lowp_unpack_cpu(lowp_type type, const conv2d_params& p, const void* packed, float* weight) {
  const conv_geometry g = geometry_of(type, p);
  aligned_buffer patch(static_cast<size_t>(g.out_per_group) * g.k);
  for (int group = 0; group < g.groups; ++group) {
    const uint8_t* block = static_cast<const uint8_t*>(packed) + group * g.group_bytes;
    lowp_unpack_cpu(type, g.out_per_group, g.k, block, patch.data());
    if (type == lowp_type::int8) {
      const float* scales =
          reinterpret_cast<const float*>(block + lowp_packed_layout(type, g.out_per_group, g.k).scales_offset);
      for (int o = 0; o < g.out_per_group; ++o)
        for (int kk = 0; kk < g.k; ++kk) patch.data()[static_cast<size_t>(o) * g.k + kk] *= scales[o];
    }
    from_patch_order(p, g, patch.data(), group, weight);
  }
}

void conv_int8_scales(const conv2d_params& p, const void* packed, float* scales) {
  const conv_geometry g = geometry_of(lowp_type::int8, p);
  const size_t offset = lowp_packed_layout(lowp_type::int8, g.out_per_group, g.k).scales_offset;
  for (int group = 0; group < g.groups; ++group)
    std::memcpy(scales + group * g.out_per_group, static_cast<const uint8_t*>(packed) + group * g.group_bytes + offset,
                sizeof(float) * g.out_per_group);
}

namespace {

// where a conv reads and writes beyond conv2d_lowp_forward_cpu's fp32: the int8 chain's u8 NHWC
struct conv_io {
  const uint8_t* in_u8 = nullptr;   // input already quantized with act (groups 1)
  uint8_t* out_u8 = nullptr;        // output requantized with out_act
  int8_act_quant out_act{0, 0};
};

int conv_forward(const conv2d_params& p, const float* in, lowp_type type, const void* packed, int8_act_quant act,
                 const float* bias, float* out, int8_act_quant* act_used, const conv_io& io, thread_pool& pool) {
  if (p.groups <= 0 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0 || type == lowp_type::fp32)
    return KERNEL_BAD_SHAPE;
  if ((io.in_u8 || io.out_u8) && type != lowp_type::int8) return KERNEL_BAD_SHAPE;
  if (io.in_u8 && (p.groups != 1 || !(act.scale > 0.0f))) return KERNEL_BAD_SHAPE;
  if (io.out_u8 && !(io.out_act.scale > 0.0f)) return KERNEL_BAD_SHAPE;
  const conv_geometry g = geometry_of(type, p);
  const size_t in_count = static_cast<size_t>(p.batch) * p.in_channels * p.in_height * p.in_width;
  if (type == lowp_type::int8 && !(act.scale > 0.0f)) act = int8_dynamic_quant(in, in_count, pool);
  if (act_used) *act_used = act;

  const uint8_t fill = type == lowp_type::int8 ? static_cast<uint8_t>(act.zero_point) : 0;
  // each patch is read in place from the padded input (the gather kernels), except where a window would leave
  // the padded input or the padded copy outgrow the input (gather_fits): patches gathered into blocks (im2col)
  const padded_input pad = padded_of(p, g);
  const size_t in_bytes = in_count * g.elem;
  const bool gather = gather_fits(p, g, pad, in_bytes);
  // the converted input, per calling thread (kept between calls); the chain's u8 input is already in that layout
  thread_local aligned_buffer converted, padded;
  const uint8_t* src = io.in_u8;
  const auto reserve = [](aligned_buffer& b, size_t bytes) { return reinterpret_cast<uint8_t*>(b.reserve((bytes + 3) / 4 + 16)); };
  const int planes = g.groups * p.batch;
  if (gather && !(src && pad.unpadded && g.seg == p.kernel_w * g.in_per_group)) {
    // the padded layout with SLACK after it: the input converted into it, or the chain's u8 copied (padded, or
    // unpadded with rows that end where a kernel row's last k step would read past them)
    uint8_t* dst = reserve(padded, pad.bytes);
    if (src && pad.unpadded) {
      std::memcpy(dst, src, in_bytes);
    } else if (src) {
      pad_input(p, pad, src, fill, dst, planes, pool);
    } else {
      convert_input(p, g, type, in, act, dst, &pad, pool);
      if (!pad.unpadded) pad_input(p, pad, nullptr, fill, dst, planes, pool);
    }
    std::memset(dst + pad.bytes - SLACK, fill, SLACK);
    src = dst;
  } else if (!src) {
    uint8_t* dst = reserve(converted, in_bytes);
    convert_input(p, g, type, in, act, dst, nullptr, pool);
    src = dst;
  }
  // the gather kernels' k step offsets: step s is byte 4s of the patch, in kernel row 4s / (seg bytes)
  const size_t seg_bytes = static_cast<size_t>(g.seg) * g.elem;
  std::vector<int32_t> step_offsets(gather ? static_cast<size_t>(g.steps) : 0);
  for (size_t s = 0; s < step_offsets.size(); ++s)
    step_offsets[s] = static_cast<int32_t>((4 * s) / seg_bytes * pad.row + (4 * s) % seg_bytes);
  const int32_t* offsets = step_offsets.data();

  // tasks: (group, block of output pixels, chunk of output panels). Blocks within CONV_BLOCK_BYTES of A; where
  // that leaves few tasks (batch 1: conv3 is 3 blocks of 68 pixels, which 2 threads split 2:1), blocks halved
  // down to CONV_MIN_BLOCK_ROWS, then the panels cut into chunks of whole 4-panel groups (lowp-body.inc), so
  // that handing the tasks out one at a time evens the threads out
  const int64_t pixels = static_cast<int64_t>(p.batch) * p.out_height * p.out_width;
  const int panels = (g.out_per_group + LOWP_PANEL - 1) / LOWP_PANEL;
  const int panel_groups = (panels + LOWP_PANEL_GROUP - 1) / LOWP_PANEL_GROUP;
  const int threads = pool.size();
  const int64_t wanted = threads > 1 ? int64_t{CONV_TASKS_PER_THREAD} * threads : 1;
  int64_t block = std::max<int64_t>(4, static_cast<int64_t>(CONV_BLOCK_BYTES / g.lda) / 4 * 4);
  const auto blocks_of = [&](int64_t b) { return g.groups * ((pixels + b - 1) / b); };
  while (block / 2 / 4 * 4 >= CONV_MIN_BLOCK_ROWS && blocks_of(block) < wanted) block = block / 2 / 4 * 4;
  int chunk_groups = panel_groups;  // 4-panel groups per chunk (im2col: one, or each chunk would copy its block again)
  if (gather && blocks_of(block) < wanted) {
    // rounded down: blocks short of `wanted` by less than half (bf16 conv1 at batch 1: 57) are even enough, and
    // a block's chunks on two threads would each read its patches
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(panel_groups, wanted / blocks_of(block)));
    chunk_groups = static_cast<int>((panel_groups + chunks - 1) / chunks);
  }
  const int chunks = (panel_groups + chunk_groups - 1) / chunk_groups;
  // tiny convs: at least 2 tasks per thread, blocks down to one tile of rows
  while (block > 4 && blocks_of(block) * chunks < 2 * threads) block = std::max<int64_t>(4, block / 2 / 4 * 4);
  const int64_t blocks = (pixels + block - 1) / block;
  const lowp_isa_kernel kernel = lowp_kernel_current();
  const bool int8 = type == lowp_type::int8;
  const lowp_panels_fn fn = gather ? (int8 ? kernel.int8_gather : kernel.bf16_gather) : int8 ? kernel.int8 : kernel.bf16;
  const lowp_layout layout = lowp_packed_layout(type, g.out_per_group, g.k);
  const size_t group_src_bytes = gather ? static_cast<size_t>(p.batch) * pad.image : in_bytes / g.groups;
  const auto epilogue = int8_conv_epilogue(io.out_u8 != nullptr);

  // tasks (group, block of pixels, chunk of panels) handed out one at a time: a thread the OS takes away holds back one
  pool.run_tasks(blocks_of(block) * chunks, [&](int64_t task) {
    const int chunk = static_cast<int>(task % chunks);
    const int group = static_cast<int>(task / chunks / blocks);
    const int row0 = static_cast<int>(task / chunks % blocks * block);
    const int rows = static_cast<int>(std::min<int64_t>(block, pixels - row0));
    const uint8_t* group_src = src + group * group_src_bytes;
    lowp_run r;
    if (gather) {
      // each row's window: its top-left pixel in the padded input
      thread_local std::vector<const uint8_t*> row_starts;
      row_starts.resize(static_cast<size_t>(rows));
      const int plane = p.out_height * p.out_width;
      for (int i = 0; i < rows; ++i) {
        const int m = row0 + i, image = m / plane, pixel = m % plane;
        const int oy = pixel / p.out_width, ox = pixel % p.out_width;
        row_starts[i] = group_src + static_cast<size_t>(image) * pad.image + static_cast<size_t>(oy) * p.stride_h * pad.row +
                        static_cast<size_t>(ox) * p.stride_w * pad.pixel;
      }
      r.a_rows = row_starts.data();
      r.a_steps = offsets;
    } else {
      thread_local aligned_buffer a_buffer;
      uint8_t* a = reinterpret_cast<uint8_t*>(a_buffer.reserve(static_cast<size_t>(block) * g.lda / 4 + 16));
      im2col_block(p, g, group_src, row0, rows, fill, a);
      r.a = a;
    }
    const uint8_t* weights = static_cast<const uint8_t*>(packed) + group * g.group_bytes;
    r.rows = rows;
    r.out_features = g.out_per_group;
    r.steps = g.steps;
    r.packed = weights;
    r.out = out;
    r.bias = bias ? bias + group * g.out_per_group : nullptr;
    r.relu = p.relu;
    r.row_base = row0;
    r.plane = p.out_height * p.out_width;
    r.channel0 = group * g.out_per_group;
    r.out_channels = p.out_channels;
    if (type == lowp_type::int8) {
      r.epilogue = epilogue;
      r.w_scales = reinterpret_cast<const float*>(weights + layout.scales_offset);
      r.w_sums = reinterpret_cast<const int32_t*>(weights + layout.sums_offset);
      r.act = act;
      r.out_u8 = io.out_u8;
      r.out_inverse = io.out_u8 ? 1.0f / io.out_act.scale : 0.0f;
      r.out_zero = static_cast<float>(io.out_act.zero_point);
    } else {
      r.epilogue = conv_bf16_epilogue;
    }
    const int panel0 = chunk * chunk_groups * LOWP_PANEL_GROUP;
    fn(r, panel0, std::min(panels, panel0 + chunk_groups * LOWP_PANEL_GROUP));
  });
  return KERNEL_OK;
}

}  // namespace

int conv2d_lowp_forward_cpu(const conv2d_params& p, const float* in, lowp_type type, const void* packed,
                            int8_act_quant act, const float* bias, float* out, int8_act_quant* act_used,
                            thread_pool& pool) {
  return conv_forward(p, in, type, packed, act, bias, out, act_used, conv_io{}, pool);
}

int conv2d_int8_chain_forward_cpu(const conv2d_params& p, const float* in, const uint8_t* in_u8, const void* packed,
                                  int8_act_quant act, const float* bias, float* out, uint8_t* out_u8,
                                  int8_act_quant out_act, thread_pool& pool) {
  conv_io io;
  io.in_u8 = in_u8;
  io.out_u8 = out_u8;
  io.out_act = out_act;
  return conv_forward(p, in, lowp_type::int8, packed, act, bias, out, nullptr, io, pool);
}

}  // namespace alexnet
