#include "cuda/cuda-tensor.h"

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"

namespace alexnet {
namespace cuda_napi {

device_storage::~device_storage() {
  if (!data) return;
  if (cudaSetDevice(device) == cudaSuccess) cudaFree(data);
  cudaGetLastError();
}

cudaError_t device_storage_create(int device, size_t length, bool zero, std::shared_ptr<device_storage>* out) {
  auto storage = std::make_shared<device_storage>();
  storage->length = length;
  storage->device = device;
  storage->device_name = cuda_device_name(device);
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(device, &stream);
  if (error != cudaSuccess) return error;
  if (length > 0) {
    if (length > (static_cast<size_t>(-1) / sizeof(float))) return cudaErrorMemoryAllocation;
    void* data = nullptr;
    error = cudaMalloc(&data, length * sizeof(float));
    if (error != cudaSuccess) return error;
    storage->data = static_cast<float*>(data);
    if (zero) {
      error = cudaMemsetAsync(data, 0, length * sizeof(float), stream);
      if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
      if (error != cudaSuccess) return error;  // storage frees the memory
    }
  }
  *out = std::move(storage);
  return cudaSuccess;
}

cuda_addon_state& get_cuda_addon_state(Napi::Env env) {
  cuda_addon_state* state = env.GetInstanceData<cuda_addon_state>();
  if (!state) {
    state = new cuda_addon_state();
    env.SetInstanceData(state);
  }
  return *state;
}

void CudaTensor::init_class(Napi::Env env) {
  Napi::Function constructor = DefineClass(env, "NativeTensor",
                                           {
                                               InstanceAccessor<&CudaTensor::get_device>("device"),
                                               InstanceAccessor<&CudaTensor::get_length>("length"),
                                               InstanceMethod<&CudaTensor::write>("write"),
                                               InstanceMethod<&CudaTensor::read>("read"),
                                               InstanceMethod<&CudaTensor::dispose>("dispose"),
                                           });
  get_cuda_addon_state(env).tensor_constructor = Napi::Persistent(constructor);
}

Napi::Object CudaTensor::wrap(Napi::Env env, std::shared_ptr<device_storage> storage) {
  return get_cuda_addon_state(env).tensor_constructor.New(
      {Napi::External<std::shared_ptr<device_storage>>::New(env, &storage)});
}

CudaTensor* CudaTensor::unwrap_or_null(const Napi::Value& value) {
  if (!value.IsObject()) return nullptr;
  const cuda_addon_state& state = get_cuda_addon_state(value.Env());
  if (state.tensor_constructor.IsEmpty() || !value.As<Napi::Object>().InstanceOf(state.tensor_constructor.Value()))
    return nullptr;
  return Unwrap(value.As<Napi::Object>());
}

CudaTensor::CudaTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaTensor>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw make_error(info.Env(), "ERR_ARG", "Expected alloc() or fromFile() for NativeTensor but received new NativeTensor()");
  storage_ = *info[0].As<Napi::External<std::shared_ptr<device_storage>>>().Data();
  device_ = storage_->device_name;
  length_ = storage_->length;
  accounted_bytes_ = static_cast<int64_t>(length_ * sizeof(float));
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), accounted_bytes_);
}

CudaTensor::~CudaTensor() { release(); }

void CudaTensor::release() {
  storage_.reset();
  if (accounted_bytes_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(Env(), -accounted_bytes_);
    accounted_bytes_ = 0;
  }
}

device_storage& CudaTensor::live(Napi::Env env) {
  if (!storage_) throw_expected(env, "ERR_DISPOSED", "a live NativeTensor", "this", "a disposed NativeTensor");
  return *storage_;
}

Napi::Value CudaTensor::get_device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), device_); }

Napi::Value CudaTensor::get_length(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(length_));
}

// Copies run on the device's stream, so they are ordered after kernels queued on it, and wait for it.
Napi::Value CudaTensor::write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  device_storage& storage = live(env);
  const Napi::Value src = info[0];
  if (!src.IsTypedArray() || src.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_expected(env, "ERR_ARG", "a Float32Array", "src", describe_value(src));
  const Napi::Float32Array array = src.As<Napi::Float32Array>();
  const int64_t length = static_cast<int64_t>(storage.length);
  const int64_t offset = arg_integer_or(env, info[1], "offset", 0, length, 0);
  const int64_t count = static_cast<int64_t>(array.ElementLength());
  if (count > length - offset)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(length - offset) + " elements (length " +
                   std::to_string(length) + " - offset " + std::to_string(offset) + ")", "src", describe_value(src));
  if (count == 0) return env.Undefined();
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(storage.device, &stream);
  if (error == cudaSuccess)
    error = cudaMemcpyAsync(storage.data + offset, array.Data(), static_cast<size_t>(count) * sizeof(float),
                            cudaMemcpyHostToDevice, stream);
  if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
  if (error != cudaSuccess) throw_cuda(env, "write on " + storage.device_name, error);
  return env.Undefined();
}

Napi::Value CudaTensor::read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  device_storage& storage = live(env);
  const int64_t length = static_cast<int64_t>(storage.length);
  const int64_t offset = arg_integer_or(env, info[0], "offset", 0, length, 0);
  const int64_t count = arg_integer_or(env, info[1], "length", 0, length - offset, length - offset);
  Napi::Float32Array out;
  try {
    out = Napi::Float32Array::New(env, static_cast<size_t>(count));
  } catch (const Napi::Error&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "read(" + std::to_string(count) + ")", "an allocation failure");
  }
  if (count == 0) return out;
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(storage.device, &stream);
  if (error == cudaSuccess)
    error = cudaMemcpyAsync(out.Data(), storage.data + offset, static_cast<size_t>(count) * sizeof(float),
                            cudaMemcpyDeviceToHost, stream);
  if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
  if (error != cudaSuccess) throw_cuda(env, "read on " + storage.device_name, error);
  return out;
}

Napi::Value CudaTensor::dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

}  // namespace cuda_napi
}  // namespace alexnet
