// elementwise max(x, 0); NaN stays NaN (x < 0 is false for NaN), as torch and the CPU kernel.
#include "kernels/cuda/cuda-kernels.h"
#include "kernels/cuda/launch.cuh"

namespace alexnet {
namespace {

__global__ void relu_kernel(size_t length, const float* in, float* out) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < length;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float x = in[i];
    out[i] = x < 0.0f ? 0.0f : x;
  }
}

}  // namespace

cudaError_t relu_forward_cuda(size_t length, const float* in, float* out, cudaStream_t stream) {
  if (length == 0) return cudaSuccess;
  relu_kernel<<<elementwise_blocks(static_cast<int64_t>(length)), ELEMENTWISE_THREADS, 0, stream>>>(length, in, out);
  return cudaGetLastError();
}

}  // namespace alexnet
