// The AsyncWorker every CUDA primitive uses: on a libuv worker thread it makes the device current,
// records an event, launches on the device's stream, records a second event and waits for it
// (blocking sync: the thread sleeps instead of spinning); the Promise resolves with the GPU time
// between the events in nanoseconds. The worker holds the tensors' storage until then, so a dispose()
// or GC meanwhile cannot free memory under the kernel. Every CUDA error becomes an ERR_CUDA rejection.
#pragma once

#include <napi.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"
#include "cuda/cuda-tensor.h"

namespace alexnet {
namespace cuda_napi {

template <class Launch>
class cuda_kernel_worker : public Napi::AsyncWorker {
 public:
  // `launch(stream)` queues the kernel and returns its launch status
  cuda_kernel_worker(Napi::Env env, const char* op, int device, Launch launch,
                     std::vector<std::shared_ptr<device_storage>> keep)
      : Napi::AsyncWorker(env, op),
        deferred_(Napi::Promise::Deferred::New(env)),
        op_(op),
        device_(device),
        launch_(std::move(launch)),
        keep_(std::move(keep)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      const cudaError_t error = run();
      if (error != cudaSuccess) {
        cudaGetLastError();
        error_ = op_error{"ERR_CUDA", cuda_error_message(std::string(op_) + " on " + cuda_device_name(device_), error)};
      }
    } catch (const std::bad_alloc&) {
      error_ = op_error{"ERR_ALLOC", expected_message("enough free memory", op_, "an allocation failure")};
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    keep_.clear();
    if (error_.code) {
      deferred_.Reject(make_error(env, error_.code, error_.message).Value());
      return;
    }
    deferred_.Resolve(Napi::Number::New(env, nanoseconds_));
  }

  void OnError(const Napi::Error& error) override {
    keep_.clear();
    deferred_.Reject(error.Value());
  }

 private:
  cudaError_t run() {
    cudaStream_t stream = nullptr;
    cudaError_t error = cuda_use_device(device_, &stream);
    if (error != cudaSuccess) return error;
    cudaEvent_t start = nullptr, stop = nullptr;
    error = cudaEventCreate(&start);
    if (error != cudaSuccess) return error;
    error = cudaEventCreateWithFlags(&stop, cudaEventBlockingSync);
    if (error == cudaSuccess) error = cudaEventRecord(start, stream);
    if (error == cudaSuccess) error = launch_(stream);
    if (error == cudaSuccess) error = cudaEventRecord(stop, stream);
    if (error == cudaSuccess) error = cudaEventSynchronize(stop);
    float milliseconds = 0;
    if (error == cudaSuccess) error = cudaEventElapsedTime(&milliseconds, start, stop);
    nanoseconds_ = static_cast<double>(milliseconds) * 1e6;
    cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    return error;
  }

  Napi::Promise::Deferred deferred_;
  const char* op_;
  int device_;
  Launch launch_;
  std::vector<std::shared_ptr<device_storage>> keep_;
  op_error error_{nullptr, {}};
  double nanoseconds_ = 0;
};

template <class Launch>
Napi::Promise queue_cuda_kernel(Napi::Env env, const char* op, int device, Launch launch,
                                std::vector<std::shared_ptr<device_storage>> keep) {
  auto* worker = new cuda_kernel_worker<Launch>(env, op, device, std::move(launch), std::move(keep));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace cuda_napi
}  // namespace alexnet
