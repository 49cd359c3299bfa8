// Internal to the reduced-precision linear (lowp.cc): the per-ISA entry points it dispatches to. Each
// ISA's file (lowp-avx512-vnni.cc, lowp-avx512.cc, lowp-avx2-vnni.cc, lowp-avx2.cc, lowp-portable.cc)
// defines the few instructions of one k step (a 64-byte line of a panel) and includes lowp-body.inc,
// which tiles rows x panels around them, compiled with its own -m flags.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "kernels/kernels.h"

namespace alexnet {

// One call of a panels kernel: rows [0, rows) x panels [panel0, panel1) of the packed weights. The
// kernel reduces each tile to sums[rows][cols] (int32 for int8, float for bf16) and hands them to
// `epilogue`, which is compiled once (lowp.cc) so that every ISA writes the same outputs from the
// same sums.
// panels a block of rows passes over at once (lowp-body.inc lowp_panels: 4 x steps x 64 bytes stay in L2); a
// caller that splits the panels between threads (lowp-conv.cc) cuts at whole groups
constexpr int LOWP_PANEL_GROUP = 4;

struct lowp_run {
  int rows = 0, out_features = 0;
  int steps = 0;               // k steps: in_features / 4 (int8) or / 2 (bf16), rounded up
  const void* a = nullptr;     // int8: u8 rows of steps * 4 bytes; bf16: rows of steps bf16 pairs (uint32)
  // or (the gather kernels) row i's k step s is the 4 bytes at a_rows[i] + a_steps[s]: a conv's
  // patches read in place from its padded NHWC input (lowp-conv.cc), no im2col copy
  const uint8_t* const* a_rows = nullptr;
  const int32_t* a_steps = nullptr;
  const void* packed = nullptr;
  // tile [row0, row0 + rows) x [col0, col0 + cols) of sums (row stride LOWP_PANEL * stream count)
  void (*epilogue)(const lowp_run& r, int row0, int rows, int col0, int cols, const void* sums, int ld) = nullptr;
  // what the epilogue reads
  float* out = nullptr;
  int32_t* out_i32 = nullptr;  // int8: raw sums instead of out
  const float* bias = nullptr;
  const float* w_scales = nullptr;
  const int32_t* w_sums = nullptr;
  int8_act_quant act{0, 0};
  bool relu = false;
  // conv2d (lowp-conv.cc): row i of the call is output pixel row_base + i of the [batch, plane] grid, and
  // column j output channel channel0 + j of the NCHW output's out_channels
  int row_base = 0, plane = 0, channel0 = 0, out_channels = 0;
  // the int8 chain: the output as u8 NHWC (row i at out_u8 + (row_base + i) * out_channels), requantized
  // with 1 / scale and the zero point of the next layer's input
  uint8_t* out_u8 = nullptr;
  float out_inverse = 0.0f, out_zero = 0.0f;
};

using lowp_panels_fn = void (*)(const lowp_run& r, int panel0, int panel1);

struct lowp_isa_kernel {
  lowp_panels_fn int8;
  lowp_panels_fn int8_gather;  // with rows read in place (lowp_run a_rows, a_steps): the convs
  lowp_panels_fn bf16;
  lowp_panels_fn bf16_gather;
  const char* int8_name;
  const char* bf16_name;
};

// the kernels of the ISA in use (cpu_isa_current; lowp.cc)
lowp_isa_kernel lowp_kernel_current();

// k steps of a packed row: in_features / 4 (int8) or / 2 (bf16), rounded up
inline int lowp_k_steps(lowp_type type, int in_features) {
  const int per = type == lowp_type::int8 ? 4 : 2;
  return (in_features + per - 1) / per;
}

// k step `step` of an activation row as the 32-bit word the kernels broadcast: 4 u8 (int8) or one pair
// of bf16 (bf16), little-endian
inline int32_t lowp_a_word(const uint8_t* row, int step) {
  int32_t word;
  std::memcpy(&word, row + 4 * step, 4);
  return word;
}

// k step `step` of a bf16 row as two fp32 values, the even k and the odd k, each widened exactly (a bf16
// is the top half of an fp32)
struct lowp_bf16_pair {
  float even, odd;
};
inline lowp_bf16_pair lowp_bf16_pair_at(const uint8_t* row, int step) {
  uint16_t halves[2];  // the even k, then the odd k (as the packing wrote them)
  std::memcpy(halves, row + 4 * step, 4);
  const uint32_t even = static_cast<uint32_t>(halves[0]) << 16, odd = static_cast<uint32_t>(halves[1]) << 16;
  lowp_bf16_pair p;
  std::memcpy(&p.even, &even, 4);
  std::memcpy(&p.odd, &odd, 4);
  return p;
}

// fp32 -> bf16, round to nearest even; NaN stays a (quiet) NaN
inline uint16_t lowp_float_to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

// one activation as u8: clamp(round-half-even(x * inverse) + zero, 0, 255) in fp32; NaN reads as 0.
// The rounding adds and subtracts 1.5 * 2^23 (exact round-half-even in the default rounding mode for
// |t| < 2^22) instead of calling nearbyintf: the baseline x86-64 build has no roundss, and the libm call
// made the input's quantization cost more than an int8 conv1 at batch 32. Past +-512 the clamp decides anyway.
inline uint8_t lowp_quantize_u8(float x, float inverse, float zero) {
  // branch-free (plain compares, not fminf/fmaxf calls) so that the loops vectorize
  float t = x * inverse;
  t = t > -512.0f ? t : -512.0f;  // NaN too
  t = t < 512.0f ? t : 512.0f;
  float v = ((t + 12582912.0f) - 12582912.0f) + zero;
  v = v > 0.0f ? v : 0.0f;
  v = v < 255.0f ? v : 255.0f;
  return static_cast<uint8_t>(static_cast<int>(v));
}

// lowp_quantize_u8 over n contiguous values, the same bytes: SSE2 (the x86-64 baseline) does 16 at a time
// with the same operations (maxps/minps keep the compares' NaN rule: the second operand when one is NaN),
// the scalar loop the rest. Written out because the scalar loop does not vectorize: its u8 stores may
// alias every float the compiler would keep in a register.
inline void lowp_quantize_u8_row(const float* src, uint8_t* dst, size_t n, float inverse, float zero) {
  size_t i = 0;
#ifdef __SSE2__
  const __m128 inv = _mm_set1_ps(inverse), lo = _mm_set1_ps(-512.0f), hi = _mm_set1_ps(512.0f);
  const __m128 magic = _mm_set1_ps(12582912.0f), z = _mm_set1_ps(zero), top = _mm_set1_ps(255.0f);
  const __m128 zeros = _mm_setzero_ps();
  const auto one = [&](const float* s) {
    __m128 t = _mm_mul_ps(_mm_loadu_ps(s), inv);
    t = _mm_min_ps(_mm_max_ps(t, lo), hi);  // max(t, lo) = t > lo ? t : lo
    __m128 v = _mm_add_ps(_mm_sub_ps(_mm_add_ps(t, magic), magic), z);
    v = _mm_min_ps(_mm_max_ps(v, zeros), top);
    return _mm_cvttps_epi32(v);
  };
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm_packs_epi32(one(src + i), one(src + i + 4));
    const __m128i b = _mm_packs_epi32(one(src + i + 8), one(src + i + 12));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm_packus_epi16(a, b));
  }
  if (i < n) {  // the last 1-15 through the same operations, from a zero-padded copy (short rows: conv3-5's 13 pixels)
    alignas(16) float rest[16] = {};
    alignas(16) uint8_t out[16];
    const size_t left = n - i;
    std::memcpy(rest, src + i, left * sizeof(float));
    const __m128i a = _mm_packs_epi32(one(rest), one(rest + 4));
    const __m128i b = _mm_packs_epi32(one(rest + 8), one(rest + 12));
    _mm_store_si128(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(a, b));
    std::memcpy(dst + i, out, left);
    i = n;
  }
#endif
  for (; i < n; ++i) dst[i] = lowp_quantize_u8(src[i], inverse, zero);
}

lowp_isa_kernel lowp_kernel_portable();
#ifdef ALEXNET_HAVE_AVX2
lowp_isa_kernel lowp_kernel_avx2();
#endif
#ifdef ALEXNET_HAVE_AVX2_VNNI
lowp_isa_kernel lowp_kernel_avx2_vnni();
#endif
#ifdef ALEXNET_HAVE_AVX512
lowp_isa_kernel lowp_kernel_avx512();
#endif
#ifdef ALEXNET_HAVE_AVX512_VNNI
lowp_isa_kernel lowp_kernel_avx512_vnni();
#endif

}  // namespace alexnet
