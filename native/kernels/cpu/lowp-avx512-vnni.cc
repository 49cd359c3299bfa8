// Reduced precision for AVX-512 with AVX512_VNNI (compiled with the AVX-512 flags plus -mavx512vnni
// -mavx512bf16): int8 as vpdpbusd, u8 activations x s8 weights summed 4 at a time into int32 (exact);
// bf16 as vdpbf16ps where the CPU also has AVX512_BF16 (lowp.cc picks), pairs of bf16 products into fp32.
// A panel's k step is one zmm; 4 rows x 4 panels = 16 accumulators of the 32 registers.
#include <immintrin.h>

#include "kernels/cpu/lowp-internal.h"

namespace alexnet {
namespace {

// both: the row's 32-bit word (4 u8 or a bf16 pair) broadcast, a panel's 64-byte line as one zmm
struct zmm_word_ops {
  using a_t = __m512i;
  using w_t = __m512i;
  static constexpr int ACC = 1, MAX_ACC = 16, TILE_ROWS = 4;
  static a_t load_a(const uint8_t* row, int step) { return _mm512_set1_epi32(lowp_a_word(row, step)); }
  static w_t load_w(const int8_t* line) { return _mm512_loadu_si512(line); }
};

struct int8_ops : zmm_word_ops {
  using acc_t = __m512i;
  using sum_t = int32_t;
  static void zero(acc_t* acc) { acc[0] = _mm512_setzero_si512(); }
  static void madd(acc_t* acc, const a_t& a, const w_t& w) { acc[0] = _mm512_dpbusd_epi32(acc[0], a, w); }
  static void reduce(const acc_t* acc, int32_t* sums) { _mm512_storeu_si512(sums, acc[0]); }
};

struct bf16_ops : zmm_word_ops {
  using acc_t = __m512;
  using sum_t = float;
  static void zero(acc_t* acc) { acc[0] = _mm512_setzero_ps(); }
  static void madd(acc_t* acc, const a_t& a, const w_t& w) { acc[0] = _mm512_dpbf16_ps(acc[0], (__m512bh)a, (__m512bh)w); }
  static void reduce(const acc_t* acc, float* sums) { _mm512_storeu_ps(sums, acc[0]); }
};

}  // namespace
}  // namespace alexnet

#define LOWP_KERNEL_FN lowp_kernel_avx512_vnni
#define LOWP_INT8_NAME "avx512-vnni vpdpbusd"
#define LOWP_BF16_NAME "avx512-bf16 vdpbf16ps"
#include "kernels/cpu/lowp-body.inc"
