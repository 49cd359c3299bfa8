// LRN across channels (ONNX LRN = Caffe ACROSS_CHANNELS), split over (image, row of pixels).
#include <cmath>

#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"

namespace alexnet {

int lrn_forward_cpu(const lrn_params& p, const float* in, float* out, thread_pool& pool) {
  const int64_t plane = static_cast<int64_t>(p.height) * p.width;
  const int before = (p.size - 1) / 2, after = p.size - 1 - before;  // floor and ceil of (size-1)/2
  const float scale = p.alpha / static_cast<float>(p.size);
  const int64_t rows = static_cast<int64_t>(p.batch) * p.height;
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(rows, ith, nth, &begin, &end);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / p.height, h = row % p.height;
      const float* src = in + n * p.channels * plane + h * p.width;
      float* dst = out + n * p.channels * plane + h * p.width;
      for (int c = 0; c < p.channels; ++c) {
        const int c0 = c - before < 0 ? 0 : c - before;
        const int c1 = c + after >= p.channels ? p.channels - 1 : c + after;
        for (int w = 0; w < p.width; ++w) {
          float sum = 0.0f;
          for (int j = c0; j <= c1; ++j) {
            const float x = src[j * plane + w];
            sum += x * x;
          }
          dst[c * plane + w] = src[c * plane + w] / std::pow(p.k + scale * sum, p.beta);
        }
      }
    }
  });
  return KERNEL_OK;
}

}  // namespace alexnet
