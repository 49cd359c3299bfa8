// Reduced precision for AVX2 with AVX-VNNI (compiled with -mavx2 -mfma -mavxvnni): int8 as the VEX
// vpdpbusd on ymm (u8 x s8, 4 at a time into int32, exact); a panel's k step is 2 ymm, 4 rows x 1 panel
// or 1 row x 4 panels = 8 accumulators of the 16 registers. bf16 is AVX2's (no AVX-VNNI instruction for it).
#include <immintrin.h>

#include "kernels/cpu/lowp-internal.h"

namespace alexnet {
namespace {

struct int8_ops {
  using acc_t = __m256i;
  using a_t = __m256i;
  using sum_t = int32_t;
  static constexpr int ACC = 2, MAX_ACC = 8, TILE_ROWS = 4;
  static void zero(acc_t* acc) { acc[0] = acc[1] = _mm256_setzero_si256(); }
  static a_t load_a(const uint8_t* row, int step) { return _mm256_set1_epi32(lowp_a_word(row, step)); }
  struct w_t {
    __m256i lo, hi;
  };
  static w_t load_w(const int8_t* line) {
    return w_t{_mm256_loadu_si256(reinterpret_cast<const __m256i*>(line)),
               _mm256_loadu_si256(reinterpret_cast<const __m256i*>(line + 32))};
  }
  static void madd(acc_t* acc, const a_t& a, const w_t& w) {
    acc[0] = _mm256_dpbusd_avx_epi32(acc[0], a, w.lo);
    acc[1] = _mm256_dpbusd_avx_epi32(acc[1], a, w.hi);
  }
  static void reduce(const acc_t* acc, int32_t* sums) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums), acc[0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(sums + 8), acc[1]);
  }
};

}  // namespace
}  // namespace alexnet

#define LOWP_KERNEL_FN lowp_kernel_avx2_vnni
#define LOWP_BF16_FROM lowp_kernel_avx2
#define LOWP_INT8_NAME "avx2-vnni vpdpbusd"
#define LOWP_BF16_NAME "avx2 bf16->fp32 fma"
#include "kernels/cpu/lowp-body.inc"
