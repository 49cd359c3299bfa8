// Argument checks for the exported functions of both addons (CPU and CUDA). Each returns the checked
// value or throws a JS Error in the one format of errors.h. Native re-checks everything: a wrong length
// from JS would be a heap overflow, not an exception. The checks of tensor arguments depend on the
// addon's tensor class: arg_tensor is in native-tensor.h (CPU) and cuda/cuda-args.h (CUDA).
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "napi/errors.h"
#include "napi/op-checks.h"  // MAX_SAFE_INTEGER, MAX_KERNEL_ELEMENTS, MAX_DIM

namespace alexnet {

// an integer in [lo, hi] (ERR_ARG)
int64_t arg_integer(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi);
// an optional integer: `fallback` when undefined
int64_t arg_integer_or(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi,
                       int64_t fallback);
bool arg_boolean(Napi::Env env, const Napi::Value& value, const std::string& name);
float arg_finite_float(Napi::Env env, const Napi::Value& value, const std::string& name);
std::string arg_string(Napi::Env env, const Napi::Value& value, const std::string& name);

// an Int32Array of exactly `count` elements (ERR_ARG), copied out
std::vector<int32_t> arg_dims(Napi::Env env, const Napi::Value& value, size_t count, const std::string& name);
// 0 < dims[index] <= MAX_DIM (0 allowed when allow_zero), ERR_SHAPE; `field` names it: "dims[3] (inWidth)"
void check_dim(Napi::Env env, const std::vector<int32_t>& dims, size_t index, const char* field, bool allow_zero);

// throws ERR_SHAPE with `message` unless it is empty (the result of an op-checks.h check)
void check_shape(Napi::Env env, const std::string& message);

// tensor length >= needed (ERR_SHAPE); also needed <= MAX_KERNEL_ELEMENTS
template <class Storage>
void check_length_at_least(Napi::Env env, const Storage& tensor, int64_t needed, const std::string& name) {
  check_shape(env, at_least_message(tensor.length, needed, name));
}
// tensor length == needed (ERR_SHAPE)
template <class Storage>
void check_length_exact(Napi::Env env, const Storage& tensor, int64_t needed, const std::string& name) {
  check_shape(env, exact_message(tensor.length, needed, name));
}
// ERR_ARG when output is the same buffer as input (for kernels that cannot work in place)
template <class Storage>
void check_distinct(Napi::Env env, const Storage& output, const Storage& input, const std::string& output_name,
                    const std::string& input_name) {
  if (&output == &input)
    throw_expected(env, "ERR_ARG", "a NativeTensor other than " + input_name, output_name, "the same NativeTensor");
}

// output is none of the op's other tensors (kernels that cannot work in place); a null one is skipped
template <class Storage>
void check_output_distinct(Napi::Env env, const Storage& output, const Storage* input, const Storage* weight,
                           const Storage* bias, const std::string& output_name) {
  if (input) check_distinct(env, output, *input, output_name, "input");
  if (weight) check_distinct(env, output, *weight, output_name, "weight");
  if (bias) check_distinct(env, output, *bias, output_name, "bias");
}

// the element counts of an op's tensors for the op-checks.h checks (-1 for a null one)
template <class Storage>
op_buffers buffers_of(const Storage* input, const Storage* weight, const Storage* bias, const Storage* output) {
  const auto count = [](const Storage* t) { return t ? static_cast<int64_t>(t->length) : int64_t{-1}; };
  return op_buffers{count(input), count(weight), count(bias), count(output)};
}
template <class Storage>
op_buffers buffers_of(const Storage* input, const Storage* output) {
  return buffers_of<Storage>(input, nullptr, nullptr, output);
}

// the arguments fromFile(device, path, byteOffset, length) shares between the addons (all but device)
struct from_file_request {
  std::string path;
  int64_t byte_offset, length;
};
from_file_request arg_from_file(Napi::Env env, const Napi::CallbackInfo& info);

}  // namespace alexnet
