// The op exports of alexnet_cuda.node, as the CPU addon's (native/napi/run-plan.h): runPlan and the
// single ops (each a one-record plan), from the same op table (native/napi/op-table.h, CUDA column) and
// the same checks and messages. All tensors of a call must be on one GPU.
#pragma once

#include <napi.h>

namespace alexnet {
namespace cuda_napi {

// Promise<number>: total GPU ns between events around the ops; times receives each op's ns in order
Napi::Value op_run_plan(const Napi::CallbackInfo& info);

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
