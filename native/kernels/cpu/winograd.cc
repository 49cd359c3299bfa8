// Winograd convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015) for
// stride-1 r x r convolutions: F(4,3) for 3x3 and F(4,5) for 5x5 (winograd-internal.h lists the variants).
// Each m x m output tile is A^T [ (G g G^T) (.) (B^T d B) ] A over the alpha x alpha input tile d
// (alpha = m + r - 1), so the multiply-adds become alpha^2 GEMMs, one per position of the transformed tile:
//   M[xi][oc][tile] = sum_ic U[xi][oc][ic] * V[xi][ic][tile]
// with U = G g G^T transformed once at load (winograd_pack_weights, in double, into the GEMM's A
// panels) and V = B^T d B per call. F(4,3): 36 multiplies per 16 outputs instead of 144 (4x fewer, 2.6x
// on 13x13 maps where the 4x4 tiles cover 16x16); F(4,5): 64 per 16 instead of 400. The batch is cut
// into chunks of about WINOGRAD_TILES tiles so V and M stay near the caches; per chunk: input transform
// (threads split the input planes), alpha^2 x groups GEMMs (threads split the GEMMs, so batch 1 still
// uses every thread), output transform with bias and ReLU (threads split the output planes). The
// transforms' coefficients come from scripts/winograd_gen.py (winograd-coeffs.inc).
#include "kernels/cpu/winograd.h"

#include <cstdlib>
#include <cstring>

#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/gemm-internal.h"
#include "kernels/cpu/lowp-internal.h"
#include "kernels/cpu/thread-pool.h"
#include "kernels/cpu/winograd-internal.h"

namespace alexnet {
namespace {

#define WINOGRAD_WEIGHTS_ONLY
#include "kernels/cpu/winograd-coeffs.inc"
#undef WINOGRAD_WEIGHTS_ONLY

// tiles per chunk: V and M of conv4 (384 -> 384) are then 36 * 768 * 128 * 4 B = 14 MB together
constexpr int64_t WINOGRAD_TILES = 128;

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

int64_t rows_per_group(const conv2d_params& p) { return round_up(p.out_channels / p.groups, GEMM_PANEL_ROWS); }

// the variant for p's kernel, or -1 where Winograd does not apply (not stride 1, not square 3x3 or 5x5)
int variant_of(const conv2d_params& p) {
  if (p.stride_h != 1 || p.stride_w != 1 || p.kernel_h != p.kernel_w) return -1;
  if (p.kernel_h == 3) return WINOGRAD_F4_3;
  if (p.kernel_h == 5) return WINOGRAD_F4_5;
  return -1;
}

// G of each variant (alpha x r, row-major)
const double* g_matrix(int variant) {
  switch (variant) {
    case WINOGRAD_F4_3: return &winograd_g_m4_r3[0][0];
    default: return &winograd_g_m4_r5[0][0];
  }
}

// u = G k G^T of one r x r kernel k, in double
void transform_kernel(int variant, const float* k, double u[8][8]) {
  const int alpha = WINOGRAD_SHAPES[variant].alpha, r = WINOGRAD_SHAPES[variant].kernel;
  const double* g = g_matrix(variant);
  double gk[8][5];
  for (int i = 0; i < alpha; ++i)  // G k
    for (int j = 0; j < r; ++j) {
      double s = 0;
      for (int q = 0; q < r; ++q) s += g[i * r + q] * k[q * r + j];
      gk[i][j] = s;
    }
  for (int i = 0; i < alpha; ++i)  // (G k) G^T
    for (int j = 0; j < alpha; ++j) {
      double s = 0;
      for (int q = 0; q < r; ++q) s += gk[i][q] * g[j * r + q];
      u[i][j] = s;
    }
}

}  // namespace

size_t winograd_weight_length(const conv2d_params& p) {
  const int variant = variant_of(p);
  if (variant < 0) return 0;
  const int alpha = WINOGRAD_SHAPES[variant].alpha;
  return static_cast<size_t>(p.groups) * alpha * alpha * rows_per_group(p) * (p.in_channels / p.groups);
}

void winograd_pack_weights(const conv2d_params& p, const float* weight, float* transformed, thread_pool& pool) {
  const int variant = variant_of(p);
  if (variant < 0) return;  // conv_pack_cpu only calls for a winograd_weight_length() > 0
  const int alpha = WINOGRAD_SHAPES[variant].alpha, positions = alpha * alpha;
  const int in_per_group = p.in_channels / p.groups, out_per_group = p.out_channels / p.groups;
  const int64_t rows = rows_per_group(p), matrix = rows * in_per_group;
  std::memset(transformed, 0, sizeof(float) * winograd_weight_length(p));
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(p.out_channels, ith, nth, &begin, &end);
    double u[8][8];
    for (int64_t oc = begin; oc < end; ++oc) {
      const int64_t grp = oc / out_per_group, row = oc % out_per_group;
      // U(row, ic) of position xi sits in panel row / PR at k = ic
      float* base = transformed + grp * positions * matrix +
                    (row / GEMM_PANEL_ROWS) * GEMM_PANEL_ROWS * in_per_group + row % GEMM_PANEL_ROWS;
      for (int ic = 0; ic < in_per_group; ++ic) {
        transform_kernel(variant, weight + (oc * in_per_group + ic) * WINOGRAD_SHAPES[variant].kernel * WINOGRAD_SHAPES[variant].kernel, u);
        for (int xi = 0; xi < positions; ++xi)
          base[xi * matrix + static_cast<int64_t>(ic) * GEMM_PANEL_ROWS] = static_cast<float>(u[xi / alpha][xi % alpha]);
      }
    }
  });
}

