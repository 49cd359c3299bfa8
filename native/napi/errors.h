// One format for every error users see (sharp lib/is.js):
//   Expected <what> for <name> but received <value>
// with a `code` property: ERR_SHAPE, ERR_ARG, ERR_ALLOC, ERR_ISA, ERR_DISPOSED, ERR_DEVICE, ERR_IO.
#pragma once

#include <napi.h>

#include <string>

namespace alexnet {

// "Expected <what> for <name> but received <received>"
std::string expected_message(const std::string& what, const std::string& name, const std::string& received);

Napi::Error make_error(Napi::Env env, const char* code, const std::string& message);

// throws a JS Error (as Napi::Error) with the code and the message above
[[noreturn]] void throw_expected(Napi::Env env, const char* code, const std::string& what, const std::string& name,
                                 const std::string& received);

// how a received value is shown: 12, 'text', undefined, null, true, Int32Array(15), NativeTensor(100)
std::string describe_value(const Napi::Value& value);

// An error raised on a worker thread (no JS there); turned into a JS Error on the main thread.
struct op_error {
  const char* code;
  std::string message;
};

}  // namespace alexnet
