// How a CUDA primitive's job runs in the AsyncWorker template of native/napi/kernel-worker.h: on a libuv
// worker thread it makes the device current, records an event, launches on the device's stream, records
// a second event and waits for it (blocking sync: the thread sleeps instead of spinning); the Promise
// resolves with the GPU time between the events in nanoseconds. Every CUDA error becomes an ERR_CUDA
// rejection.
#pragma once

#include <napi.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"
#include "cuda/cuda-tensor.h"
#include "napi/kernel-worker.h"

namespace alexnet {
namespace cuda_napi {

// `launch(stream)` queues the kernel on the stream; the events around it time it
template <class Launch>
cudaError_t cuda_run_timed(int device, Launch& launch, double* nanoseconds) {
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(device, &stream);
  if (error != cudaSuccess) return error;
  cudaEvent_t start = nullptr, stop = nullptr;
  error = cudaEventCreate(&start);
  if (error != cudaSuccess) return error;
  error = cudaEventCreateWithFlags(&stop, cudaEventBlockingSync);
  if (error == cudaSuccess) error = cudaEventRecord(start, stream);
  if (error == cudaSuccess) error = launch(stream);
  if (error == cudaSuccess) error = cudaEventRecord(stop, stream);
  if (error == cudaSuccess) error = cudaEventSynchronize(stop);
  float milliseconds = 0;
  if (error == cudaSuccess) error = cudaEventElapsedTime(&milliseconds, start, stop);
  *nanoseconds = static_cast<double>(milliseconds) * 1e6;
  cudaEventDestroy(start);
  if (stop) cudaEventDestroy(stop);
  return error;
}

// `launch(stream)` queues the kernel and returns its launch status; returns the Promise<nanoseconds>
template <class Launch>
Napi::Promise queue_cuda_kernel(Napi::Env env, const char* op, int device, Launch launch,
                                std::vector<std::shared_ptr<device_storage>> keep) {
  auto job = [op, device, launch = std::move(launch)](double* nanoseconds) mutable {
    const cudaError_t error = cuda_run_timed(device, launch, nanoseconds);
    if (error == cudaSuccess) return op_error{nullptr, {}};
    cudaGetLastError();
    return op_error{"ERR_CUDA", cuda_error_message(std::string(op) + " on " + cuda_device_name(device), error)};
  };
  return queue_job<device_storage>(env, op, std::move(job), std::move(keep));
}

}  // namespace cuda_napi
}  // namespace alexnet
