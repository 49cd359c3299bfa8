// softmax over each row; the row max is subtracted first so exp never overflows. in == out is fine:
// each element is read before it is written.
#include <cmath>

#include "kernels/cpu/small-op.h"
#include "kernels/kernels.h"

namespace alexnet {

int softmax_forward_cpu(const softmax_params& p, const float* in, float* out, thread_pool& pool) {
  run_sized(pool, static_cast<int64_t>(p.rows) * p.cols * 8, [&](int ith, int nth) {
    int64_t begin, end;
    split_range(p.rows, ith, nth, &begin, &end);
    for (int64_t row = begin; row < end; ++row) {
      const float* x = in + row * p.cols;
      float* y = out + row * p.cols;
      float max = x[0];
      for (int i = 1; i < p.cols; ++i) max = x[i] > max ? x[i] : max;
      double sum = 0.0;
      for (int i = 0; i < p.cols; ++i) {
        const float e = std::exp(x[i] - max);
        y[i] = e;
        sum += e;
      }
      const float inv = static_cast<float>(1.0 / sum);
      for (int i = 0; i < p.cols; ++i) y[i] *= inv;
    }
  });
  return KERNEL_OK;
}

}  // namespace alexnet
