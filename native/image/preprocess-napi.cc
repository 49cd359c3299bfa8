// Bindings of the native preprocessing (preprocess.h). TypeScript computes the geometry and the
// ToTensor/Normalize table (lib/image/preprocess.ts); this only re-checks what would overflow a buffer.
//
//   resizeCropRgb(rgb: Uint8Array, geometry: Int32Array(8)): Buffer
//     synchronous, for the synchronous resizeAndCrop() (a few hundred microseconds for 500x375 -> 224x224)
//   decodePreprocessJpeg(data: Uint8Array, geometry: Int32Array(10), lut: Float32Array(768),
//                        out: NativeTensor | Float32Array, offset: number): Promise<void>
//     decode + EXIF orientation + resize + crop + ToTensor/Normalize on a libuv worker thread, written
//     straight into the model's input tensor (or a batch buffer) at an element offset
//
// geometry: [inWidth, inHeight, resizedWidth, resizedHeight, cropTop, cropLeft, outHeight, outWidth,
//            orientation, bgr] (the last two for decodePreprocessJpeg only; in* after orientation)
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/preprocess.h"
#include "napi/args.h"
#include "napi/errors.h"
#include "napi/native-tensor.h"

namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 30;

template <typename Array>
Array preprocess_arg_array(Napi::Env env, const Napi::Value& value, napi_typedarray_type type, const char* what,
                           const char* name) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    alexnet::throw_expected(env, "ERR_ARG", what, name, alexnet::describe_value(value));
  }
  return value.As<Array>();
}

image_geometry preprocess_arg_geometry(Napi::Env env, const Napi::Value& value, size_t length) {
  Napi::Int32Array dims = preprocess_arg_array<Napi::Int32Array>(env, value, napi_int32_array, "an Int32Array", "geometry");
  if (dims.ElementLength() != length) {
    alexnet::throw_expected(env, "ERR_ARG", "an Int32Array of " + std::to_string(length), "geometry",
                            alexnet::describe_value(value));
  }
  const int32_t* d = dims.Data();
  image_geometry g{d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]};
  const int64_t sizes[] = {g.in_width, g.in_height, g.resized_width, g.resized_height, g.out_height, g.out_width};
  for (int64_t size : sizes) {
    if (size < 1) alexnet::throw_expected(env, "ERR_ARG", "positive sizes", "geometry", std::to_string(size));
  }
  if (int64_t{g.in_width} * g.in_height > kMaxPixels || int64_t{g.resized_width} * g.resized_height > kMaxPixels ||
      int64_t{g.out_width} * g.out_height > kMaxPixels) {
    alexnet::throw_expected(env, "ERR_ARG", "at most 2^30 pixels", "geometry", "a larger image");
  }
  return g;
}

// Where decodePreprocessJpeg writes: a NativeTensor (its storage kept alive by the shared pointer while
// the worker runs, even if JS disposes the handle) or a Float32Array (kept from GC by a reference; the
// caller must not transfer its buffer while the Promise is pending).
struct preprocess_target {
  std::shared_ptr<alexnet::tensor_storage> tensor;
  Napi::ObjectReference array;
  float* data = nullptr;
};

