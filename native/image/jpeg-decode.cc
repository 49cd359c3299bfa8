// JPEG -> 8-bit RGB with libjpeg(-turbo), on a worker thread.
//
// The decoder settings are libjpeg's defaults (ISLOW integer IDCT, fancy upsampling, block smoothing),
// which are also what Pillow uses when it is not in draft mode, so with the same libjpeg build the
// pixels equal PIL's `Image.open(f).convert('RGB')` exactly, CMYK included.
//
// Errors: libjpeg's default error_exit calls exit(); here it longjmps back and the message becomes a
// rejected Promise (code ERR_IMAGE). libjpeg only *warns* about damaged entropy-coded data and fills
// in grey, which would quietly feed the model a broken image: those warnings are errors too.
#include "image/image.h"
#include "image/preprocess.h"
#include "napi/errors.h"

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <jpeglib.h>
#include <jerror.h>

namespace {

struct jpeg_decoded {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

struct jpeg_error_state {
  jpeg_error_mgr mgr;  // first member: libjpeg hands us &mgr as cinfo->err
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool damaged;
};

void jpeg_on_error_exit(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<jpeg_error_state*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, state->message);
  std::longjmp(state->jump, 1);
}

// Warnings that mean pixels were lost (libjpeg substitutes grey or skips data). Others, such as an
// unknown JFIF revision or "extraneous bytes before marker", are tolerated as Pillow tolerates them.
bool jpeg_warning_loses_data(int code) {
  return code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
         code == JWRN_MUST_RESYNC;
}

void jpeg_on_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* state = reinterpret_cast<jpeg_error_state*>(cinfo->err);
  cinfo->err->num_warnings++;
  if (!state->damaged && jpeg_warning_loses_data(cinfo->err->msg_code)) {
    state->damaged = true;
    (*cinfo->err->format_message)(cinfo, state->message);
  }
}

// Pillow 9.4 Convert.c cmyk2rgb: nk = 255 - k; out = nk - MULDIV255(c, nk)
inline uint8_t cmyk_channel_to_rgb(int c, int k) {
  int nk = 255 - k;
  int tmp = c * nk + 128;
  int v = nk - (((tmp >> 8) + tmp) >> 8);
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// Returns false with `error` set; never longjmps out. Kept free of C++ objects with destructors
// between setjmp and the libjpeg calls, so the jump skips nothing.
bool jpeg_decode_into(const uint8_t* data, size_t size, jpeg_decoded* out, std::string* error) {
  jpeg_decompress_struct cinfo;
  jpeg_error_state state;
  state.message[0] = '\0';
  state.damaged = false;
  cinfo.err = jpeg_std_error(&state.mgr);
  state.mgr.error_exit = jpeg_on_error_exit;
  state.mgr.emit_message = jpeg_on_emit_message;
  if (setjmp(state.jump)) {
    jpeg_destroy_decompress(&cinfo);
    *error = state.message;
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);

  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  // grey comes out replicated to RGB, as PIL's L -> RGB conversion does
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);

  const int width = static_cast<int>(cinfo.output_width);
  const int height = static_cast<int>(cinfo.output_height);
  const int channels = cinfo.output_components;
  // JS checks the size limit from the frame header first; this only guards the arithmetic
  if (static_cast<uint64_t>(width) * height > (uint64_t{1} << 30)) {
    jpeg_destroy_decompress(&cinfo);
    *error = "image too large";
    return false;
  }
  out->width = width;
  out->height = height;
  out->rgb.resize(static_cast<size_t>(width) * height * 3);
  std::vector<uint8_t>& rgb = out->rgb;
  std::vector<uint8_t> row(cmyk ? static_cast<size_t>(width) * channels : 0);
  // Photoshop (Adobe marker) stores CMYK inverted; PIL reads it with rawmode "CMYK;I"
  const bool inverted = cinfo.saw_Adobe_marker;

  while (cinfo.output_scanline < cinfo.output_height) {
    const size_t y = cinfo.output_scanline;
    JSAMPROW dst = cmyk ? row.data() : rgb.data() + y * width * 3;
    jpeg_read_scanlines(&cinfo, &dst, 1);
    if (cmyk) {
      uint8_t* line = rgb.data() + y * width * 3;
      for (int x = 0; x < width; x++) {
        int c = row[x * 4], m = row[x * 4 + 1], ye = row[x * 4 + 2], k = row[x * 4 + 3];
        if (inverted) {
          c = 255 - c;
          m = 255 - m;
          ye = 255 - ye;
          k = 255 - k;
        }
        line[x * 3] = cmyk_channel_to_rgb(c, k);
        line[x * 3 + 1] = cmyk_channel_to_rgb(m, k);
        line[x * 3 + 2] = cmyk_channel_to_rgb(ye, k);
      }
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (state.damaged) {
    *error = state.message;
    return false;
  }
  return true;
}

class jpeg_decode_worker : public Napi::AsyncWorker {
 public:
  jpeg_decode_worker(Napi::Env env, const uint8_t* data, size_t size)
      : Napi::AsyncWorker(env, "alexnet:decodeJpeg"),
        deferred_(Napi::Promise::Deferred::New(env)),
        input_(data, data + size) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string error;
    if (!jpeg_decode_into(input_.data(), input_.size(), &decoded_, &error)) SetError(error);
    input_.clear();
    input_.shrink_to_fit();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("width", Napi::Number::New(env, decoded_.width));
    result.Set("height", Napi::Number::New(env, decoded_.height));
    result.Set("data", Napi::Buffer<uint8_t>::Copy(env, decoded_.rgb.data(), decoded_.rgb.size()));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& e) override {
    Napi::Error err = Napi::Error::New(Env(), e.Message());
    err.Value().Set("code", Napi::String::New(Env(), "ERR_IMAGE"));
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> input_;
  jpeg_decoded decoded_;
};

}  // namespace

// decodeJpeg(data: Uint8Array): Promise<{ width, height, data: Buffer }>
Napi::Value alexnet::op_decode_jpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    alexnet::throw_expected(env, "ERR_ARG", "a Uint8Array", "data", alexnet::describe_value(info[0]));
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  auto* worker = new jpeg_decode_worker(env, bytes.Data(), bytes.ByteLength());
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

bool jpeg_decode_rgb(const uint8_t* data, size_t size, int* width, int* height,
                     std::vector<uint8_t>* rgb, std::string* error) {
  jpeg_decoded decoded;
  decoded.rgb.swap(*rgb);  // decode into the caller's buffer: a reused one needs no new pages
  const bool ok = jpeg_decode_into(data, size, &decoded, error);
  decoded.rgb.swap(*rgb);
  if (!ok) return false;
  *width = decoded.width;
  *height = decoded.height;
  return true;
}
