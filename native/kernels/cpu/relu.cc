// elementwise max(x, 0); in == out is fine
#include "kernels/cpu/small-op.h"
#include "kernels/kernels.h"

namespace alexnet {

int relu_forward_cpu(size_t length, const float* in, float* out, thread_pool& pool) {
  run_sized(pool, static_cast<int64_t>(length), [&](int ith, int nth) {
    int64_t begin, end;
    split_range(static_cast<int64_t>(length), ith, nth, &begin, &end);
    for (int64_t i = begin; i < end; ++i) out[i] = in[i] < 0.0f ? 0.0f : in[i];  // NaN passes through, as in torch
  });
  return KERNEL_OK;
}

}  // namespace alexnet
