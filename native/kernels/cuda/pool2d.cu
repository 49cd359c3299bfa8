// max and average pooling, one thread per output element; windows are clipped to the input
// (an empty window gives 0), as the CPU kernel and test/reference.ts.
#include <cfloat>

#include "kernels/cuda/cuda-kernels.h"
#include "kernels/cuda/launch.cuh"

namespace alexnet {
namespace {

template <bool is_max>
__global__ void pool2d_kernel(pool2d_params p, bool count_include_pad, const float* __restrict__ in,
                              float* __restrict__ out) {
  const int64_t total = static_cast<int64_t>(p.batch) * p.channels * p.out_height * p.out_width;
  for (int64_t index = grid_first(); index < total; index += grid_stride()) {
    const nchw_element o = nchw_element_of(index, p.out_height, p.out_width);
    const int oh = o.y, ow = o.x;
    const int h_start = oh * p.stride_h - p.pad_top, w_start = ow * p.stride_w - p.pad_left;
    const int h0 = max(h_start, 0), h1 = min(h_start + p.kernel_h, p.in_height);
    const int w0 = max(w_start, 0), w1 = min(w_start + p.kernel_w, p.in_width);
    const float* src = in + o.plane * p.in_height * p.in_width;
    float result = 0.0f;
    if (h0 < h1 && w0 < w1) {
      if (is_max) {
        result = -FLT_MAX;
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w) result = fmaxf(result, src[h * p.in_width + w]);
      } else {
        float sum = 0.0f;
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w) sum += src[h * p.in_width + w];
        // count_include_pad: the window clipped to the padded input (torch/ONNX)
        const int count = count_include_pad ? (min(h_start + p.kernel_h, p.in_height + p.pad_bottom) - h_start) *
                                                  (min(w_start + p.kernel_w, p.in_width + p.pad_right) - w_start)
                                            : (h1 - h0) * (w1 - w0);
        result = sum / static_cast<float>(count);
      }
    }
    out[index] = result;
  }
}

}  // namespace

cudaError_t max_pool2d_forward_cuda(const pool2d_params& p, const float* in, float* out, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.batch) * p.channels * p.out_height * p.out_width;
  pool2d_kernel<true><<<elementwise_blocks(total), ELEMENTWISE_THREADS, 0, stream>>>(p, false, in, out);
  return cudaGetLastError();
}

cudaError_t avg_pool2d_forward_cuda(const pool2d_params& p, bool count_include_pad, const float* in, float* out,
                                    cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(p.batch) * p.channels * p.out_height * p.out_width;
  pool2d_kernel<false><<<elementwise_blocks(total), ELEMENTWISE_THREADS, 0, stream>>>(p, count_include_pad, in, out);
  return cudaGetLastError();
}

}  // namespace alexnet