winograd_mode winograd_mode_from_env() {
  const char* value = std::getenv("ALEXNET_CLI_WINOGRAD");
  if (value && std::strcmp(value, "0") == 0) return winograd_mode::off;
  if (value && std::strcmp(value, "1") == 0) return winograd_mode::on;
  return winograd_mode::when_faster;
}

bool winograd_wanted(bool pays) {
  const winograd_mode mode = winograd_mode_from_env();
  return mode == winograd_mode::on || (mode == winograd_mode::when_faster && pays);
}

bool winograd_pays(const conv2d_params& p) {
  // the transforms cost about as much per channel as a 16-channel GEMM: below that the GEMM path wins
  return p.in_channels / p.groups >= 16 && p.out_channels / p.groups >= 16;
}

// the transforms of the kernel set in use: the GEMM's nr tells which (32 AVX-512, 16 AVX2, 8 portable)
winograd_transforms transforms_for(const gemm_isa_kernel& kern) {
#ifdef ALEXNET_HAVE_AVX512
  if (kern.nr == 32) return winograd_transforms_avx512();
#endif
#ifdef ALEXNET_HAVE_AVX2
  if (kern.nr == 16) return winograd_transforms_avx2();
#endif
  (void)kern;
  return winograd_transforms_portable();
}

// GEMM columns computed over the whole batch with panels of nr columns (each chunk padded to nr)
int64_t padded_columns(int64_t batch, int64_t chunk, int64_t tiles_per_image, int nr) {
  const int64_t full = batch / chunk, rest = batch % chunk;
  return full * round_up(chunk * tiles_per_image, nr) + (rest ? round_up(rest * tiles_per_image, nr) : 0);
}

// AVX-512's 32-column panels against AVX2's 16 when most of a panel would be padding: a 13x13 layer at
// batch 1 has 16 tiles, which the wide kernel computes as 32. The narrow kernel is taken when the wide one
// would do 1.5x its columns or more (measured per column, the AVX-512 kernel is ~1.45x the AVX2 one here).
// The A panels are the same for every kernel set, so the packed weights serve both.
gemm_isa_kernel kernel_for_columns(const gemm_isa_kernel& current, int64_t batch, int64_t chunk,
                                   int64_t tiles_per_image) {
#if defined(ALEXNET_HAVE_AVX512) && defined(ALEXNET_HAVE_AVX2)
  if (current.nr == 32) {
    const int64_t wide = padded_columns(batch, chunk, tiles_per_image, 32);
    const int64_t narrow = padded_columns(batch, chunk, tiles_per_image, 16);
    if (2 * wide >= 3 * narrow) return gemm_kernel_avx2();  // an AVX-512 CPU runs AVX2 too
  }
#endif
  (void)batch, (void)chunk, (void)tiles_per_image;
  return current;
}

