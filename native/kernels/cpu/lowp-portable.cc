// Reduced precision for any CPU: plain loops over a panel's 16 features (the compiler vectorizes them
// with the baseline vectors). int8: int32 sums of u8 x s8 products; bf16: the bf16 weights widened to
// fp32 (a shift), products summed in fp32.
#include <cstring>

#include "kernels/cpu/lowp-internal.h"

namespace alexnet {
namespace {

struct int8_ops {
  using acc_t = int32_t;
  using a_t = const uint8_t*;
  using sum_t = int32_t;
  static constexpr int ACC = LOWP_PANEL, MAX_ACC = 16, TILE_ROWS = 1;
  static void zero(acc_t* acc) {
    for (int j = 0; j < LOWP_PANEL; ++j) acc[j] = 0;
  }
  static a_t load_a(const uint8_t* row, int step) { return row + 4 * step; }
  using w_t = const int8_t*;
  static w_t load_w(const int8_t* line) { return line; }
  static void madd(acc_t* acc, a_t a, w_t line) {
    for (int j = 0; j < LOWP_PANEL; ++j)
      for (int q = 0; q < 4; ++q) acc[j] += static_cast<int32_t>(a[q]) * line[4 * j + q];
  }
  static void reduce(const acc_t* acc, int32_t* sums) { std::memcpy(sums, acc, sizeof(int32_t) * LOWP_PANEL); }
};

inline float bf16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

struct bf16_ops {
  using acc_t = float;
  using a_t = lowp_bf16_pair;
  using sum_t = float;
  static constexpr int ACC = LOWP_PANEL, MAX_ACC = 16, TILE_ROWS = 1;
  static void zero(acc_t* acc) {
    for (int j = 0; j < LOWP_PANEL; ++j) acc[j] = 0.0f;
  }
  static a_t load_a(const uint8_t* row, int step) { return lowp_bf16_pair_at(row, step); }
  struct w_t {
    float even[LOWP_PANEL], odd[LOWP_PANEL];
  };
  static w_t load_w(const int8_t* line) {
    uint16_t bits[2 * LOWP_PANEL];
    std::memcpy(bits, line, sizeof(bits));
    w_t w;
    for (int j = 0; j < LOWP_PANEL; ++j) {
      w.even[j] = bf16_to_float(bits[2 * j]);
      w.odd[j] = bf16_to_float(bits[2 * j + 1]);
    }
    return w;
  }
  static void madd(acc_t* acc, const a_t& a, const w_t& w) {
    for (int j = 0; j < LOWP_PANEL; ++j) acc[j] += w.even[j] * a.even + w.odd[j] * a.odd;
  }
  static void reduce(const acc_t* acc, float* sums) { std::memcpy(sums, acc, sizeof(float) * LOWP_PANEL); }
};

}  // namespace
}  // namespace alexnet

#define LOWP_KERNEL_FN lowp_kernel_portable
#define LOWP_INT8_NAME "portable int32"
#define LOWP_BF16_NAME "portable bf16->fp32"
#include "kernels/cpu/lowp-body.inc"
