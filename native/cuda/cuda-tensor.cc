#include "cuda/cuda-tensor.h"

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"

namespace alexnet {
namespace cuda_napi {

device_storage::~device_storage() {
  if (!data) return;
  if (cudaSetDevice(device) == cudaSuccess) cudaFree(data);
  cudaGetLastError();
}

cudaError_t device_storage_create(int device, size_t length, bool zero, std::shared_ptr<device_storage>* out) {
  auto storage = std::make_shared<device_storage>();
  storage->length = length;
  storage->device = device;
  storage->device_name = cuda_device_name(device);
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(device, &stream);
  if (error != cudaSuccess) return error;
  if (length > 0) {
    if (length > (static_cast<size_t>(-1) / sizeof(float))) return cudaErrorMemoryAllocation;
    void* data = nullptr;
    error = cudaMalloc(&data, length * sizeof(float));
    if (error != cudaSuccess) return error;
    storage->data = static_cast<float*>(data);
    if (zero) {
      error = cudaMemsetAsync(data, 0, length * sizeof(float), stream);
      if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
      if (error != cudaSuccess) return error;  // storage frees the memory
    }
  }
  *out = std::move(storage);
  return cudaSuccess;
}

void CudaTensor::copy_in(Napi::Env env, device_storage& storage, int64_t offset, const float* src, size_t count) {
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(storage.device, &stream);
  if (error == cudaSuccess)
    error = cudaMemcpyAsync(storage.data + offset, src, count * sizeof(float), cudaMemcpyHostToDevice, stream);
  if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
  if (error != cudaSuccess) throw_cuda(env, "write on " + storage.device_name, error);
}

void CudaTensor::copy_out(Napi::Env env, const device_storage& storage, int64_t offset, float* dst, size_t count) {
  cudaStream_t stream = nullptr;
  cudaError_t error = cuda_use_device(storage.device, &stream);
  if (error == cudaSuccess)
    error = cudaMemcpyAsync(dst, storage.data + offset, count * sizeof(float), cudaMemcpyDeviceToHost, stream);
  if (error == cudaSuccess) error = cudaStreamSynchronize(stream);
  if (error != cudaSuccess) throw_cuda(env, "read on " + storage.device_name, error);
}

}  // namespace cuda_napi
}  // namespace alexnet
