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

// product of positive factors, saturating at 2^62 (callers compare it with buffer lengths)
int64_t product(std::initializer_list<int64_t> factors) {
  constexpr int64_t cap = int64_t{1} << 62;
  int64_t p = 1;
  for (int64_t f : factors) p = (f != 0 && p > cap / f) ? cap : p * f;
  return p;
}

int64_t check_window_fits(Napi::Env env, int64_t in, int64_t pad_begin, int64_t pad_end, int64_t kernel,
                          const char* kernel_name, const char* in_name, const char* pad_begin_name,
                          const char* pad_end_name) {
  const int64_t span = in + pad_begin + pad_end;
  if (kernel > span)
    throw_expected(env, "ERR_SHAPE",
                   "at most " + std::to_string(span) + " (" + in_name + " + " + pad_begin_name + " + " + pad_end_name + ")",
                   kernel_name, std::to_string(kernel));
  return span;
}

const char* const CONV2D_FIELDS[] = {"batch", "inChannels", "inHeight", "inWidth", "outChannels", "kernelH",
                                     "kernelW", "strideH", "strideW", "padTop", "padLeft", "padBottom",
                                     "padRight", "groups", "outHeight", "outWidth"};
const char* const POOL2D_FIELDS[] = {"batch", "channels", "inHeight", "inWidth", "kernelH", "kernelW", "strideH",
                                     "strideW", "padTop", "padLeft", "padBottom", "padRight", "outHeight",
                                     "outWidth"};

pool2d_params pool2d_dims(Napi::Env env, const Napi::Value& value) {
  const std::vector<int32_t> d = arg_dims(env, value, 14, "dims");
  for (size_t i = 0; i < 14; ++i) check_dim(env, d, i, POOL2D_FIELDS[i], i >= 8 && i <= 11);
  pool2d_params p{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13]};
  const int64_t span_h = check_window_fits(env, p.in_height, p.pad_top, p.pad_bottom, p.kernel_h, "kernelH", "inHeight", "padTop", "padBottom");
  const int64_t span_w = check_window_fits(env, p.in_width, p.pad_left, p.pad_right, p.kernel_w, "kernelW", "inWidth", "padLeft", "padRight");
  const auto check_out = [&](int64_t span, int64_t kernel, int64_t stride, int64_t out, const char* name) {
    const int64_t lo = (span - kernel) / stride + 1, hi = (span - kernel + stride - 1) / stride + 1;
    if (out < lo || out > hi)
      throw_expected(env, "ERR_SHAPE", lo == hi ? std::to_string(lo) : std::to_string(lo) + " or " + std::to_string(hi),
                     name, std::to_string(out));
  };
  check_out(span_h, p.kernel_h, p.stride_h, p.out_height, "outHeight");
  check_out(span_w, p.kernel_w, p.stride_w, p.out_width, "outWidth");
  return p;
}

