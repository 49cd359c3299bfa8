#include "napi/errors.h"

namespace alexnet {

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
    const std::string tensor = describe_tensor(value);
    return tensor.empty() ? "an object" : tensor;
  }
  return "a " + value.ToString().Utf8Value();
}

}  // namespace alexnet
