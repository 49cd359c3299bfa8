#include "cuda/cuda-ops.h"

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"
#include "cuda/cuda-tensor.h"
#include "cuda/cuda-worker.h"
#include "kernels/cuda/cuda-kernels.h"

namespace alexnet {
namespace cuda_napi {
namespace {

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array array = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) array.Set(static_cast<uint32_t>(i), items[i]);
  return array;
}

Napi::Value pool2d_op(const Napi::CallbackInfo& info, bool is_max) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 14, "dims");
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  const bool count_include_pad = is_max ? false : arg_boolean(env, info[3], "countIncludePad");
  check_shape(env, pool2d_check(d.data(), buffers_of(input.get(), output.get()), ""));
  const pool2d_params p = pool2d_params_of(d.data());
  check_distinct(env, *output, *input, "output", "input");
  const float* in = input->data;
  float* out = output->data;
  if (is_max)
    return queue_cuda_kernel(env, "maxPool2d", device,
                             [p, in, out](cudaStream_t s) { return max_pool2d_forward_cuda(p, in, out, s); },
                             {input, output});
  return queue_cuda_kernel(env, "avgPool2d", device,
                           [p, count_include_pad, in, out](cudaStream_t s) {
                             return avg_pool2d_forward_cuda(p, count_include_pad, in, out, s);
                           },
                           {input, output});
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

Napi::Value op_conv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 16, "dims");
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto weight = arg_tensor(env, info[2], "weight", device);
  auto bias = arg_tensor_or_null(env, info[3], "bias", device);
  auto output = arg_tensor(env, info[4], "output", device);
  const bool relu = arg_boolean(env, info[5], "relu");
  check_shape(env, conv2d_check(d.data(),
                                buffers_of(input.get(), weight.get(), bias.get(), output.get()),
                                "", ""));
  conv2d_params p = conv2d_params_of(d.data());
  p.relu = relu;
  // the implicit GEMM indexes k and n = batch * outHeight * outWidth with 32-bit integers
  const int64_t columns = product({p.batch, p.out_height, p.out_width});
  if (columns > MAX_KERNEL_ELEMENTS)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements",
                   "the GEMM columns (batch * outHeight * outWidth)", std::to_string(columns));
  check_output_distinct(env, *output, input.get(), weight.get(), bias.get(), "output");
  const float* in = input->data;
  const float* w = weight->data;
  const float* b = bias ? bias->data : nullptr;
  float* out = output->data;
  const cuda_precision precision = cuda_current_precision();
  return queue_cuda_kernel(env, "conv2d", device,
                           [p, in, w, b, out, precision](cudaStream_t s) {
                             return conv2d_forward_cuda(p, in, w, b, out, precision, s);
                           },
                           {input, weight, bias, output});
}

Napi::Value op_max_pool2d(const Napi::CallbackInfo& info) { return pool2d_op(info, true); }

Napi::Value op_avg_pool2d(const Napi::CallbackInfo& info) { return pool2d_op(info, false); }

Napi::Value op_lrn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 5, "dims");
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  const lrn_params p{d[0], d[1], d[2], d[3], d[4], arg_finite_float(env, info[3], "alpha"),
                     arg_finite_float(env, info[4], "beta"), arg_finite_float(env, info[5], "k")};
  check_shape(env, lrn_check(d.data(), buffers_of(input.get(), output.get()), ""));
  check_distinct(env, *output, *input, "output", "input");
  const float* in = input->data;
  float* out = output->data;
  return queue_cuda_kernel(env, "lrn", device, [p, in, out](cudaStream_t s) { return lrn_forward_cuda(p, in, out, s); },
                           {input, output});
}

Napi::Value op_linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 3, "dims");
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto weight = arg_tensor(env, info[2], "weight", device);
  auto bias = arg_tensor_or_null(env, info[3], "bias", device);
  auto output = arg_tensor(env, info[4], "output", device);
  const linear_params p{d[0], d[1], d[2], arg_boolean(env, info[5], "relu")};
  check_shape(env, linear_check(d.data(),
                                buffers_of(input.get(), weight.get(), bias.get(), output.get()),
                                0, 0, ""));
  check_output_distinct(env, *output, input.get(), weight.get(), bias.get(), "output");
  const float* in = input->data;
  const float* w = weight->data;
  const float* b = bias ? bias->data : nullptr;
  float* out = output->data;
  const cuda_precision precision = cuda_current_precision();
  return queue_cuda_kernel(env, "linear", device,
                           [p, in, w, b, out, precision](cudaStream_t s) {
                             return linear_forward_cuda(p, in, w, b, out, precision, s);
                           },
                           {input, weight, bias, output});
}

Napi::Value op_softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 2, "dims");
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  check_shape(env, softmax_check(d.data(), buffers_of(input.get(), output.get()), ""));
  const softmax_params p{d[0], d[1]};
  const float* in = input->data;
  float* out = output->data;
  return queue_cuda_kernel(env, "softmax", device,
                           [p, in, out](cudaStream_t s) { return softmax_forward_cuda(p, in, out, s); },
                           {input, output});
}

Napi::Value op_adaptive_avg_pool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 6, "dims");
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  check_shape(env, adaptive_avg_pool2d_check(d.data(), buffers_of(input.get(), output.get()), ""));
  const adaptive_avgpool_params p{d[0], d[1], d[2], d[3], d[4], d[5]};
  check_distinct(env, *output, *input, "output", "input");
  const float* in = input->data;
  float* out = output->data;
  return queue_cuda_kernel(env, "adaptiveAvgPool2d", device,
                           [p, in, out](cudaStream_t s) { return adaptive_avgpool2d_forward_cuda(p, in, out, s); },
                           {input, output});
}

Napi::Value op_relu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto input = arg_tensor(env, info[0], "input", -1);
  auto output = arg_tensor(env, info[1], "output", input->device);
  const size_t length = input->length;
  if (output->length < length)
    throw_expected(env, "ERR_SHAPE", "a NativeTensor of at least " + std::to_string(length) + " elements", "output",
                   "NativeTensor(" + std::to_string(output->length) + ")");
  const float* in = input->data;
  float* out = output->data;
  return queue_cuda_kernel(env, "relu", input->device,
                           [length, in, out](cudaStream_t s) { return relu_forward_cuda(length, in, out, s); },
                           {input, output});
}

}  // namespace cuda_napi
}  // namespace alexnet
