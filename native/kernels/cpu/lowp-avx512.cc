// Reduced precision for AVX-512 without VNNI (compiled with the AVX-512 flags): bf16 weights widened to
// fp32 in registers (a shift for the even k, a mask for the odd k of each pair; half the bytes of fp32
// read), 2 FMAs per k pair on one zmm per panel. int8 runs AVX2's exact vpmaddwd kernel (lowp-avx2.cc).
#include <immintrin.h>

#include "kernels/cpu/lowp-internal.h"

namespace alexnet {
namespace {

struct bf16_ops {
  using acc_t = __m512;
  struct a_t {
    __m512 even, odd;
  };
  using sum_t = float;
  static constexpr int ACC = 1, MAX_ACC = 16, TILE_ROWS = 4;
  static void zero(acc_t* acc) { acc[0] = _mm512_setzero_ps(); }
  static a_t load_a(const uint8_t* row, int step) {
    const lowp_bf16_pair p = lowp_bf16_pair_at(row, step);
    return a_t{_mm512_set1_ps(p.even), _mm512_set1_ps(p.odd)};
  }
  struct w_t {
    __m512 even, odd;  // the even and the odd k of the pair, 16 features each
  };
  static w_t load_w(const int8_t* line) {
    const __m512i bits = _mm512_loadu_si512(line);
    return w_t{_mm512_castsi512_ps(_mm512_slli_epi32(bits, 16)),
               _mm512_castsi512_ps(_mm512_and_si512(bits, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))))};
  }
  static void madd(acc_t* acc, const a_t& a, const w_t& w) {
    acc[0] = _mm512_fmadd_ps(w.even, a.even, acc[0]);
    acc[0] = _mm512_fmadd_ps(w.odd, a.odd, acc[0]);
  }
  static void reduce(const acc_t* acc, float* sums) { _mm512_storeu_ps(sums, acc[0]); }
};

}  // namespace
}  // namespace alexnet

#define LOWP_KERNEL_FN lowp_kernel_avx512
#define LOWP_INT8_FROM lowp_kernel_avx2
#define LOWP_INT8_NAME "avx2 vpmaddwd"
#define LOWP_BF16_NAME "avx512 bf16->fp32 fma"
#include "kernels/cpu/lowp-body.inc"
