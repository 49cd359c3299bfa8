// One format for every error users see (sharp lib/is.js):
//   Expected <what> for <name> but received <value>
// with a `code` property: ERR_SHAPE, ERR_ARG, ERR_ALLOC, ERR_ISA, ERR_DISPOSED, ERR_DEVICE, ERR_IO, ERR_CUDA.
// Compiled into both addons (the CPU one and the CUDA one).
#pragma once

#include <napi.h>

#include <string>

#include "napi/op-checks.h"  // expected_message, op_error

namespace alexnet {

Napi::Error make_error(Napi::Env env, const char* code, const std::string& message);

// throws a JS Error (as Napi::Error) with the code and the message above
[[noreturn]] void throw_expected(Napi::Env env, const char* code, const std::string& what, const std::string& name,
                                 const std::string& received);

// how a received value is shown: 12, 'text', undefined, null, true, Int32Array(15), NativeTensor(100)
std::string describe_value(const Napi::Value& value);

// how a tensor of this addon is shown ("NativeTensor(100)", "a disposed NativeTensor"), "" for any other
// object: defined once per addon, next to its tensor class (native-tensor.cc, cuda-tensor.cc), so this
// file compiles into both addons without either tensor class
std::string describe_tensor(const Napi::Value& value);

}  // namespace alexnet
