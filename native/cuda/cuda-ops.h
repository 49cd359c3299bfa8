// The functions cuda-addon.cc exports, one per Binding member of lib/native.ts (CUDA side). The
// checks are those of native/napi/ops.cc, with the same messages; tensors must all be on one GPU.
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

Napi::Value op_conv2d(const Napi::CallbackInfo& info);
Napi::Value op_max_pool2d(const Napi::CallbackInfo& info);
Napi::Value op_avg_pool2d(const Napi::CallbackInfo& info);
Napi::Value op_lrn(const Napi::CallbackInfo& info);
Napi::Value op_linear(const Napi::CallbackInfo& info);
Napi::Value op_softmax(const Napi::CallbackInfo& info);
Napi::Value op_adaptive_avg_pool2d(const Napi::CallbackInfo& info);
Napi::Value op_relu(const Napi::CallbackInfo& info);

}  // namespace cuda_napi
}  // namespace alexnet
