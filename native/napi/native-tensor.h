// NativeTensor: a JS handle on a float32 buffer in native memory, tagged with its device ("cpu").
// The memory is 64-byte aligned and owned by a shared tensor_storage, so a kernel still running on
// a worker thread keeps it alive if JS disposes the handle (or GC collects it) meanwhile.
#pragma once

#include <napi.h>

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/kernels.h"
#include "napi/packed-weights.h"
#include "napi/tensor-handle.h"

namespace alexnet {

struct tensor_storage {
  float* data = nullptr;
  size_t length = 0;  // float32 elements
  std::string device = "cpu";
  packed_weights packed;  // how packLinear / packConv packed it; zero for a plain tensor
  // bytes mapped straight from the OS (large buffers), 0 when from malloc
  size_t mapped_bytes = 0;

  // allocates 64-byte aligned memory; zero-filled when `zero`; throws std::bad_alloc. Buffers of
  // MAP_THRESHOLD_BYTES and more are mapped from the OS on their own (freed back at once, never left
  // resident in a malloc arena) and asked for transparent huge pages (fewer TLB misses when fc weights
  // stream at batch 1).
  tensor_storage(size_t length, bool zero);
  ~tensor_storage();
  tensor_storage(const tensor_storage&) = delete;
  tensor_storage& operator=(const tensor_storage&) = delete;
};

// the linear kernel's view of a weight tensor
inline linear_weights linear_weights_of(const tensor_storage& w) {
  linear_weights lw;
  lw.data = w.data;
  lw.packed = w.packed.out_features != 0;
  lw.precision = w.packed.precision;
  lw.act = w.packed.act;
  return lw;
}
// floats that hold packed linear weights of a precision
inline size_t lowp_packed_floats(lowp_type type, int out_features, int in_features) {
  return (lowp_packed_layout(type, out_features, in_features).total_bytes + 3) / 4;
}

// the JS handle (napi/tensor-handle.h); copies are plain memcpy
class NativeTensor : public tensor_handle<NativeTensor, tensor_storage> {
 public:
  using tensor_handle::tensor_handle;

  static std::string device_of(const tensor_storage& storage) { return storage.device; }
  static void copy_in(Napi::Env env, tensor_storage& storage, int64_t offset, const float* src, size_t count);
  static void copy_out(Napi::Env env, const tensor_storage& storage, int64_t offset, float* dst, size_t count);
};

// a device name this build has ("cpu"); ERR_DEVICE otherwise
std::string arg_device(Napi::Env env, const Napi::Value& value, const std::string& name);
// a live NativeTensor on the CPU: ERR_ARG (not a tensor), ERR_DISPOSED, ERR_DEVICE
std::shared_ptr<tensor_storage> arg_tensor(Napi::Env env, const Napi::Value& value, const std::string& name);
// as arg_tensor, but null/undefined give nullptr
std::shared_ptr<tensor_storage> arg_tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name);

}  // namespace alexnet
