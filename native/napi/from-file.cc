// fromFile(device, path, byteOffset, length): reads float32 little-endian values from a file straight
// into a new native buffer, on a libuv worker thread (weights are hundreds of MB).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "napi/args.h"
#include "napi/errors.h"
#include "napi/native-tensor.h"
#include "napi/ops.h"

namespace alexnet {
namespace {

bool seek_to(std::FILE* file, int64_t offset) {
#if defined(_WIN32)
  return _fseeki64(file, offset, SEEK_SET) == 0;
#else
  return fseeko(file, static_cast<off_t>(offset), SEEK_SET) == 0;
#endif
}

class from_file_worker : public Napi::AsyncWorker {
 public:
  from_file_worker(Napi::Env env, std::string path, int64_t byte_offset, int64_t length)
      : Napi::AsyncWorker(env, "fromFile"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        byte_offset_(byte_offset),
        length_(length) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      storage_ = std::make_shared<tensor_storage>(static_cast<size_t>(length_), false);
    } catch (const std::bad_alloc&) {
      error_ = op_error{"ERR_ALLOC", expected_message("enough free memory", "fromFile(" + std::to_string(length_) + ")",
                                                      "an allocation failure")};
      return;
    }
    std::FILE* file = std::fopen(path_.c_str(), "rb");
    if (!file) {
      error_ = op_error{"ERR_IO", expected_message("a readable file", "path", "'" + path_ + "' (" + std::strerror(errno) + ")")};
      return;
    }
    const size_t wanted = static_cast<size_t>(length_) * sizeof(float);
    size_t got = 0;
    if (!seek_to(file, byte_offset_)) {
      error_ = op_error{"ERR_IO", expected_message("a readable file", "path", "'" + path_ + "' (" + std::strerror(errno) + ")")};
      std::fclose(file);
      return;
    }
    char* dst = reinterpret_cast<char*>(storage_->data);
    while (got < wanted) {
      const size_t n = std::fread(dst + got, 1, wanted - got, file);
      if (n == 0) break;
      got += n;
    }
    std::fclose(file);
    if (got < wanted) {
      error_ = op_error{"ERR_IO", expected_message(std::to_string(wanted) + " bytes at byte offset " + std::to_string(byte_offset_),
                                                   "'" + path_ + "'", std::to_string(got) + " bytes")};
      return;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint32_t* words = reinterpret_cast<uint32_t*>(storage_->data);
    for (size_t i = 0; i < static_cast<size_t>(length_); ++i) words[i] = __builtin_bswap32(words[i]);
#endif
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_.code) {
      storage_.reset();
      deferred_.Reject(make_error(env, error_.code, error_.message).Value());
      return;
    }
    try {
      deferred_.Resolve(NativeTensor::wrap(env, std::move(storage_)));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  int64_t byte_offset_, length_;
  std::shared_ptr<tensor_storage> storage_;
  op_error error_{nullptr, {}};
};

}  // namespace

Napi::Value op_from_file(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  arg_device(env, info[0], "device");
  std::string path = arg_string(env, info[1], "path");
  if (path.empty() || path.find('\0') != std::string::npos)
    throw_expected(env, "ERR_ARG", "a file path", "path", describe_value(info[1]));
  const int64_t byte_offset = arg_integer(env, info[2], "byteOffset", 0, static_cast<int64_t>(MAX_SAFE_INTEGER));
  // the byte count must fit size_t and off_t
  const int64_t length = arg_integer(env, info[3], "length", 0, static_cast<int64_t>(MAX_SAFE_INTEGER) / 4);
  auto* worker = new from_file_worker(env, std::move(path), byte_offset, length);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace alexnet
