// Bindings of the native preprocessing (preprocess.h). TypeScript computes the geometry and the
// ToTensor/Normalize table (lib/image/preprocess.ts); this only re-checks what would overflow a buffer.
//
//   resizeCropRgb(rgb: Uint8Array, geometry: Int32Array(8)): Buffer
//     synchronous, for the synchronous resizeAndCrop() (a few hundred microseconds for 500x375 -> 224x224)
//   decodePreprocessJpeg(data: Uint8Array, geometry: Int32Array(10), lut: Float32Array(768)): Promise<Float32Array>
//     decode + EXIF orientation + resize + crop + ToTensor/Normalize on a libuv worker thread
//
// geometry: [inWidth, inHeight, resizedWidth, resizedHeight, cropTop, cropLeft, outHeight, outWidth,
//            orientation, bgr] (the last two for decodePreprocessJpeg only; in* after orientation)
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/preprocess.h"
#include "napi/errors.h"

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

// resizeCropRgb(rgb, geometry): Buffer of outHeight * outWidth * 3
Napi::Value image_resize_crop_rgb_op(const Napi::CallbackInfo& info) {
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

class decode_preprocess_worker : public Napi::AsyncWorker {
 public:
  decode_preprocess_worker(Napi::Env env, const uint8_t* data, size_t size, const image_geometry& g,
                           int orientation, bool bgr, const float* lut)
      : Napi::AsyncWorker(env, "alexnet:decodePreprocessJpeg"),
        deferred_(Napi::Promise::Deferred::New(env)),
        input_(data, data + size),
        geometry_(g),
        orientation_(orientation),
        lut_(lut, lut + 3 * 256) {
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
    // the result's own memory, handed to JS as it is (OnOK): image_resize_crop_tensor writes every element
    tensor_length_ = static_cast<size_t>(3) * geometry_.out_height * geometry_.out_width;
    tensor_.reset(static_cast<float*>(std::malloc(tensor_length_ * sizeof(float))));
    if (!tensor_) {
      SetError("out of memory for the " + std::to_string(tensor_length_ * sizeof(float)) + "-byte tensor");
      return;
    }
    image_resize_crop_tensor(rgb.data(), geometry_, lut_.data(), source_, tensor_.get());
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, tensor_.get(), tensor_length_ * sizeof(float),
                                                      [](Napi::Env, void* data) { std::free(data); });
    tensor_.release();
    deferred_.Resolve(Napi::Float32Array::New(env, tensor_length_, buffer, 0));
  }

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
  struct free_deleter {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, free_deleter> tensor_;
  size_t tensor_length_ = 0;
};

// decodePreprocessJpeg(data, geometry, lut): Promise<Float32Array [3, outHeight, outWidth]>
Napi::Value image_decode_preprocess_jpeg_op(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array data = preprocess_arg_array<Napi::Uint8Array>(env, info[0], napi_uint8_array, "a Uint8Array", "data");
  const image_geometry g = preprocess_arg_geometry(env, info[1], 10);
  const int32_t* extra = info[1].As<Napi::Int32Array>().Data() + 8;
  Napi::Float32Array lut = preprocess_arg_array<Napi::Float32Array>(env, info[2], napi_float32_array, "a Float32Array", "lut");
  if (lut.ElementLength() != 3 * 256) {
    alexnet::throw_expected(env, "ERR_ARG", "a Float32Array of 768", "lut", alexnet::describe_value(info[2]));
  }
  auto* worker = new decode_preprocess_worker(env, data.Data(), data.ByteLength(), g, extra[0], extra[1] != 0, lut.Data());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace

void image_register_preprocess(Napi::Env env, Napi::Object exports) {
  exports.Set("resizeCropRgb", Napi::Function::New(env, image_resize_crop_rgb_op, "resizeCropRgb"));
  exports.Set("decodePreprocessJpeg", Napi::Function::New(env, image_decode_preprocess_jpeg_op, "decodePreprocessJpeg"));
}