namespace {

// A forward pass's tiling: the variant, its tiles over the output plane, and the images per chunk (about
// WINOGRAD_TILES tiles, so V and M stay near the caches)
struct winograd_tiling {
  int variant, positions, tiles_h, tiles_w;
  int64_t tiles_per_image, chunk;
};

winograd_tiling tiling_of(const conv2d_params& p, int variant) {
  winograd_tiling t;
  const int tile = WINOGRAD_SHAPES[variant].tile, alpha = WINOGRAD_SHAPES[variant].alpha;
  t.variant = variant;
  t.positions = alpha * alpha;
  t.tiles_h = (p.out_height + tile - 1) / tile;
  t.tiles_w = (p.out_width + tile - 1) / tile;
  t.tiles_per_image = static_cast<int64_t>(t.tiles_h) * t.tiles_w;
  t.chunk = WINOGRAD_TILES / t.tiles_per_image;
  if (t.chunk < 1) t.chunk = 1;
  if (t.chunk > p.batch) t.chunk = p.batch;
  return t;
}

// the input transform of input channel c for the chunk of images from n0 (`columns` tiles, V written up to `padded`);
// the caller says where V goes (dst, xi_stride, panel_stride, nr)
winograd_input_job input_job(const conv2d_params& p, const winograd_tiling& t, const float* in, int64_t n0, int64_t c,
                             int64_t columns, int64_t padded) {
  const int64_t plane = static_cast<int64_t>(p.in_height) * p.in_width;
  winograd_input_job job;
  job.in = in + (n0 * p.in_channels + c) * plane;
  job.image_stride = p.in_channels * plane;
  job.height = p.in_height;
  job.width = p.in_width;
  job.pad_top = p.pad_top;
  job.pad_left = p.pad_left;
  job.tiles_h = t.tiles_h;
  job.tiles_w = t.tiles_w;
  job.columns = columns;
  job.padded_columns = padded;
  return job;
}

// the output transform of output channel oc for the chunk of images from n0: M of position xi at m + xi * xi_stride
winograd_output_job output_job(const conv2d_params& p, const winograd_tiling& t, const float* m, int64_t xi_stride,
                               int64_t columns, const float* bias, float* out, int64_t n0, int64_t oc) {
  const int64_t out_plane = static_cast<int64_t>(p.out_height) * p.out_width;
  winograd_output_job job;
  job.m = m;
  job.xi_stride = xi_stride;
  job.columns = columns;
  job.out = out + (n0 * p.out_channels + oc) * out_plane;
  job.image_stride = p.out_channels * out_plane;
  job.out_height = p.out_height;
  job.out_width = p.out_width;
  job.tiles_h = t.tiles_h;
  job.tiles_w = t.tiles_w;
  job.bias = bias ? bias[oc] : 0.0f;
  job.relu = p.relu;
  return job;
}

}  // namespace

