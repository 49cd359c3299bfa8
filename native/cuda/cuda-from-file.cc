// fromFile(device, path, byteOffset, length): float32 little-endian values from a file into a new GPU
// buffer, on a libuv worker thread. The file is read in 8 MB pieces into two pinned host buffers
// (shared by the process) and each piece is uploaded asynchronously while the next one is read.
// The worker, the argument checks and the file errors are shared with the CPU addon
// (napi/from-file-worker.h).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <new>
#include <string>

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"
#include "cuda/cuda-ops.h"
#include "cuda/cuda-tensor.h"
#include "napi/from-file-worker.h"

namespace alexnet {
namespace cuda_napi {
namespace {

// an I/O problem sets *io (ERR_IO) and returns cudaSuccess; a CUDA problem returns its error
cudaError_t upload(int device, const from_file_request& request, device_storage* storage, op_error* io) {
  const size_t wanted = static_cast<size_t>(request.length) * sizeof(float);
  std::FILE* file = from_file_open(request.path, request.byte_offset, io);
  if (!file) return cudaSuccess;
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(device, &stream);
  staging_buffers& staging = cuda_staging();
  std::lock_guard<std::mutex> lock(staging.mutex);
  for (int i = 0; i < 2 && error == cudaSuccess; ++i)
    if (!staging.host[i]) error = cudaMallocHost(&staging.host[i], staging_buffers::STAGING_BYTES);
  cudaEvent_t uploaded[2] = {nullptr, nullptr};
  for (int i = 0; i < 2 && error == cudaSuccess; ++i)
    error = cudaEventCreateWithFlags(&uploaded[i], cudaEventDisableTiming | cudaEventBlockingSync);
  size_t got = 0;
  bool short_read = false;
  char* dst = reinterpret_cast<char*>(storage ? storage->data : nullptr);
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
  if (error == cudaSuccess && short_read) *io = from_file_short_read(request.path, request.byte_offset, wanted, got);
  return error;
}

}  // namespace

Napi::Value op_from_file(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = arg_device(env, info[0], "device");
  from_file_request request = arg_from_file(env, info);
  auto load = [device](const from_file_request& request, std::shared_ptr<device_storage>* storage) {
    op_error io{nullptr, {}};
    try {
      cudaError_t error = device_storage_create(device, static_cast<size_t>(request.length), false, storage);
      if (error == cudaSuccess) error = upload(device, request, storage->get(), &io);
      if (error != cudaSuccess && !io.code) {
        cudaGetLastError();
        return op_error{"ERR_CUDA", cuda_error_message("fromFile(" + std::to_string(request.length) + ") on " +
                                                           cuda_device_name(device), error)};
      }
    } catch (const std::bad_alloc&) {
      return op_error{"ERR_ALLOC", expected_message("enough free memory", "fromFile(" + std::to_string(request.length) + ")",
                                                    "an allocation failure")};
    }
    return io;
  };
  return queue_from_file<CudaTensor, device_storage>(env, std::move(request), load);
}

}  // namespace cuda_napi
}  // namespace alexnet
