// What fromFile(device, path, byteOffset, length) shares between the addons: the file is opened at the
// offset and read on a libuv worker thread into a new tensor; only the load differs (napi/from-file.cc
// reads straight into host memory, cuda/cuda-from-file.cc uploads through pinned staging buffers).
#pragma once

#include <napi.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "napi/args.h"
#include "napi/errors.h"

namespace alexnet {

// `path` opened for reading at `byte_offset`, or null with an ERR_IO *error
std::FILE* from_file_open(const std::string& path, int64_t byte_offset, op_error* error);
// the ERR_IO error of a file shorter than byte_offset + wanted bytes
op_error from_file_short_read(const std::string& path, int64_t byte_offset, size_t wanted, size_t got);

// `load(request, &storage)` allocates and fills the storage on the worker thread and returns an op_error
// whose code is null on success; Tensor::wrap makes the JS handle
template <class Tensor, class Storage, class Load>
class from_file_worker : public Napi::AsyncWorker {
 public:
  from_file_worker(Napi::Env env, from_file_request request, Load load)
      : Napi::AsyncWorker(env, "fromFile"),
        deferred_(Napi::Promise::Deferred::New(env)),
        request_(std::move(request)),
        load_(std::move(load)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    error_ = load_(request_, &storage_);
    if (error_.code) storage_.reset();
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_.code) {
      deferred_.Reject(make_error(env, error_.code, error_.message).Value());
      return;
    }
    Tensor::resolve_wrapped(deferred_, env, std::move(storage_));
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  from_file_request request_;
  Load load_;
  std::shared_ptr<Storage> storage_;
  op_error error_{nullptr, {}};
};

// queues the load and returns its Promise<NativeTensor>
template <class Tensor, class Storage, class Load>
Napi::Promise queue_from_file(Napi::Env env, from_file_request request, Load load) {
  auto* worker = new from_file_worker<Tensor, Storage, Load>(env, std::move(request), std::move(load));
  Napi::Promise promise = worker->promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

}  // namespace alexnet
