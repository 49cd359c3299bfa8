// Image decoders linked into the addon when their libraries were found at configure time
// (native/image/image.cmake). addon.cc calls image_register() under #ifdef ALEXNET_HAVE_JPEG.
#pragma once

#include <napi.h>

// Adds decodeJpeg(data: Uint8Array) -> Promise<{ width, height, data: Buffer (RGB) }> to exports.
void image_register(Napi::Env env, Napi::Object exports);
