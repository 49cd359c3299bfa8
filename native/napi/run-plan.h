// The op exports of alexnet_native.node: runPlan(program, scalars, tensors, times), a whole forward pass
// in ONE AsyncWorker call, and the single ops (conv2d(), maxPool2d(), ...), each a one-record plan. Both
// are napi/plan-call.h on the CPU backend: records checked with the op table (napi/op-table.h, which also
// documents the record layout) before anything runs, then run back to back on the kernel thread pool.
#pragma once

#include <napi.h>

namespace alexnet {

// runPlan(program, scalars, tensors, times) -> Promise<total native ns>, and the single ops, one per op of
// the table (conv2d(), maxPool2d(), avgPool2d(), lrn(), linear(), softmax(), adaptiveAvgPool2d(), relu()),
// added to the addon's exports
void export_cpu_ops(Napi::Env env, Napi::Object exports);

}  // namespace alexnet
