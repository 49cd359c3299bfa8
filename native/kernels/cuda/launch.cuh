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

}  // namespace alexnet
