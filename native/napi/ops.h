// The functions addon.cc exports, one per Binding member of lib/native.ts, except the ops (conv2d(),
// runPlan(), ...: napi/run-plan.h). Each checks all of its arguments (types, dims, buffer lengths,
// devices) and then hands plain data to native/kernels.
#pragma once

#include <napi.h>

namespace alexnet {

// applies ALEXNET_CLI_ISA (avx512 | avx2 | portable | auto); throws ERR_ARG / ERR_ISA
void isa_init_from_env(Napi::Env env);

Napi::Value op_backends(const Napi::CallbackInfo& info);
Napi::Value op_cpu_features(const Napi::CallbackInfo& info);
Napi::Value op_set_isa(const Napi::CallbackInfo& info);
Napi::Value op_set_threads(const Napi::CallbackInfo& info);
Napi::Value op_get_threads(const Napi::CallbackInfo& info);

Napi::Value op_alloc(const Napi::CallbackInfo& info);
Napi::Value op_from_file(const Napi::CallbackInfo& info);  // in from-file.cc

Napi::Value op_pack_linear(const Napi::CallbackInfo& info);
Napi::Value op_unpack_linear(const Napi::CallbackInfo& info);
Napi::Value op_linear_weight_info(const Napi::CallbackInfo& info);
Napi::Value op_set_linear_activation_quant(const Napi::CallbackInfo& info);
Napi::Value op_int8_gemm_i32(const Napi::CallbackInfo& info);
Napi::Value op_peak_gflops(const Napi::CallbackInfo& info);
Napi::Value op_memory_bandwidth(const Napi::CallbackInfo& info);
Napi::Value op_pack_conv(const Napi::CallbackInfo& info);
Napi::Value op_unpack_conv(const Napi::CallbackInfo& info);
Napi::Value op_pack_quantized(const Napi::CallbackInfo& info);

}  // namespace alexnet
