// torch AdaptiveAvgPool2d, one thread per output element: window i is [floor(i*in/out), ceil((i+1)*in/out)).
#include "kernels/cuda/cuda-kernels.h"
#include "kernels/cuda/launch.cuh"

namespace alexnet {
namespace {

__global__ void adaptive_avgpool2d_kernel(adaptive_avgpool_params p, const float* __restrict__ in,
                                          float* __restrict__ out) {
  const int64_t total = static_cast<int64_t>(p.batch) * p.channels * p.out_height * p.out_width;
  for (int64_t index = grid_first(); index < total; index += grid_stride()) {
    const nchw_element o = nchw_element_of(index, p.out_height, p.out_width);
    const int i = o.y, j = o.x;
    const int h0 = static_cast<int>(static_cast<int64_t>(i) * p.in_height / p.out_height);
    const int h1 = static_cast<int>((static_cast<int64_t>(i + 1) * p.in_height + p.out_height - 1) / p.out_height);
    const int w0 = static_cast<int>(static_cast<int64_t>(j) * p.in_width / p.out_width);
    const int w1 = static_cast<int>((static_cast<int64_t>(j + 1) * p.in_width + p.out_width - 1) / p.out_width);
    const float* src = in + o.plane * p.in_height * p.in_width;
    float sum = 0.0f;
    for (int h = h0; h < h1; ++h)
      for (int w = w0; w < w1; ++w) sum += src[h * p.in_width + w];
    out[index] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
  }
}

}  // namespace

cudaError_t adaptive_avgpool2d_forward_cuda(const adaptive_avgpool_params& p, const float* in, float* out,
                                            cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.batch) * p.channels * p.out_height * p.out_width;
  adaptive_avgpool2d_kernel<<<elementwise_blocks(total), ELEMENTWISE_THREADS, 0, stream>>>(p, in, out);
  return cudaGetLastError();
}

}  // namespace alexnet
