// NativeTensor of the CUDA addon: a JS handle on a float32 buffer in GPU memory (cudaMalloc), tagged
// with its device ("cuda:N"). write/read are H2D/D2H copies on the device's stream. The memory is
// owned by a shared device_storage, so a kernel still running keeps it alive if JS disposes the
// handle (or GC collects it) meanwhile.
#pragma once

#include <napi.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>

#include "napi/tensor-handle.h"

namespace alexnet {
namespace cuda_napi {

struct device_storage {
  float* data = nullptr;  // device pointer (null for length 0)
  size_t length = 0;      // float32 elements
  int device = 0;
  std::string device_name;

  device_storage() = default;
  ~device_storage();  // cudaFree; errors ignored (at exit the runtime may be gone)
  device_storage(const device_storage&) = delete;
  device_storage& operator=(const device_storage&) = delete;
};

// allocates `length` floats on `device` (zero-filled when `zero`); returns the CUDA error, if any
cudaError_t device_storage_create(int device, size_t length, bool zero, std::shared_ptr<device_storage>* out);

// the JS handle (napi/tensor-handle.h); copies run on the device's stream, so they are ordered after
// kernels queued on it, and wait for it
class CudaTensor : public tensor_handle<CudaTensor, device_storage> {
 public:
  using tensor_handle::tensor_handle;

  static std::string device_of(const device_storage& storage) { return storage.device_name; }
  static void copy_in(Napi::Env env, device_storage& storage, int64_t offset, const float* src, size_t count);
  static void copy_out(Napi::Env env, const device_storage& storage, int64_t offset, float* dst, size_t count);
};

}  // namespace cuda_napi
}  // namespace alexnet
