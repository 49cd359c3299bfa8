// Reduced precision for AVX2 + FMA (compiled with -mavx2 -mfma).
// int8 without VNNI: u8 activations and s8 weights widened to int16 and multiplied by vpmaddwd (pairs
// of int16 products summed into int32), which is exact. vpmaddubsw (u8 x s8 pairs summed into int16)
// would do twice the work per instruction but saturates: 255 * 127 * 2 = 64770 > 32767, which is why
// fbgemm quantizes activations to 7 bits on such CPUs (reduce_range) and oneDNN halves the weights;
// either changes the integers. With vpmaddwd every ISA gets the same sums from the same 8-bit
// quantization, at 2 instructions (vpmaddwd + vpaddd) per 16 products.
// bf16: the weights stay bf16 in memory (half the bytes of fp32) and are widened to fp32 in registers
// (a shift for the even k, a mask for the odd k of each pair), then 2 FMAs.
#include <immintrin.h>

#include "kernels/cpu/lowp-internal.h"

namespace alexnet {
namespace {

struct int8_ops {
  using acc_t = __m256i;
  using a_t = __m256i;
  using sum_t = int32_t;
  // 4 ymm per panel: each holds 4 features x 2 partial sums (k 0-1 and k 2-3 of each quad)
  static constexpr int ACC = 4, MAX_ACC = 8, TILE_ROWS = 2;
  static void zero(acc_t* acc) {
    for (int q = 0; q < 4; ++q) acc[q] = _mm256_setzero_si256();
  }
  static a_t load_a(const uint8_t* row, int step) {
    // the 4 u8 as int16, repeated over the 4 features of a ymm
    return _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(lowp_a_word(row, step))));
  }
  struct w_t {
    __m256i q[4];  // 4 features x 4 k as int16 each
  };
  static w_t load_w(const int8_t* line) {
    w_t w;
    for (int q = 0; q < 4; ++q)
      w.q[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(line + 16 * q)));
    return w;
  }
  static void madd(acc_t* acc, const a_t& a, const w_t& w) {
    for (int q = 0; q < 4; ++q) acc[q] = _mm256_add_epi32(acc[q], _mm256_madd_epi16(w.q[q], a));
  }
  static void reduce(const acc_t* acc, int32_t* sums) {
    for (int q = 0; q < 4; ++q) {
      alignas(32) int32_t lanes[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc[q]);
      for (int j = 0; j < 4; ++j) sums[4 * q + j] = lanes[2 * j] + lanes[2 * j + 1];
    }
  }
};

struct bf16_ops {
  using acc_t = __m256;
  struct a_t {
    __m256 even, odd;
  };
  using sum_t = float;
  static constexpr int ACC = 2, MAX_ACC = 8, TILE_ROWS = 4;
  static void zero(acc_t* acc) { acc[0] = acc[1] = _mm256_setzero_ps(); }
  static a_t load_a(const uint8_t* row, int step) {
    const lowp_bf16_pair p = lowp_bf16_pair_at(row, step);
    return a_t{_mm256_set1_ps(p.even), _mm256_set1_ps(p.odd)};
  }
  struct w_t {
    __m256 even[2], odd[2];  // features 0-7 and 8-15 for the even and the odd k of the pair
  };
  static w_t load_w(const int8_t* line) {
    const __m256i mask = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    w_t w;
    for (int v = 0; v < 2; ++v) {
      const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + 32 * v));
      w.even[v] = _mm256_castsi256_ps(_mm256_slli_epi32(bits, 16));
      w.odd[v] = _mm256_castsi256_ps(_mm256_and_si256(bits, mask));
    }
    return w;
  }
  static void madd(acc_t* acc, const a_t& a, const w_t& w) {
    for (int v = 0; v < 2; ++v) {
      acc[v] = _mm256_fmadd_ps(w.even[v], a.even, acc[v]);
      acc[v] = _mm256_fmadd_ps(w.odd[v], a.odd, acc[v]);
    }
  }
  static void reduce(const acc_t* acc, float* sums) {
    _mm256_storeu_ps(sums, acc[0]);
    _mm256_storeu_ps(sums + 8, acc[1]);
  }
};

}  // namespace
}  // namespace alexnet

#define LOWP_KERNEL_FN lowp_kernel_avx2
#define LOWP_INT8_NAME "avx2 vpmaddwd"
#define LOWP_BF16_NAME "avx2 bf16->fp32 fma"
#include "kernels/cpu/lowp-body.inc"
