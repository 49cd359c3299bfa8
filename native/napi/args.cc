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

std::vector<int32_t> arg_dims(Napi::Env env, const Napi::Value& value, size_t count, const std::string& name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      value.As<Napi::TypedArray>().ElementLength() != count)
    throw_expected(env, "ERR_ARG", "an Int32Array of " + std::to_string(count) + " elements", name,
                   describe_value(value));
  const Napi::Int32Array array = value.As<Napi::Int32Array>();
  return std::vector<int32_t>(array.Data(), array.Data() + count);
}

void check_dim(Napi::Env env, const std::vector<int32_t>& dims, size_t index, const char* field, bool allow_zero) {
  check_shape(env, dim_message(dims[index], index, field, allow_zero, ""));
}

void check_shape(Napi::Env env, const std::string& message) {
  if (!message.empty()) throw make_error(env, "ERR_SHAPE", message);
}

from_file_request arg_from_file(Napi::Env env, const Napi::CallbackInfo& info) {
  std::string path = arg_string(env, info[1], "path");
  if (path.empty() || path.find('\0') != std::string::npos)
    throw_expected(env, "ERR_ARG", "a file path", "path", describe_value(info[1]));
  const int64_t byte_offset = arg_integer(env, info[2], "byteOffset", 0, static_cast<int64_t>(MAX_SAFE_INTEGER));
  // the byte count must fit size_t and off_t
  const int64_t length = arg_integer(env, info[3], "length", 0, static_cast<int64_t>(MAX_SAFE_INTEGER) / 4);
  return from_file_request{std::move(path), byte_offset, length};
}

}  // namespace alexnet
