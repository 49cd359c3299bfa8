// Errors and argument checks of the CUDA addon, in the one format of native/napi/errors.h:
//   Expected <what> for <name> but received <value>
// (a copy of the backend-neutral part of native/napi/args.cc: those files also compile in the
// CPU tensor class, which this addon must not link; see docs/cuda.md).
#pragma once

#include <napi.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace alexnet {
namespace cuda_napi {

struct device_storage;

constexpr double MAX_SAFE_INTEGER = 9007199254740991.0;
constexpr int64_t MAX_KERNEL_ELEMENTS = 2147483647;
constexpr int32_t MAX_DIM = 16777216;

std::string expected_message(const std::string& what, const std::string& name, const std::string& received);
Napi::Error make_error(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void throw_expected(Napi::Env env, const char* code, const std::string& what, const std::string& name,
                                 const std::string& received);
std::string describe_value(const Napi::Value& value);

// "cudaErrorMemoryAllocation (out of memory)"
std::string cuda_error_text(cudaError_t error);
// the ERR_CUDA message for a failed CUDA call made for `what` ("conv2d on cuda:0")
std::string cuda_error_message(const std::string& what, cudaError_t error);
// throws ERR_CUDA (clearing a non-sticky error first, so later calls are not blamed for it)
[[noreturn]] void throw_cuda(Napi::Env env, const std::string& what, cudaError_t error);

// An error raised on a worker thread (no JS there); turned into a JS Error on the main thread.
struct op_error {
  const char* code;
  std::string message;
};

int64_t arg_integer(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi);
int64_t arg_integer_or(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t lo, int64_t hi,
                       int64_t fallback);
bool arg_boolean(Napi::Env env, const Napi::Value& value, const std::string& name);
float arg_finite_float(Napi::Env env, const Napi::Value& value, const std::string& name);
std::string arg_string(Napi::Env env, const Napi::Value& value, const std::string& name);
// 'cuda' (device 0) or 'cuda:N' with N below the device count; ERR_DEVICE / ERR_CUDA otherwise
int arg_device(Napi::Env env, const Napi::Value& value, const std::string& name);
std::vector<int32_t> arg_dims(Napi::Env env, const Napi::Value& value, size_t count, const std::string& name);
void check_dim(Napi::Env env, const std::vector<int32_t>& dims, size_t index, const char* field, bool allow_zero);

// a live NativeTensor of this addon: ERR_ARG (not a tensor), ERR_DISPOSED, ERR_DEVICE (a CPU tensor, or
// one on another GPU than `device`; device < 0 accepts any GPU)
std::shared_ptr<device_storage> arg_tensor(Napi::Env env, const Napi::Value& value, const std::string& name, int device);
std::shared_ptr<device_storage> arg_tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name,
                                                   int device);
void check_length_at_least(Napi::Env env, const device_storage& tensor, int64_t needed, const std::string& name);
void check_length_exact(Napi::Env env, const device_storage& tensor, int64_t needed, const std::string& name);
void check_distinct(Napi::Env env, const device_storage& output, const device_storage& input,
                    const std::string& output_name, const std::string& input_name);

}  // namespace cuda_napi
}  // namespace alexnet
