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

class CudaTensor : public Napi::ObjectWrap<CudaTensor> {
 public:
  static void init_class(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<device_storage> storage);
  // the tensor behind `value` when it is one of this addon's, else null
  static CudaTensor* unwrap_or_null(const Napi::Value& value);

  explicit CudaTensor(const Napi::CallbackInfo& info);
  ~CudaTensor() override;

  const std::shared_ptr<device_storage>& storage() const { return storage_; }

 private:
  Napi::Value get_device(const Napi::CallbackInfo& info);
  Napi::Value get_length(const Napi::CallbackInfo& info);
  Napi::Value write(const Napi::CallbackInfo& info);
  Napi::Value read(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  void release();
  device_storage& live(Napi::Env env);

  std::shared_ptr<device_storage> storage_;
  std::string device_;
  size_t length_ = 0;
  int64_t accounted_bytes_ = 0;  // reported to V8 as external memory, so GC frees lost GPU buffers sooner
};

// Per-environment state of this addon (Node worker threads each get their own).
struct cuda_addon_state {
  Napi::FunctionReference tensor_constructor;
};
cuda_addon_state& get_cuda_addon_state(Napi::Env env);

}  // namespace cuda_napi
}  // namespace alexnet