class decode_preprocess_worker : public Napi::AsyncWorker {
 public:
  decode_preprocess_worker(Napi::Env env, const uint8_t* data, size_t size, const image_geometry& g,
                           int orientation, bool bgr, const float* lut, preprocess_target target)
      : Napi::AsyncWorker(env, "alexnet:decodePreprocessJpeg"),
        deferred_(Napi::Promise::Deferred::New(env)),
        input_(data, data + size),
        geometry_(g),
        orientation_(orientation),
        lut_(lut, lut + 3 * 256),
        target_(std::move(target)) {
    source_[0] = bgr ? 2 : 0;
    source_[1] = 1;
    source_[2] = bgr ? 0 : 2;
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string error;
    int width = 0, height = 0;
    // decoded pixels in a buffer each libuv thread keeps (no fresh pages per image, as score decodes
    // thousands), given back after an image of more than 16 MB
    thread_local std::vector<uint8_t> rgb;
    struct release_large {
      ~release_large() {
        if (rgb.capacity() > (size_t{16} << 20)) std::vector<uint8_t>().swap(rgb);
      }
    } release;
    if (!jpeg_decode_rgb(input_.data(), input_.size(), &width, &height, &rgb, &error)) {
      SetError(error);
      return;
    }
    input_ = std::vector<uint8_t>();
    if (orientation_ >= 2 && orientation_ <= 8) {
      std::vector<uint8_t> oriented;
      image_orient_rgb(rgb, &width, &height, orientation_, &oriented);
      rgb.swap(oriented);
    }
    // the geometry was computed from the frame header: a mismatch would read past the pixels
    if (width != geometry_.in_width || height != geometry_.in_height) {
      SetError("decoded " + std::to_string(width) + "x" + std::to_string(height) + " but the header said " +
               std::to_string(geometry_.in_width) + "x" + std::to_string(geometry_.in_height));
      return;
    }
    // straight into the destination (checked on the JS thread to hold 3 * outHeight * outWidth from the
    // offset): image_resize_crop_tensor writes every element of the window
    image_resize_crop_tensor(rgb.data(), geometry_, lut_.data(), source_, target_.data);
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

  void OnError(const Napi::Error& e) override {
    deferred_.Reject(alexnet::make_error(Env(), "ERR_IMAGE", e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> input_;
  image_geometry geometry_;
  int orientation_;
  int source_[3];
  std::vector<float> lut_;
  preprocess_target target_;
};

}  // namespace

// resizeCropRgb(rgb, geometry): Buffer of outHeight * outWidth * 3
Napi::Value alexnet::op_resize_crop_rgb(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array rgb = preprocess_arg_array<Napi::Uint8Array>(env, info[0], napi_uint8_array, "a Uint8Array", "rgb");
  const image_geometry g = preprocess_arg_geometry(env, info[1], 8);
  const int64_t needed = int64_t{g.in_width} * g.in_height * 3;
  if (static_cast<int64_t>(rgb.ByteLength()) < needed) {
    alexnet::throw_expected(env, "ERR_SHAPE", "at least " + std::to_string(needed) + " bytes", "rgb",
                            std::to_string(rgb.ByteLength()));
  }
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(g.out_height) * g.out_width * 3);
  image_resize_crop_rgb(rgb.Data(), g, out.Data());
  return out;
}

// decodePreprocessJpeg(data, geometry, lut, out, offset): Promise<void>, [3, outHeight, outWidth] written at
// element `offset` of out (a CPU NativeTensor or a Float32Array), whose length is checked here: a wrong one
// from JS would be a heap overflow
Napi::Value alexnet::op_decode_preprocess_jpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array data = preprocess_arg_array<Napi::Uint8Array>(env, info[0], napi_uint8_array, "a Uint8Array", "data");
  const image_geometry g = preprocess_arg_geometry(env, info[1], 10);
  const int32_t* extra = info[1].As<Napi::Int32Array>().Data() + 8;
  Napi::Float32Array lut = preprocess_arg_array<Napi::Float32Array>(env, info[2], napi_float32_array, "a Float32Array", "lut");
  if (lut.ElementLength() != 3 * 256) {
    alexnet::throw_expected(env, "ERR_ARG", "a Float32Array of 768", "lut", alexnet::describe_value(info[2]));
  }
  preprocess_target target;
  size_t length = 0;
  if (info[3].IsTypedArray()) {
    Napi::Float32Array array = preprocess_arg_array<Napi::Float32Array>(env, info[3], napi_float32_array, "a NativeTensor or a Float32Array", "out");
    target.data = array.Data();
    length = array.ElementLength();
    target.array = Napi::Persistent(array.As<Napi::Object>());
  } else {
    target.tensor = alexnet::arg_tensor(env, info[3], "out");
    target.data = target.tensor->data;
    length = target.tensor->length;
  }
  const int64_t offset = alexnet::arg_integer(env, info[4], "offset", 0, INT64_MAX);
  const int64_t needed = int64_t{3} * g.out_height * g.out_width;
  if (offset < 0 || offset > static_cast<int64_t>(length) || static_cast<int64_t>(length) - offset < needed) {
    alexnet::throw_expected(env, "ERR_SHAPE", "room for " + std::to_string(needed) + " elements at offset " +
                            std::to_string(offset), "out", std::to_string(length) + " elements");
  }
  target.data += offset;
  auto* worker = new decode_preprocess_worker(env, data.Data(), data.ByteLength(), g, extra[0], extra[1] != 0,
                                              lut.Data(), std::move(target));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}
