// GPUs as this addon sees them: device names ("cuda:N"), one stream per device, the precision of the
// GEMM-shaped ops, and the staging buffers for uploads. Thread-safe: workers call these from libuv
// threads.
#pragma once

#include <cuda_runtime_api.h>

#include <mutex>
#include <string>

#include "kernels/cuda/cuda-kernels.h"

namespace alexnet {
namespace cuda_napi {

// the number of usable devices, or the error that prevents using any (no driver, no device, ...)
cudaError_t cuda_device_count(int* count);
// "cuda:N"
std::string cuda_device_name(int device);
// parses "cuda" (0) and "cuda:N"; false for anything else
bool cuda_device_parse(const std::string& name, int* device);
// makes `device` current on this thread and returns its stream (created on first use; it does not
// synchronize with the legacy default stream)
cudaError_t cuda_use_device(int device, cudaStream_t* stream);

cuda_precision cuda_current_precision();
void cuda_set_precision(cuda_precision precision);

// Two pinned host buffers of STAGING_BYTES each for uploads from files, shared by the process and
// held by one upload at a time (lock `mutex` first; allocated on first use).
struct staging_buffers {
  static constexpr size_t STAGING_BYTES = size_t{8} << 20;
  std::mutex mutex;
  void* host[2] = {nullptr, nullptr};
};
staging_buffers& cuda_staging();

}  // namespace cuda_napi
}  // namespace alexnet
