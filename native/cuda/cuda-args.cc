#include "cuda/cuda-args.h"

#include "cuda/cuda-device.h"
#include "cuda/cuda-tensor.h"

namespace alexnet {
namespace cuda_napi {
namespace {

// the device of a tensor of another backend (the CPU addon's NativeTensor says where it lives), or ""
std::string foreign_device(const Napi::Value& value) {
  if (!value.IsObject() || value.IsTypedArray() || value.IsArray() || value.IsFunction()) return "";
  const Napi::Value where = value.As<Napi::Object>().Get("device");
  return where.IsString() ? where.As<Napi::String>().Utf8Value() : "";
}

}  // namespace

std::string cuda_error_text(cudaError_t error) {
  return std::string(cudaGetErrorName(error)) + " (" + cudaGetErrorString(error) + ")";
}

std::string cuda_error_message(const std::string& what, cudaError_t error) {
  return expected_message("a successful CUDA call", what, cuda_error_text(error));
}

void throw_cuda(Napi::Env env, const std::string& what, cudaError_t error) {
  cudaGetLastError();
  throw make_error(env, "ERR_CUDA", cuda_error_message(what, error));
}

int arg_device(Napi::Env env, const Napi::Value& value, const std::string& name) {
  int device = 0;
  if (!value.IsString()) throw_expected(env, "ERR_ARG", "'cuda' or 'cuda:N'", name, describe_value(value));
  if (!cuda_device_parse(value.As<Napi::String>().Utf8Value(), &device))
    throw_expected(env, "ERR_DEVICE", "'cuda' or 'cuda:N'", name, describe_value(value));
  int count = 0;
  const cudaError_t error = cuda_device_count(&count);
  if (error != cudaSuccess) throw_cuda(env, "the device count (" + name + " " + describe_value(value) + ")", error);
  if (device >= count)
    throw_expected(env, "ERR_DEVICE", "a CUDA device index below " + std::to_string(count), name, describe_value(value));
  return device;
}

std::shared_ptr<device_storage> arg_tensor(Napi::Env env, const Napi::Value& value, const std::string& name, int device) {
  CudaTensor* tensor = CudaTensor::unwrap_or_null(value);
  if (!tensor) {
    const std::string where = foreign_device(value);
    if (!where.empty())
      throw_expected(env, "ERR_DEVICE", "a NativeTensor on " + (device < 0 ? std::string("a CUDA device") : "'" + cuda_device_name(device) + "'"),
                     name, "one on '" + where + "'");
    throw_expected(env, "ERR_ARG", "a NativeTensor", name, describe_value(value));
  }
  if (!tensor->storage()) throw_expected(env, "ERR_DISPOSED", "a live NativeTensor", name, "a disposed NativeTensor");
  if (device >= 0 && tensor->storage()->device != device)
    throw_expected(env, "ERR_DEVICE", "a NativeTensor on '" + cuda_device_name(device) + "'", name,
                   "one on '" + tensor->storage()->device_name + "'");
  return tensor->storage();
}

std::shared_ptr<device_storage> arg_tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name,
                                                   int device) {
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  if (!CudaTensor::unwrap_or_null(value) && foreign_device(value).empty())
    throw_expected(env, "ERR_ARG", "a NativeTensor or null", name, describe_value(value));
  return arg_tensor(env, value, name, device);
}

}  // namespace cuda_napi

// errors.h: how describe_value shows a tensor of this addon
std::string describe_tensor(const Napi::Value& value) {
  cuda_napi::CudaTensor* tensor = cuda_napi::CudaTensor::unwrap_or_null(value);
  if (!tensor) return "";
  if (!tensor->storage()) return "a disposed NativeTensor";
  return "NativeTensor(" + std::to_string(tensor->storage()->length) + ")";
}

}  // namespace alexnet
