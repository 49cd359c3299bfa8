#include "napi/args.h"

#include <cmath>

#include "napi/errors.h"

namespace alexnet {
namespace {

std::string number_text(double x) {
  if (std::floor(x) == x && std::fabs(x) <= MAX_SAFE_INTEGER) return std::to_string(static_cast<int64_t>(x));
  return std::to_string(x);
}

}  // namespace

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

std::string arg_device(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsString() || value.As<Napi::String>().Utf8Value() != "cpu")
    throw_expected(env, value.IsString() ? "ERR_DEVICE" : "ERR_ARG", "'cpu'", name, describe_value(value));
  return "cpu";
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

std::shared_ptr<tensor_storage> arg_tensor(Napi::Env env, const Napi::Value& value, const std::string& name) {
  NativeTensor* tensor = NativeTensor::unwrap_or_null(value);
  if (!tensor) throw_expected(env, "ERR_ARG", "a NativeTensor", name, describe_value(value));
  if (!tensor->storage()) throw_expected(env, "ERR_DISPOSED", "a live NativeTensor", name, "a disposed NativeTensor");
  if (tensor->storage()->device != "cpu")
    throw_expected(env, "ERR_DEVICE", "a NativeTensor on 'cpu'", name, "one on '" + tensor->storage()->device + "'");
  return tensor->storage();
}

std::shared_ptr<tensor_storage> arg_tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  if (!NativeTensor::unwrap_or_null(value))
    throw_expected(env, "ERR_ARG", "a NativeTensor or null", name, describe_value(value));
  return arg_tensor(env, value, name);
}

void check_length_at_least(Napi::Env env, const tensor_storage& tensor, int64_t needed, const std::string& name) {
  if (needed > MAX_KERNEL_ELEMENTS)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements", name,
                   std::to_string(needed));
  if (static_cast<int64_t>(tensor.length) < needed)
    throw_expected(env, "ERR_SHAPE", "a NativeTensor of at least " + std::to_string(needed) + " elements", name,
                   "NativeTensor(" + std::to_string(tensor.length) + ")");
}

void check_length_exact(Napi::Env env, const tensor_storage& tensor, int64_t needed, const std::string& name) {
  if (needed > MAX_KERNEL_ELEMENTS)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements", name,
                   std::to_string(needed));
  if (static_cast<int64_t>(tensor.length) != needed)
    throw_expected(env, "ERR_SHAPE", "a NativeTensor of " + std::to_string(needed) + " elements", name,
                   "NativeTensor(" + std::to_string(tensor.length) + ")");
}

void check_distinct(Napi::Env env, const tensor_storage& output, const tensor_storage& input,
                    const std::string& output_name, const std::string& input_name) {
  if (&output == &input)
    throw_expected(env, "ERR_ARG", "a NativeTensor other than " + input_name, output_name, "the same NativeTensor");
}

}  // namespace alexnet
