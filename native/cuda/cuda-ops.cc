#include "cuda/cuda-ops.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"
#include "cuda/cuda-tensor.h"
#include "kernels/cuda/cuda-kernels.h"

namespace alexnet {
namespace cuda_napi {
namespace {

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array array = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) array.Set(static_cast<uint32_t>(i), items[i]);
  return array;
}

cuda_precision parse_precision(Napi::Env env, const std::string& name, const std::string& arg_name) {
  cuda_precision precision = cuda_precision::fp32;
  if (!cuda_precision_parse(name.c_str(), &precision))
    throw_expected(env, "ERR_ARG", "one of 'fp32', 'tf32', 'bf16'", arg_name, "'" + name + "'");
  return precision;
}

}  // namespace

void precision_init_from_env(Napi::Env env) {
  const char* forced = std::getenv("ALEXNET_CLI_CUDA_PRECISION");
  if (forced && *forced) cuda_set_precision(parse_precision(env, forced, "ALEXNET_CLI_CUDA_PRECISION"));
}

Napi::Value op_backends(const Napi::CallbackInfo& info) { return string_array(info.Env(), {"cuda"}); }

// [] when no GPU is usable (cudaInfo() says why)
Napi::Value op_devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int count = 0;
  cuda_device_count(&count);
  Napi::Array list = Napi::Array::New(env);
  uint32_t index = 0;
  for (int device = 0; device < count; ++device) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    Napi::Object item = Napi::Object::New(env);
    item.Set("id", cuda_device_name(device));
    item.Set("name", std::string(prop.name));
    item.Set("totalMemory", static_cast<double>(prop.totalGlobalMem));
    item.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
    item.Set("multiprocessors", prop.multiProcessorCount);
    list.Set(index++, item);
  }
  return list;
}

// { deviceCount, driverVersion, runtimeVersion, error }: error is null when at least one device is usable
Napi::Value op_cuda_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int driver = 0, runtime = 0, count = 0;
  cudaDriverGetVersion(&driver);  // 0 when no driver is installed
  cudaRuntimeGetVersion(&runtime);
  cudaGetLastError();
  const cudaError_t error = cuda_device_count(&count);
  Napi::Object out = Napi::Object::New(env);
  out.Set("deviceCount", count);
  out.Set("driverVersion", driver);
  out.Set("runtimeVersion", runtime);
  if (error != cudaSuccess) {
    std::string text = cuda_error_text(error);
    if (driver == 0) text = "no NVIDIA driver (libcuda.so.1 not found): " + text;
    out.Set("error", text);
  } else if (count == 0) {
    out.Set("error", "the driver reports no CUDA device");
  } else {
    out.Set("error", env.Null());
  }
  return out;
}

Napi::Value op_set_precision(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cuda_precision precision = parse_precision(env, arg_string(env, info[0], "precision"), "precision");
  cuda_set_precision(precision);
  return Napi::String::New(env, cuda_precision_name(precision));
}

Napi::Value op_get_precision(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cuda_precision_name(cuda_current_precision()));
}

Napi::Value op_alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = arg_device(env, info[0], "device");
  const int64_t length = arg_integer(env, info[1], "length", 0, static_cast<int64_t>(MAX_SAFE_INTEGER));
  std::shared_ptr<device_storage> storage;
  const cudaError_t error = device_storage_create(device, static_cast<size_t>(length), true, &storage);
  if (error != cudaSuccess) throw_cuda(env, "alloc(" + std::to_string(length) + ") on " + cuda_device_name(device), error);
  return CudaTensor::wrap(env, std::move(storage));
}

}  // namespace cuda_napi
}  // namespace alexnet
