// LRN across channels, one thread per output element: the window of channel c is
// c - floor((size-1)/2) .. c + ceil((size-1)/2) clipped to the channels; y = x / (k + alpha/size * sum x^2)^beta.
#include "kernels/cuda/cuda-kernels.h"
#include "kernels/cuda/launch.cuh"

namespace alexnet {
namespace {

__global__ void lrn_kernel(lrn_params p, const float* __restrict__ in, float* __restrict__ out) {
  const int64_t plane = static_cast<int64_t>(p.height) * p.width;
  const int64_t total = static_cast<int64_t>(p.batch) * p.channels * plane;
  const int before = (p.size - 1) / 2, after = p.size / 2;  // after = ceil((size-1)/2)
  const float scale = p.alpha / static_cast<float>(p.size);
  for (int64_t index = grid_first(); index < total; index += grid_stride()) {
    const int64_t pixel = index % plane;
    const int c = static_cast<int>((index / plane) % p.channels);
    const int64_t image_base = (index / plane - c) * plane + pixel;  // channel 0 of this pixel
    const int c0 = max(c - before, 0), c1 = min(c + after, p.channels - 1);
    float sum = 0.0f;
    for (int j = c0; j <= c1; ++j) {
      const float x = in[image_base + j * plane];
      sum = fmaf(x, x, sum);
    }
    out[index] = in[index] * powf(p.k + scale * sum, -p.beta);
  }
}

}  // namespace

cudaError_t lrn_forward_cuda(const lrn_params& p, const float* in, float* out, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.batch) * p.channels * p.height * p.width;
  lrn_kernel<<<elementwise_blocks(total), ELEMENTWISE_THREADS, 0, stream>>>(p, in, out);
  return cudaGetLastError();
}

}  // namespace alexnet
