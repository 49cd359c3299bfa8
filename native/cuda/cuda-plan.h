// The op exports of alexnet_cuda.node, as the CPU addon's (native/napi/run-plan.h): runPlan and the
// single ops (each a one-record plan), from the same op table (native/napi/op-table.h, CUDA column) and
// the same checks and messages. All tensors of a call must be on one GPU.
#pragma once

#include <napi.h>

namespace alexnet {
namespace cuda_napi {

// runPlan (resolving with the GPU ns between events around the ops) and the single ops, one per op of the
// table, added to the addon's exports
void export_cuda_ops(Napi::Env env, Napi::Object exports);

}  // namespace cuda_napi
}  // namespace alexnet
