// LRN across channels (ONNX LRN = Caffe ACROSS_CHANNELS), split over (image, row of pixels).
#include <cmath>

#include "kernels/cpu/small-op.h"
#include "kernels/kernels.h"

namespace alexnet {

int lrn_forward_cpu(const lrn_params& p, const float* in, float* out, thread_pool& pool) {
  const int64_t plane = static_cast<int64_t>(p.height) * p.width;
  const int before = (p.size - 1) / 2, after = p.size - 1 - before;  // floor and ceil of (size-1)/2
  const float scale = p.alpha / static_cast<float>(p.size);
  const int64_t rows = static_cast<int64_t>(p.batch) * p.height;
  const bool beta_three_quarters = p.beta == 0.75f;
  constexpr int LRN_MAX_WIDTH = 256;
  run_sized(pool, rows * p.width * p.channels, [&](int ith, int nth) {
    int64_t begin, end;
    split_range(rows, ith, nth, &begin, &end);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / p.height, h = row % p.height;
      const float* src = in + n * p.channels * plane + h * p.width;
      float* dst = out + n * p.channels * plane + h * p.width;
      // the window sum runs along the row (vectorised), channel by channel; same summation order as before
      float sum[LRN_MAX_WIDTH];
      for (int c = 0; c < p.channels; ++c) {
        const int c0 = c - before < 0 ? 0 : c - before;
        const int c1 = c + after >= p.channels ? p.channels - 1 : c + after;
        for (int w0 = 0; w0 < p.width; w0 += LRN_MAX_WIDTH) {
          const int width = p.width - w0 < LRN_MAX_WIDTH ? p.width - w0 : LRN_MAX_WIDTH;
          for (int w = 0; w < width; ++w) sum[w] = 0.0f;
          for (int j = c0; j <= c1; ++j) {
            const float* __restrict x = src + j * plane + w0;
            for (int w = 0; w < width; ++w) sum[w] += x[w] * x[w];
          }
          const float* __restrict x = src + c * plane + w0;
          float* __restrict y = dst + c * plane + w0;
          if (beta_three_quarters) {
            // t^-0.75 = 1 / (sqrt(t) * sqrt(sqrt(t))): vectorises, within a few ulp of pow
            for (int w = 0; w < width; ++w) {
              const float t = p.k + scale * sum[w], r = std::sqrt(t);
              y[w] = x[w] / (r * std::sqrt(r));
            }
          } else {
            for (int w = 0; w < width; ++w) y[w] = x[w] / std::pow(p.k + scale * sum[w], p.beta);
          }
        }
      }
    }
  });
  return KERNEL_OK;
}

}  // namespace alexnet
