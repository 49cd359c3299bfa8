// fromFile(device, path, byteOffset, length): float32 little-endian values from a file into a new GPU
// buffer, on a libuv worker thread. The file is read in 8 MB pieces into two pinned host buffers
// (shared by the process) and each piece is uploaded asynchronously while the next one is read.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"
#include "cuda/cuda-ops.h"
#include "cuda/cuda-tensor.h"

namespace alexnet {
namespace cuda_napi {
namespace {

bool seek_to(std::FILE* file, int64_t offset) {
#if defined(_WIN32)
  return _fseeki64(file, offset, SEEK_SET) == 0;
#else
  return fseeko(file, static_cast<off_t>(offset), SEEK_SET) == 0;
#endif
}

class cuda_from_file_worker : public Napi::AsyncWorker {
 public:
  cuda_from_file_worker(Napi::Env env, int device, std::string path, int64_t byte_offset, int64_t length)
      : Napi::AsyncWorker(env, "fromFile"),
        deferred_(Napi::Promise::Deferred::New(env)),
        device_(device),
        path_(std::move(path)),
        byte_offset_(byte_offset),
        length_(length) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      cudaError_t error = device_storage_create(device_, static_cast<size_t>(length_), false, &storage_);
      if (error == cudaSuccess) error = upload();
      if (error != cudaSuccess && !error_.code) {
        cudaGetLastError();
        error_ = op_error{"ERR_CUDA", cuda_error_message("fromFile(" + std::to_string(length_) + ") on " +
                                                             cuda_device_name(device_), error)};
      }
    } catch (const std::bad_alloc&) {
      error_ = op_error{"ERR_ALLOC", expected_message("enough free memory", "fromFile(" + std::to_string(length_) + ")",
                                                      "an allocation failure")};
    }
    if (error_.code) storage_.reset();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_.code) {
      deferred_.Reject(make_error(env, error_.code, error_.message).Value());
      return;
    }
    try {
      deferred_.Resolve(CudaTensor::wrap(env, std::move(storage_)));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  void io_error(const std::string& received) {
    error_ = op_error{"ERR_IO", expected_message("a readable file", "path", "'" + path_ + "' (" + received + ")")};
  }

  // an I/O problem sets error_ (ERR_IO) and returns cudaSuccess; a CUDA problem returns its error
  cudaError_t upload() {
    const size_t wanted = static_cast<size_t>(length_) * sizeof(float);
    std::FILE* file = std::fopen(path_.c_str(), "rb");
    if (!file) {
      io_error(std::strerror(errno));
      return cudaSuccess;
    }
    if (!seek_to(file, byte_offset_)) {
      io_error(std::strerror(errno));
      std::fclose(file);
      return cudaSuccess;
    }
    cudaStream_t stream = nullptr;
    cudaError_t error = cuda_use_device(device_, &stream);
    staging_buffers& staging = cuda_staging();
    std::lock_guard<std::mutex> lock(staging.mutex);
    for (int i = 0; i < 2 && error == cudaSuccess; ++i)
      if (!staging.host[i]) error = cudaMallocHost(&staging.host[i], staging_buffers::STAGING_BYTES);
    cudaEvent_t uploaded[2] = {nullptr, nullptr};
    for (int i = 0; i < 2 && error == cudaSuccess; ++i)
      error = cudaEventCreateWithFlags(&uploaded[i], cudaEventDisableTiming | cudaEventBlockingSync);
    size_t got = 0;
    bool short_read = false;
    char* dst = reinterpret_cast<char*>(storage_ ? storage_->data : nullptr);
    for (int piece = 0; error == cudaSuccess && got < wanted; ++piece) {
      const int slot = piece % 2;
      if (piece >= 2) error = cudaEventSynchronize(uploaded[slot]);  // its previous upload is done
      if (error != cudaSuccess) break;
      const size_t want = std::min(staging_buffers::STAGING_BYTES, wanted - got);
      size_t n = 0;
      while (n < want) {
        const size_t r = std::fread(static_cast<char*>(staging.host[slot]) + n, 1, want - n, file);
        if (r == 0) break;
        n += r;
      }
      if (n > 0) error = cudaMemcpyAsync(dst + got, staging.host[slot], n, cudaMemcpyHostToDevice, stream);
      if (error == cudaSuccess) error = cudaEventRecord(uploaded[slot], stream);
      got += n;
      if (n < want) {
        short_read = true;
        break;
      }
    }
    if (stream) {
      const cudaError_t sync = cudaStreamSynchronize(stream);  // staging buffers are reused after the unlock
      if (error == cudaSuccess) error = sync;
    }
    for (cudaEvent_t event : uploaded)
      if (event) cudaEventDestroy(event);
    std::fclose(file);
    if (error == cudaSuccess && short_read)
      error_ = op_error{"ERR_IO", expected_message(std::to_string(wanted) + " bytes at byte offset " + std::to_string(byte_offset_),
                                                   "'" + path_ + "'", std::to_string(got) + " bytes")};
    return error;
  }

  Napi::Promise::Deferred deferred_;
  int device_;
  std::string path_;
  int64_t byte_offset_, length_;
  std::shared_ptr<device_storage> storage_;
  op_error error_{nullptr, {}};
};

}  // namespace

Napi::Value op_from_file(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = arg_device(env, info[0], "device");
  std::string path = arg_string(env, info[1], "path");
  if (path.empty() || path.find('\0') != std::string::npos)
    throw_expected(env, "ERR_ARG", "a file path", "path", describe_value(info[1]));
  const int64_t byte_offset = arg_integer(env, info[2], "byteOffset", 0, static_cast<int64_t>(MAX_SAFE_INTEGER));
  const int64_t length = arg_integer(env, info[3], "length", 0, static_cast<int64_t>(MAX_SAFE_INTEGER) / 4);
  auto* worker = new cuda_from_file_worker(env, device, std::move(path), byte_offset, length);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace cuda_napi
}  // namespace alexnet
