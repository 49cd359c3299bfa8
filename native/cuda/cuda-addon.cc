// The exports table of alexnet_cuda.node: the members of the Binding interface in lib/native.ts that
// a compute backend provides (lib/native.ts adds the host-CPU ones: cpuFeatures, setIsa, threads),
// plus devices(), cudaInfo() and set/getPrecision(). The ops (runPlan and the single ops) come from the
// op table both addons share (native/napi/op-table.h). Loading it makes no CUDA call: the static CUDA
// runtime opens the driver on the first call, so a machine without one can still load it.
#include <napi.h>

#include "cuda/cuda-ops.h"
#include "cuda/cuda-plan.h"
#include "cuda/cuda-tensor.h"
#include "napi/backend-exports.h"

namespace alexnet {
namespace cuda_napi {

Napi::Object addon_init(Napi::Env env, Napi::Object exports) {
  precision_init_from_env(env);
  CudaTensor::init_class(env);

  export_backend_functions(env, exports, {op_backends, op_alloc, op_from_file});
  exports.Set("devices", Napi::Function::New(env, op_devices, "devices"));
  exports.Set("cudaInfo", Napi::Function::New(env, op_cuda_info, "cudaInfo"));
  exports.Set("setPrecision", Napi::Function::New(env, op_set_precision, "setPrecision"));
  exports.Set("getPrecision", Napi::Function::New(env, op_get_precision, "getPrecision"));

  // runPlan and the single ops conv2d, maxPool2d, avgPool2d, lrn, linear, softmax, adaptiveAvgPool2d, relu:
  // one export per op of the table both addons share (native/napi/op-table.h)
  export_cuda_ops(env, exports);
  return exports;
}

}  // namespace cuda_napi
}  // namespace alexnet

static Napi::Object init(Napi::Env env, Napi::Object exports) { return alexnet::cuda_napi::addon_init(env, exports); }

NODE_API_MODULE(alexnet_cuda, init)
