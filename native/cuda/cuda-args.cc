#include "cuda/cuda-args.h"

#include <cmath>

#include "cuda/cuda-device.h"
#include "cuda/cuda-tensor.h"

namespace alexnet {
namespace cuda_napi {
namespace {

std::string number_text(double x) {
  if (std::floor(x) == x && std::fabs(x) <= MAX_SAFE_INTEGER) return std::to_string(static_cast<int64_t>(x));
  return std::to_string(x);
}

// the device of a tensor of another backend (the CPU addon's NativeTensor says where it lives), or ""
std::string foreign_device(const Napi::Value& value) {
  if (!value.IsObject() || value.IsTypedArray() || value.IsArray() || value.IsFunction()) return "";
  const Napi::Value where = value.As<Napi::Object>().Get("device");
  return where.IsString() ? where.As<Napi::String>().Utf8Value() : "";
}

}  // namespace

std::string expected_message(const std::string& what, const std::string& name, const std::string& received) {
  return "Expected " + what + " for " + name + " but received " + received;
}

Napi::Error make_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

void throw_expected(Napi::Env env, const char* code, const std::string& what, const std::string& name,
                    const std::string& received) {
  throw make_error(env, code, expected_message(what, name, received));
}

std::string describe_value(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value() ? "true" : "false";
  if (value.IsNumber()) return value.ToString().Utf8Value();
  if (value.IsString()) return "'" + value.As<Napi::String>().Utf8Value() + "'";
  if (value.IsFunction()) return "a function";
  if (value.IsTypedArray()) {
    const Napi::TypedArray array = value.As<Napi::TypedArray>();
    const char* kind = "TypedArray";
    switch (array.TypedArrayType()) {
      case napi_int8_array: kind = "Int8Array"; break;
      case napi_uint8_array: kind = "Uint8Array"; break;
      case napi_uint8_clamped_array: kind = "Uint8ClampedArray"; break;
      case napi_int16_array: kind = "Int16Array"; break;
      case napi_uint16_array: kind = "Uint16Array"; break;
      case napi_int32_array: kind = "Int32Array"; break;
      case napi_uint32_array: kind = "Uint32Array"; break;
      case napi_float32_array: kind = "Float32Array"; break;
      case napi_float64_array: kind = "Float64Array"; break;
      case napi_bigint64_array: kind = "BigInt64Array"; break;
      case napi_biguint64_array: kind = "BigUint64Array"; break;
      default: break;
    }
    return std::string(kind) + "(" + std::to_string(array.ElementLength()) + ")";
  }
  if (value.IsArray()) return "Array(" + std::to_string(value.As<Napi::Array>().Length()) + ")";
  if (value.IsObject()) {
    if (CudaTensor* tensor = CudaTensor::unwrap_or_null(value)) {
      if (!tensor->storage()) return "a disposed NativeTensor";
      return "NativeTensor(" + std::to_string(tensor->storage()->length) + ")";
    }
    return "an object";
  }
  return "a " + value.ToString().Utf8Value();
}

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

int64_t arg_integer(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi) {
  const bool ok_number = value.IsNumber();
  const double x = ok_number ? value.As<Napi::Number>().DoubleValue() : 0.0;
  if (!ok_number || !std::isfinite(x) || std::floor(x) != x || x < static_cast<double>(lo) ||
      x > static_cast<double>(hi)) {
    std::string what;
    if (lo == 0 && static_cast<double>(hi) >= MAX_SAFE_INTEGER) what = "a non-negative integer";
    else if (lo == 1 && static_cast<double>(hi) >= MAX_SAFE_INTEGER) what = "a positive integer";
    else what = "an integer in [" + number_text(static_cast<double>(lo)) + ", " + number_text(static_cast<double>(hi)) + "]";
    throw_expected(env, "ERR_ARG", what, name, describe_value(value));
  }
  return static_cast<int64_t>(x);
}

int64_t arg_integer_or(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi,
                       int64_t fallback) {
  if (value.IsUndefined()) return fallback;
  return arg_integer(env, value, name, lo, hi);
}

bool arg_boolean(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsBoolean()) throw_expected(env, "ERR_ARG", "a boolean", name, describe_value(value));
  return value.As<Napi::Boolean>().Value();
}

float arg_finite_float(Napi::Env env, const Napi::Value& value, const std::string& name) {
  const double x = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(x) || std::fabs(x) > 3.4e38) throw_expected(env, "ERR_ARG", "a finite number", name, describe_value(value));
  return static_cast<float>(x);
}

std::string arg_string(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsString()) throw_expected(env, "ERR_ARG", "a string", name, describe_value(value));
  return value.As<Napi::String>().Utf8Value();
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

std::vector<int32_t> arg_dims(Napi::Env env, const Napi::Value& value, size_t count, const std::string& name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      value.As<Napi::TypedArray>().ElementLength() != count)
    throw_expected(env, "ERR_ARG", "an Int32Array of " + std::to_string(count) + " elements", name,
                   describe_value(value));
  const Napi::Int32Array array = value.As<Napi::Int32Array>();
  return std::vector<int32_t>(array.Data(), array.Data() + count);
}

void check_dim(Napi::Env env, const std::vector<int32_t>& dims, size_t index, const char* field, bool allow_zero) {
  if ((dims[index] > 0 || (allow_zero && dims[index] == 0)) && dims[index] <= MAX_DIM) return;
  throw_expected(env, "ERR_SHAPE",
                 std::string(allow_zero ? "a non-negative integer" : "a positive integer") + " of at most " +
                     std::to_string(MAX_DIM),
                 "dims[" + std::to_string(index) + "] (" + field + ")", std::to_string(dims[index]));
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

void check_length_at_least(Napi::Env env, const device_storage& tensor, int64_t needed, const std::string& name) {
  if (needed > MAX_KERNEL_ELEMENTS)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements", name,
                   std::to_string(needed));
  if (static_cast<int64_t>(tensor.length) < needed)
    throw_expected(env, "ERR_SHAPE", "a NativeTensor of at least " + std::to_string(needed) + " elements", name,
                   "NativeTensor(" + std::to_string(tensor.length) + ")");
}

void check_length_exact(Napi::Env env, const device_storage& tensor, int64_t needed, const std::string& name) {
  if (needed > MAX_KERNEL_ELEMENTS)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements", name,
                   std::to_string(needed));
  if (static_cast<int64_t>(tensor.length) != needed)
    throw_expected(env, "ERR_SHAPE", "a NativeTensor of " + std::to_string(needed) + " elements", name,
                   "NativeTensor(" + std::to_string(tensor.length) + ")");
}

void check_distinct(Napi::Env env, const device_storage& output, const device_storage& input,
                    const std::string& output_name, const std::string& input_name) {
  if (&output == &input)
    throw_expected(env, "ERR_ARG", "a NativeTensor other than " + input_name, output_name, "the same NativeTensor");
}

}  // namespace cuda_napi
}  // namespace alexnet
