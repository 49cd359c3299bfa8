// The exports table of alexnet_native.node, one entry per member of the Binding interface in
// lib/native.ts. Argument checks live in napi/, the computation in kernels/.
#include <napi.h>

#include "napi/native-tensor.h"
#include "napi/ops.h"
#include "napi/run-plan.h"

#ifdef ALEXNET_HAVE_JPEG
#include "image/image.h"
#endif

#ifndef ALEXNET_VERSION
#define ALEXNET_VERSION "0.0.0"
#endif

namespace alexnet {

Napi::Object addon_init(Napi::Env env, Napi::Object exports) {
  isa_init_from_env(env);
  NativeTensor::init_class(env);

  exports.Set("version", Napi::String::New(env, ALEXNET_VERSION));
  exports.Set("backends", Napi::Function::New(env, op_backends, "backends"));
  exports.Set("cpuFeatures", Napi::Function::New(env, op_cpu_features, "cpuFeatures"));
  exports.Set("setIsa", Napi::Function::New(env, op_set_isa, "setIsa"));
  exports.Set("setThreads", Napi::Function::New(env, op_set_threads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, op_get_threads, "getThreads"));

  exports.Set("alloc", Napi::Function::New(env, op_alloc, "alloc"));
  exports.Set("fromFile", Napi::Function::New(env, op_from_file, "fromFile"));

  exports.Set("conv2d", Napi::Function::New(env, op_conv2d, "conv2d"));
  exports.Set("maxPool2d", Napi::Function::New(env, op_max_pool2d, "maxPool2d"));
  exports.Set("avgPool2d", Napi::Function::New(env, op_avg_pool2d, "avgPool2d"));
  exports.Set("lrn", Napi::Function::New(env, op_lrn, "lrn"));
  exports.Set("linear", Napi::Function::New(env, op_linear, "linear"));
  exports.Set("softmax", Napi::Function::New(env, op_softmax, "softmax"));
  exports.Set("adaptiveAvgPool2d", Napi::Function::New(env, op_adaptive_avg_pool2d, "adaptiveAvgPool2d"));
  exports.Set("relu", Napi::Function::New(env, op_relu, "relu"));
  exports.Set("packLinear", Napi::Function::New(env, op_pack_linear, "packLinear"));
  exports.Set("unpackLinear", Napi::Function::New(env, op_unpack_linear, "unpackLinear"));
  exports.Set("linearWeightInfo", Napi::Function::New(env, op_linear_weight_info, "linearWeightInfo"));
  exports.Set("setLinearActivationQuant", Napi::Function::New(env, op_set_linear_activation_quant, "setLinearActivationQuant"));
  exports.Set("int8GemmI32", Napi::Function::New(env, op_int8_gemm_i32, "int8GemmI32"));
  exports.Set("peakGflops", Napi::Function::New(env, op_peak_gflops, "peakGflops"));
  exports.Set("memoryBandwidth", Napi::Function::New(env, op_memory_bandwidth, "memoryBandwidth"));
  exports.Set("runPlan", Napi::Function::New(env, op_run_plan, "runPlan"));
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
