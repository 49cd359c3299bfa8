// Argument checks for the exported functions. Each returns the checked value or throws a JS Error
// in the one format of errors.h. Native re-checks everything: a wrong length from JS would be a
// heap overflow, not an exception.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "napi/native-tensor.h"

namespace alexnet {

// largest safe JS integer (2^53 - 1)
constexpr double MAX_SAFE_INTEGER = 9007199254740991.0;
// element counts that kernels index with 32-bit GEMM dimensions
constexpr int64_t MAX_KERNEL_ELEMENTS = 2147483647;
// largest single dimension (2^24): keeps index arithmetic such as out_row * stride - pad + kernel
// inside 32 bits in every kernel
constexpr int32_t MAX_DIM = 16777216;

// an integer in [lo, hi] (ERR_ARG)
int64_t arg_integer(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi);
// an optional integer: `fallback` when undefined
int64_t arg_integer_or(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi,
                       int64_t fallback);
bool arg_boolean(Napi::Env env, const Napi::Value& value, const std::string& name);
float arg_finite_float(Napi::Env env, const Napi::Value& value, const std::string& name);
std::string arg_string(Napi::Env env, const Napi::Value& value, const std::string& name);
// a device name this build has ("cpu"); ERR_DEVICE otherwise
std::string arg_device(Napi::Env env, const Napi::Value& value, const std::string& name);

// an Int32Array of exactly `count` elements (ERR_ARG), copied out
std::vector<int32_t> arg_dims(Napi::Env env, const Napi::Value& value, size_t count, const std::string& name);
// 0 < dims[index] <= MAX_DIM (0 allowed when allow_zero), ERR_SHAPE; `field` names it: "dims[3] (inWidth)"
void check_dim(Napi::Env env, const std::vector<int32_t>& dims, size_t index, const char* field, bool allow_zero);

// a live NativeTensor on the CPU: ERR_ARG (not a tensor), ERR_DISPOSED, ERR_DEVICE
std::shared_ptr<tensor_storage> arg_tensor(Napi::Env env, const Napi::Value& value, const std::string& name);
// as arg_tensor, but null/undefined give nullptr
std::shared_ptr<tensor_storage> arg_tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name);
// tensor length >= needed (ERR_SHAPE); also needed <= MAX_KERNEL_ELEMENTS
void check_length_at_least(Napi::Env env, const tensor_storage& tensor, int64_t needed, const std::string& name);
// tensor length == needed (ERR_SHAPE)
void check_length_exact(Napi::Env env, const tensor_storage& tensor, int64_t needed, const std::string& name);
// ERR_ARG when output is the same buffer as input (for kernels that cannot work in place)
void check_distinct(Napi::Env env, const tensor_storage& output, const tensor_storage& input,
                    const std::string& output_name, const std::string& input_name);

}  // namespace alexnet
