// The op exports of alexnet_native.node: runPlan(program, scalars, tensors, times), a whole forward pass
// in ONE AsyncWorker call, and the single ops (conv2d(), maxPool2d(), ...), each a one-record plan. Both
// are napi/plan-call.h on the CPU backend: records checked with the op table (napi/op-table.h, which also
// documents the record layout) before anything runs, then run back to back on the kernel thread pool.
#pragma once

#include <napi.h>

namespace alexnet {

// Promise<number>: total native ns; times (Float64Array or null) receives each op's ns in order
Napi::Value op_run_plan(const Napi::CallbackInfo& info);

Napi::Value op_conv2d(const Napi::CallbackInfo& info);
Napi::Value op_max_pool2d(const Napi::CallbackInfo& info);
Napi::Value op_avg_pool2d(const Napi::CallbackInfo& info);
Napi::Value op_lrn(const Napi::CallbackInfo& info);
Napi::Value op_linear(const Napi::CallbackInfo& info);
Napi::Value op_softmax(const Napi::CallbackInfo& info);
Napi::Value op_adaptive_avg_pool2d(const Napi::CallbackInfo& info);
Napi::Value op_relu(const Napi::CallbackInfo& info);

}  // namespace alexnet
