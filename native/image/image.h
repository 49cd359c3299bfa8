// Image decoders linked into the addon when their libraries were found at configure time
// (native/image/image.cmake). addon.cc calls image_register() under #ifdef ALEXNET_HAVE_JPEG.
#pragma once

#include <napi.h>

// Adds decodeJpeg(data: Uint8Array) -> Promise<{ width, height, data: Buffer (RGB) }> to exports.
// Also adds the native preprocessing of preprocess-napi.cc (image_register_preprocess).
void image_register(Napi::Env env, Napi::Object exports);

// resizeCropRgb(rgb, geometry) and decodePreprocessJpeg(data, geometry, lut) (preprocess-napi.cc).
void image_register_preprocess(Napi::Env env, Napi::Object exports);
