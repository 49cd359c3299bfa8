// The exports table of alexnet_native.node, one entry per member of the Binding interface in
// lib/native.ts. Argument checks live in napi/, the computation in kernels/.
#include <napi.h>

#include "napi/backend-exports.h"
#include "napi/native-tensor.h"
#include "napi/ops.h"
#include "napi/run-plan.h"

#ifdef ALEXNET_HAVE_JPEG
#include "image/image.h"
#endif

namespace alexnet {

Napi::Object addon_init(Napi::Env env, Napi::Object exports) {
  isa_init_from_env(env);
  NativeTensor::init_class(env);

  export_backend_functions(env, exports, {op_backends, op_alloc, op_from_file});
  exports.Set("cpuFeatures", Napi::Function::New(env, op_cpu_features, "cpuFeatures"));
  exports.Set("setIsa", Napi::Function::New(env, op_set_isa, "setIsa"));
  exports.Set("setThreads", Napi::Function::New(env, op_set_threads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, op_get_threads, "getThreads"));

  // runPlan and the single ops conv2d, maxPool2d, avgPool2d, lrn, linear, softmax, adaptiveAvgPool2d, relu:
  // one export per op of the table both addons share (napi/op-table.h)
  export_cpu_ops(env, exports);
  exports.Set("packLinear", Napi::Function::New(env, op_pack_linear, "packLinear"));
  exports.Set("unpackLinear", Napi::Function::New(env, op_unpack_linear, "unpackLinear"));
  exports.Set("linearWeightInfo", Napi::Function::New(env, op_linear_weight_info, "linearWeightInfo"));
  exports.Set("setLinearActivationQuant", Napi::Function::New(env, op_set_linear_activation_quant, "setLinearActivationQuant"));
  exports.Set("int8GemmI32", Napi::Function::New(env, op_int8_gemm_i32, "int8GemmI32"));
  exports.Set("peakGflops", Napi::Function::New(env, op_peak_gflops, "peakGflops"));
  exports.Set("memoryBandwidth", Napi::Function::New(env, op_memory_bandwidth, "memoryBandwidth"));
  exports.Set("packConv", Napi::Function::New(env, op_pack_conv, "packConv"));
  exports.Set("unpackConv", Napi::Function::New(env, op_unpack_conv, "unpackConv"));
  exports.Set("packQuantized", Napi::Function::New(env, op_pack_quantized, "packQuantized"));
#ifdef ALEXNET_HAVE_JPEG
  // native/image: libjpeg-turbo decoding and the fused decode + preprocess, when found at configure time
  exports.Set("decodeJpeg", Napi::Function::New(env, op_decode_jpeg, "decodeJpeg"));
  exports.Set("resizeCropRgb", Napi::Function::New(env, op_resize_crop_rgb, "resizeCropRgb"));
  exports.Set("decodePreprocessJpeg", Napi::Function::New(env, op_decode_preprocess_jpeg, "decodePreprocessJpeg"));
#endif
  return exports;
}

}  // namespace alexnet

static Napi::Object init(Napi::Env env, Napi::Object exports) { return alexnet::addon_init(env, exports); }

NODE_API_MODULE(alexnet_native, init)
