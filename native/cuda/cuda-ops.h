// The functions cuda-addon.cc exports, one per Binding member of lib/native.ts (CUDA side), except the
// ops (cuda/cuda-plan.h). Argument errors in the one format of native/napi/errors.h.
#pragma once

#include <napi.h>

namespace alexnet {
namespace cuda_napi {

// applies ALEXNET_CLI_CUDA_PRECISION (fp32 | tf32 | bf16) at load; throws ERR_ARG
void precision_init_from_env(Napi::Env env);

Napi::Value op_backends(const Napi::CallbackInfo& info);
Napi::Value op_devices(const Napi::CallbackInfo& info);
Napi::Value op_cuda_info(const Napi::CallbackInfo& info);
Napi::Value op_set_precision(const Napi::CallbackInfo& info);
Napi::Value op_get_precision(const Napi::CallbackInfo& info);

Napi::Value op_alloc(const Napi::CallbackInfo& info);
Napi::Value op_from_file(const Napi::CallbackInfo& info);  // in cuda-from-file.cc

}  // namespace cuda_napi
}  // namespace alexnet