int winograd_forward(const conv2d_params& p, const float* in, const float* transformed, const float* bias, float* out,
                     thread_pool& pool) {
  const int variant = variant_of(p);
  if (variant < 0) return KERNEL_BAD_SHAPE;
  const winograd_tiling tiling = tiling_of(p, variant);
  const int positions = tiling.positions;
  const int in_per_group = p.in_channels / p.groups, out_per_group = p.out_channels / p.groups;
  const int64_t tiles_per_image = tiling.tiles_per_image, chunk = tiling.chunk;
  const gemm_isa_kernel kern = kernel_for_columns(gemm_kernel_current(), p.batch, chunk, tiles_per_image);
  const winograd_transforms xf = transforms_for(kern);
  const int64_t tiles = chunk * tiles_per_image;  // columns of every GEMM (the last chunk may use fewer)
  // V: packed B panels of nr columns, k-major per group: V[xi][g] is a (in_per_group x v_cols) matrix
  const int64_t v_cols = round_up(tiles, kern.nr), v_group = static_cast<int64_t>(in_per_group) * v_cols;
  const int64_t v_xi = p.in_channels * v_cols;
  // M[oc][xi][t]: an output channel's positions together (the output transform reads them as one block),
  // rows 64-byte aligned, a whole vector readable past the last column
  const int64_t m_ld = round_up(tiles, 16), m_oc = positions * m_ld;
  const int64_t matrix = rows_per_group(p) * in_per_group;
  thread_local aligned_buffer v_buffer, m_buffer;
  float* const v = v_buffer.reserve(static_cast<size_t>(positions * v_xi));
  float* const m = m_buffer.reserve(static_cast<size_t>(p.out_channels * m_oc + 16));

  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t count = n0 + chunk <= p.batch ? chunk : p.batch - n0;
    const int64_t columns = count * tiles_per_image;
    const int64_t padded = round_up(columns, kern.nr);
    // V[xi][c][t] = (B^T d B)[xi] of input plane c at tile t, written in the GEMM's packed-B layout
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(p.in_channels, ith, nth, &begin, &end);
      for (int64_t c = begin; c < end; ++c) {
        const int64_t g = c / in_per_group, ic = c % in_per_group;
        winograd_input_job job = input_job(p, tiling, in, n0, c, columns, padded);
        job.dst = v + g * v_group + ic * kern.nr;
        job.xi_stride = v_xi;
        job.panel_stride = static_cast<int64_t>(in_per_group) * kern.nr;
        job.nr = kern.nr;
        xf.input[variant](job);
      }
    });
    // M[xi][oc][t] = U[xi] x V[xi], per group
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(static_cast<int64_t>(positions) * p.groups, ith, nth, &begin, &end);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t g = item / positions, xi = item % positions;
        gemm_packed_params gp;
        gp.m = out_per_group;
        gp.k = in_per_group;
        gp.a = transformed + (g * positions + xi) * matrix;
        gp.b_packed = v + xi * v_xi + g * v_group;
        gp.c = m + g * out_per_group * m_oc + xi * m_ld;
        gp.ldc = m_oc;
        gp.c_segment = m_ld;
        gp.c_segment_stride = 0;
        kern.packed_block(gp, 0, columns, nullptr);
      }
    });
    // out = A^T M A + bias (ReLU), clipped to the output
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(p.out_channels, ith, nth, &begin, &end);
      for (int64_t oc = begin; oc < end; ++oc)
        xf.output[variant](output_job(p, tiling, m + oc * m_oc, m_ld, columns, bias, out, n0, oc));
    });
  }
  return KERNEL_OK;
}

// ---------------------------------------------------------------------------------------------
// bf16: the same transforms in fp32, the alpha^2 GEMMs on bf16 operands (U and V each rounded to nearest
// even, products summed in fp32: vdpbf16ps, or widened in registers) with the reduced-precision panels
// kernels (lowp-body.inc). Each (group, position) GEMM has the chunk's tiles as rows (V transposed to rows
// of bf16 channel pairs when its task starts) and U packed as LOWP_PANEL panels; its sums go straight to M.

