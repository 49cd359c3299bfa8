// softmax over each row of [rows, cols], one block per row: the row's max, then the sum of
// exp(x - max), then the quotients. Each thread writes only the elements it read, after both
// reductions, so in == out works.
#include <cfloat>

#include "kernels/cuda/cuda-kernels.h"

namespace alexnet {
namespace {

constexpr int SOFTMAX_THREADS = 256;
constexpr int MAX_GRID_X = 2147483647;

// all threads of the block get the reduction of `value` (max or sum)
template <bool is_max>
__device__ float block_reduce(float value, float* scratch) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, value, offset);
    value = is_max ? fmaxf(value, other) : value + other;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  value = scratch[0];
  for (int w = 1; w < SOFTMAX_THREADS / 32; ++w) value = is_max ? fmaxf(value, scratch[w]) : value + scratch[w];
  __syncthreads();  // scratch is reused by the next reduction
  return value;
}

__global__ void __launch_bounds__(SOFTMAX_THREADS) softmax_kernel(softmax_params p, const float* in, float* out) {
  __shared__ float scratch[SOFTMAX_THREADS / 32];
  for (int64_t row = blockIdx.x; row < p.rows; row += gridDim.x) {
    const float* x = in + row * p.cols;
    float* y = out + row * p.cols;
    float max_value = -FLT_MAX;
    for (int i = threadIdx.x; i < p.cols; i += SOFTMAX_THREADS) max_value = fmaxf(max_value, x[i]);
    max_value = block_reduce<true>(max_value, scratch);
    float sum = 0.0f;
    for (int i = threadIdx.x; i < p.cols; i += SOFTMAX_THREADS) sum += expf(x[i] - max_value);
    sum = block_reduce<false>(sum, scratch);
    const float inverse = 1.0f / sum;
    for (int i = threadIdx.x; i < p.cols; i += SOFTMAX_THREADS) y[i] = expf(x[i] - max_value) * inverse;
  }
}

}  // namespace

cudaError_t softmax_forward_cuda(const softmax_params& p, const float* in, float* out, cudaStream_t stream) {
  const unsigned blocks = static_cast<unsigned>(p.rows < MAX_GRID_X ? p.rows : MAX_GRID_X);
  softmax_kernel<<<blocks, SOFTMAX_THREADS, 0, stream>>>(p, in, out);
  return cudaGetLastError();
}

}  // namespace alexnet
