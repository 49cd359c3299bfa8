// Grid sizes for the one-thread-per-output kernels: a grid-stride loop covers any count, so the grid
// is capped (a few waves on the largest GPUs) instead of growing with the tensor.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace alexnet {

constexpr int ELEMENTWISE_THREADS = 256;

inline unsigned elementwise_blocks(int64_t count) {
  const int64_t blocks = (count + ELEMENTWISE_THREADS - 1) / ELEMENTWISE_THREADS;
  constexpr int64_t cap = 65536;  // 16M threads
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

// the grid-stride loop: this thread's first element, and the step to its next
__device__ inline int64_t grid_first() { return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; }
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// element `index` of an NCHW output of height x width planes: its column, row and plane (n * C + c)
struct nchw_element {
  int x, y;
  int64_t plane;
};
__device__ inline nchw_element nchw_element_of(int64_t index, int height, int width) {
  return {static_cast<int>(index % width), static_cast<int>((index / width) % height),
          index / (static_cast<int64_t>(width) * height)};
}

}  // namespace alexnet