namespace {

size_t bf16_item_bytes(const conv2d_params& p) {
  return lowp_packed_layout(lowp_type::bf16, p.out_channels / p.groups, p.in_channels / p.groups).panel_bytes;
}

// sums of tile rows [row0, row0 + rows) x channels [col0, col0 + cols) to M: r.out is the position's M of the
// group's first channel, r.plane floats from one channel's M to the next. A whole 4-row tile goes 4 channels at
// a time through a 4x4 transpose (SSE2, the x86-64 baseline): its 4 tiles of a channel are adjacent in M.
void m_epilogue(const lowp_run& r, int row0, int rows, int col0, int cols, const void* sums_v, int ld) {
  const float* sums = static_cast<const float*>(sums_v);
  int j = 0;
#ifdef __SSE2__
  if (rows == 4) {
    for (; j + 4 <= cols; j += 4) {
      __m128 c0 = _mm_loadu_ps(sums + j), c1 = _mm_loadu_ps(sums + ld + j);
      __m128 c2 = _mm_loadu_ps(sums + 2 * ld + j), c3 = _mm_loadu_ps(sums + 3 * ld + j);
      _MM_TRANSPOSE4_PS(c0, c1, c2, c3);  // c_q: channel j + q's 4 rows
      float* dst = r.out + static_cast<int64_t>(col0 + j) * r.plane + row0;
      _mm_storeu_ps(dst, c0);
      _mm_storeu_ps(dst + r.plane, c1);
      _mm_storeu_ps(dst + 2 * static_cast<int64_t>(r.plane), c2);
      _mm_storeu_ps(dst + 3 * static_cast<int64_t>(r.plane), c3);
    }
  }
#endif
  for (; j < cols; ++j) {
    float* dst = r.out + static_cast<int64_t>(col0 + j) * r.plane + row0;
    for (int i = 0; i < rows; ++i) dst[i] = sums[static_cast<size_t>(i) * ld + j];
  }
}

#ifdef __SSE2__
// lowp_float_to_bf16 of 4 floats, each in the low 16 bits of its lane (the same bits: round to nearest even,
// NaN made quiet)
inline __m128i bf16_bits4(const float* p) {
  const __m128i b = _mm_castps_si128(_mm_loadu_ps(p));
  const __m128i lsb = _mm_and_si128(_mm_srli_epi32(b, 16), _mm_set1_epi32(1));
  const __m128i rounded = _mm_srli_epi32(_mm_add_epi32(_mm_add_epi32(b, _mm_set1_epi32(0x7FFF)), lsb), 16);
  const __m128i nan = _mm_cmpgt_epi32(_mm_and_si128(b, _mm_set1_epi32(0x7FFFFFFF)), _mm_set1_epi32(0x7F800000));
  const __m128i quiet = _mm_or_si128(_mm_srli_epi32(b, 16), _mm_set1_epi32(0x40));
  return _mm_or_si128(_mm_and_si128(nan, quiet), _mm_andnot_si128(nan, rounded));
}
#endif

// rows [0, columns) of bf16 words for the panels kernel from V's channel rows (v_cols floats apart): tile t's
// k step s is channels 2s (low half) and 2s + 1 (high half; 0 past the group's channels). Blocks of 4 steps x 4
// tiles are converted 4 tiles at a time and transposed, so each tile's row is written 16 bytes at a time.
void v_to_rows(const float* vg, int64_t v_cols, int channels, int steps, int64_t columns, uint32_t* a) {
  const auto word = [&](int step, int64_t t) {
    const float* even = vg + static_cast<int64_t>(2 * step) * v_cols;
    const uint32_t low = lowp_float_to_bf16(even[t]);
    return 2 * step + 1 < channels ? low | static_cast<uint32_t>(lowp_float_to_bf16(even[v_cols + t])) << 16 : low;
  };
  int s = 0;
#ifdef __SSE2__
  const int64_t whole_t = columns / 4 * 4;
  for (; 2 * s + 8 <= channels; s += 4) {  // 4 whole steps: 8 channels
    for (int64_t t = 0; t < whole_t; t += 4) {
      __m128 w[4];
      for (int q = 0; q < 4; ++q) {
        const float* even = vg + static_cast<int64_t>(2 * (s + q)) * v_cols + t;
        w[q] = _mm_castsi128_ps(_mm_or_si128(bf16_bits4(even), _mm_slli_epi32(bf16_bits4(even + v_cols), 16)));
      }
      _MM_TRANSPOSE4_PS(w[0], w[1], w[2], w[3]);  // w[q]: tile t + q's 4 steps
      for (int q = 0; q < 4; ++q) _mm_storeu_ps(reinterpret_cast<float*>(a + (t + q) * steps + s), w[q]);
    }
    for (int64_t t = whole_t; t < columns; ++t)
      for (int q = 0; q < 4; ++q) a[t * steps + s + q] = word(s + q, t);
  }
#endif
  for (; s < steps; ++s)
    for (int64_t t = 0; t < columns; ++t) a[t * steps + s] = word(s, t);
}

}  // namespace

size_t winograd_bf16_bytes(const conv2d_params& p) {
  const int variant = variant_of(p);
  if (variant < 0) return 0;
  const int alpha = WINOGRAD_SHAPES[variant].alpha;
  return static_cast<size_t>(p.groups) * alpha * alpha * bf16_item_bytes(p);
}

void winograd_bf16_pack(const conv2d_params& p, const float* weight, void* packed, thread_pool& pool) {
  const int variant = variant_of(p);
  if (variant < 0) return;
  const int alpha = WINOGRAD_SHAPES[variant].alpha, r = WINOGRAD_SHAPES[variant].kernel, positions = alpha * alpha;
  const int in_per_group = p.in_channels / p.groups, out_per_group = p.out_channels / p.groups;
  const int64_t matrix = static_cast<int64_t>(out_per_group) * in_per_group;
  const size_t item = bf16_item_bytes(p);
  aligned_buffer u(static_cast<size_t>(positions * matrix));  // one group's U[xi][oc][ic] in fp32
  for (int grp = 0; grp < p.groups; ++grp) {
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(out_per_group, ith, nth, &begin, &end);
      double t[8][8];
      for (int64_t oc = begin; oc < end; ++oc)
        for (int ic = 0; ic < in_per_group; ++ic) {
          transform_kernel(variant, weight + ((grp * out_per_group + oc) * in_per_group + ic) * r * r, t);
          for (int xi = 0; xi < positions; ++xi)
            u.data()[xi * matrix + oc * in_per_group + ic] = static_cast<float>(t[xi / alpha][xi % alpha]);
        }
    });
    for (int xi = 0; xi < positions; ++xi)
      bf16_pack_cpu(out_per_group, in_per_group, u.data() + xi * matrix,
                    reinterpret_cast<uint16_t*>(static_cast<uint8_t*>(packed) + (static_cast<size_t>(grp) * positions + xi) * item),
                    pool);
  }
}

