// The CUDA-only errors and argument checks of the CUDA addon (CUDA errors, devices, its tensors), in the
// one format of native/napi/errors.h. Everything device-neutral comes from native/napi/args.h, which is
// compiled into this addon as well.
#pragma once

#include <napi.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>

#include "napi/args.h"
#include "napi/errors.h"

namespace alexnet {
namespace cuda_napi {

struct device_storage;

// "cudaErrorMemoryAllocation (out of memory)"
std::string cuda_error_text(cudaError_t error);
// the ERR_CUDA message for a failed CUDA call made for `what` ("conv2d on cuda:0")
std::string cuda_error_message(const std::string& what, cudaError_t error);
// throws ERR_CUDA (clearing a non-sticky error first, so later calls are not blamed for it)
[[noreturn]] void throw_cuda(Napi::Env env, const std::string& what, cudaError_t error);

// 'cuda' (device 0) or 'cuda:N' with N below the device count; ERR_DEVICE / ERR_CUDA otherwise
int arg_device(Napi::Env env, const Napi::Value& value, const std::string& name);

// a live NativeTensor of this addon: ERR_ARG (not a tensor), ERR_DISPOSED, ERR_DEVICE (a CPU tensor, or
// one on another GPU than `device`; device < 0 accepts any GPU)
std::shared_ptr<device_storage> arg_tensor(Napi::Env env, const Napi::Value& value, const std::string& name, int device);
std::shared_ptr<device_storage> arg_tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name,
                                                   int device);

}  // namespace cuda_napi
}  // namespace alexnet