Napi::Value pool2d_op(const Napi::CallbackInfo& info, bool is_max) {
  Napi::Env env = info.Env();
  const pool2d_params p = pool2d_dims(env, info[0]);
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  const bool count_include_pad = is_max ? false : arg_boolean(env, info[3], "countIncludePad");
  check_length_at_least(env, *input, product({p.batch, p.channels, p.in_height, p.in_width}), "input");
  check_length_at_least(env, *output, product({p.batch, p.channels, p.out_height, p.out_width}), "output");
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
  for (size_t i = 0; i < 16; ++i) check_dim(env, d, i, CONV2D_FIELDS[i], i >= 9 && i <= 12);
  conv2d_params p{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15], false};
  if (p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0)
    throw_expected(env, "ERR_SHAPE",
                   "a divisor of inChannels " + std::to_string(p.in_channels) + " and outChannels " +
                       std::to_string(p.out_channels),
                   "groups", std::to_string(p.groups));
  const int64_t span_h = check_window_fits(env, p.in_height, p.pad_top, p.pad_bottom, p.kernel_h, "kernelH", "inHeight", "padTop", "padBottom");
  const int64_t span_w = check_window_fits(env, p.in_width, p.pad_left, p.pad_right, p.kernel_w, "kernelW", "inWidth", "padLeft", "padRight");
  const int64_t out_h = (span_h - p.kernel_h) / p.stride_h + 1, out_w = (span_w - p.kernel_w) / p.stride_w + 1;
  if (p.out_height != out_h) throw_expected(env, "ERR_SHAPE", std::to_string(out_h), "outHeight", std::to_string(p.out_height));
  if (p.out_width != out_w) throw_expected(env, "ERR_SHAPE", std::to_string(out_w), "outWidth", std::to_string(p.out_width));

  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto weight = arg_tensor(env, info[2], "weight", device);
  auto bias = arg_tensor_or_null(env, info[3], "bias", device);
  auto output = arg_tensor(env, info[4], "output", device);
  p.relu = arg_boolean(env, info[5], "relu");
  const int64_t k_per_group = product({p.in_channels / p.groups, p.kernel_h, p.kernel_w});
  check_length_at_least(env, *input, product({p.batch, p.in_channels, p.in_height, p.in_width}), "input");
  check_length_exact(env, *weight, product({p.out_channels, k_per_group}), "weight");
  if (bias) check_length_exact(env, *bias, p.out_channels, "bias");
  check_length_at_least(env, *output, product({p.batch, p.out_channels, p.out_height, p.out_width}), "output");
  // the implicit GEMM indexes k and n = batch * outHeight * outWidth with 32-bit integers
  const int64_t columns = product({p.batch, out_h, out_w});
  if (columns > MAX_KERNEL_ELEMENTS)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements",
                   "the GEMM columns (batch * outHeight * outWidth)", std::to_string(columns));
  check_distinct(env, *output, *input, "output", "input");
  check_distinct(env, *output, *weight, "output", "weight");
  if (bias) check_distinct(env, *output, *bias, "output", "bias");
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
  const char* const fields[] = {"batch", "channels", "height", "width", "size"};
  for (size_t i = 0; i < 5; ++i) check_dim(env, d, i, fields[i], false);
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  const lrn_params p{d[0], d[1], d[2], d[3], d[4], arg_finite_float(env, info[3], "alpha"),
                     arg_finite_float(env, info[4], "beta"), arg_finite_float(env, info[5], "k")};
  const int64_t count = product({p.batch, p.channels, p.height, p.width});
  check_length_at_least(env, *input, count, "input");
  check_length_at_least(env, *output, count, "output");
  check_distinct(env, *output, *input, "output", "input");
  const float* in = input->data;
  float* out = output->data;
  return queue_cuda_kernel(env, "lrn", device, [p, in, out](cudaStream_t s) { return lrn_forward_cuda(p, in, out, s); },
                           {input, output});
}

Napi::Value op_linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 3, "dims");
  const char* const fields[] = {"rows", "inFeatures", "outFeatures"};
  for (size_t i = 0; i < 3; ++i) check_dim(env, d, i, fields[i], false);
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto weight = arg_tensor(env, info[2], "weight", device);
  auto bias = arg_tensor_or_null(env, info[3], "bias", device);
  auto output = arg_tensor(env, info[4], "output", device);
  const linear_params p{d[0], d[1], d[2], arg_boolean(env, info[5], "relu")};
  check_length_at_least(env, *input, product({p.rows, p.in_features}), "input");
  check_length_exact(env, *weight, product({p.out_features, p.in_features}), "weight");
  if (bias) check_length_exact(env, *bias, p.out_features, "bias");
  check_length_at_least(env, *output, product({p.rows, p.out_features}), "output");
  check_distinct(env, *output, *input, "output", "input");
  check_distinct(env, *output, *weight, "output", "weight");
  if (bias) check_distinct(env, *output, *bias, "output", "bias");
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
  check_dim(env, d, 0, "rows", false);
  check_dim(env, d, 1, "cols", false);
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  const softmax_params p{d[0], d[1]};
  check_length_at_least(env, *input, product({p.rows, p.cols}), "input");
  check_length_at_least(env, *output, product({p.rows, p.cols}), "output");
  const float* in = input->data;
  float* out = output->data;
  return queue_cuda_kernel(env, "softmax", device,
                           [p, in, out](cudaStream_t s) { return softmax_forward_cuda(p, in, out, s); },
                           {input, output});
}

Napi::Value op_adaptive_avg_pool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 6, "dims");
  const char* const fields[] = {"batch", "channels", "inHeight", "inWidth", "outHeight", "outWidth"};
  for (size_t i = 0; i < 6; ++i) check_dim(env, d, i, fields[i], false);
  auto input = arg_tensor(env, info[1], "input", -1);
  const int device = input->device;
  auto output = arg_tensor(env, info[2], "output", device);
  const adaptive_avgpool_params p{d[0], d[1], d[2], d[3], d[4], d[5]};
  check_length_at_least(env, *input, product({p.batch, p.channels, p.in_height, p.in_width}), "input");
  check_length_at_least(env, *output, product({p.batch, p.channels, p.out_height, p.out_width}), "output");
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