int winograd_bf16_forward(const conv2d_params& p, const float* in, const void* packed, const float* bias, float* out,
                          thread_pool& pool) {
  const int variant = variant_of(p);
  if (variant < 0) return KERNEL_BAD_SHAPE;
  const winograd_tiling tiling = tiling_of(p, variant);
  const int positions = tiling.positions;
  const int in_per_group = p.in_channels / p.groups, out_per_group = p.out_channels / p.groups;
  const int64_t tiles_per_image = tiling.tiles_per_image, chunk = tiling.chunk;
  const winograd_transforms xf = transforms_for(gemm_kernel_current());
  const int64_t tiles = chunk * tiles_per_image;
  // V[xi][c][t]: plain rows of v_cols columns (the input transform's "panels" are whole rows)
  const int64_t v_cols = round_up(tiles, xf.vw), v_xi = p.in_channels * v_cols;
  // M[xi][oc][t]: position-major, so that each GEMM writes one block (a tile row's channels fill whole lines
  // while they are in cache; channel-major M took conv2 at batch 32 to 1/3 of the bf16 peak)
  const int64_t m_ld = round_up(tiles, 16), m_xi = p.out_channels * m_ld;
  const int steps = lowp_k_steps(lowp_type::bf16, in_per_group);
  const size_t item = bf16_item_bytes(p);
  const lowp_panels_fn gemm = lowp_kernel_current().bf16;
  const int panels = (out_per_group + LOWP_PANEL - 1) / LOWP_PANEL;
  thread_local aligned_buffer v_buffer, m_buffer;
  float* const v = v_buffer.reserve(static_cast<size_t>(positions * v_xi));
  float* const m = m_buffer.reserve(static_cast<size_t>(positions * m_xi + 16));

  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t count = n0 + chunk <= p.batch ? chunk : p.batch - n0;
    const int64_t columns = count * tiles_per_image;
    const int64_t padded = round_up(columns, xf.vw);
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(p.in_channels, ith, nth, &begin, &end);
      for (int64_t c = begin; c < end; ++c) {
        winograd_input_job job = input_job(p, tiling, in, n0, c, columns, padded);
        job.dst = v + c * v_cols;
        job.xi_stride = v_xi;
        job.panel_stride = 0;  // one "panel" of all the columns
        job.nr = static_cast<int>(padded);
        xf.input[variant](job);
      }
    });
    // M[xi][oc][t] = U[xi] x V[xi] per group, from bf16 rows of V
    pool.run_tasks(static_cast<int64_t>(p.groups) * positions, [&](int64_t task) {
      const int grp = static_cast<int>(task / positions), xi = static_cast<int>(task % positions);
      thread_local aligned_buffer a_buffer;
      uint32_t* a = reinterpret_cast<uint32_t*>(a_buffer.reserve(static_cast<size_t>(columns) * steps + 16));
      v_to_rows(v + xi * v_xi + static_cast<int64_t>(grp) * in_per_group * v_cols, v_cols, in_per_group, steps, columns, a);
      lowp_run r;
      r.rows = static_cast<int>(columns);
      r.out_features = out_per_group;
      r.steps = steps;
      r.a = a;
      r.packed = static_cast<const uint8_t*>(packed) + (static_cast<size_t>(grp) * positions + xi) * item;
      r.epilogue = m_epilogue;
      r.out = m + xi * m_xi + static_cast<int64_t>(grp) * out_per_group * m_ld;
      r.plane = static_cast<int>(m_ld);
      gemm(r, 0, panels);
    });
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(p.out_channels, ith, nth, &begin, &end);
      for (int64_t oc = begin; oc < end; ++oc)
        xf.output[variant](output_job(p, tiling, m + oc * m_ld, m_xi, columns, bias, out, n0, oc));
    });
  }
  return KERNEL_OK;
}

}  // namespace alexnet
