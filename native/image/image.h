// The image functions of alexnet_native.node, linked in when libjpeg(-turbo) was found at configure
// time (native/image/image.cmake defines ALEXNET_HAVE_JPEG). addon.cc lists them in its exports table;
// lib/native.ts declares them in Binding (decodeJpeg, resizeCropRgb, decodePreprocessJpeg).
#pragma once

#include <napi.h>

namespace alexnet {

// decodeJpeg(data: Uint8Array): Promise<{ width, height, data: Buffer (RGB) }>  (jpeg-decode.cc)
Napi::Value op_decode_jpeg(const Napi::CallbackInfo& info);

// resizeCropRgb(rgb: Uint8Array, geometry: Int32Array(8)): Buffer  (preprocess-napi.cc)
Napi::Value op_resize_crop_rgb(const Napi::CallbackInfo& info);

// decodePreprocessJpeg(data, geometry: Int32Array(10), lut: Float32Array(768), out: NativeTensor | Float32Array,
//                      offset: number): Promise<void>, writing [3, outHeight, outWidth] at element `offset` of out
// (preprocess-napi.cc)
Napi::Value op_decode_preprocess_jpeg(const Napi::CallbackInfo& info);

}  // namespace alexnet
