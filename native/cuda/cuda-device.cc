#include "cuda/cuda-device.h"

#include <atomic>
#include <cstdlib>
#include <vector>

namespace alexnet {
namespace cuda_napi {
namespace {

std::mutex streams_mutex;
std::vector<cudaStream_t> streams;  // per device; never destroyed (they live as long as the process)
std::atomic<int> precision{static_cast<int>(cuda_precision::fp32)};

}  // namespace

cudaError_t cuda_device_count(int* count) {
  *count = 0;
  const cudaError_t error = cudaGetDeviceCount(count);
  if (error != cudaSuccess) {
    cudaGetLastError();  // not sticky: clear it
    *count = 0;
  }
  return error;
}

std::string cuda_device_name(int device) { return "cuda:" + std::to_string(device); }

bool cuda_device_parse(const std::string& name, int* device) {
  if (name == "cuda") {
    *device = 0;
    return true;
  }
  if (name.rfind("cuda:", 0) != 0 || name.size() == 5 || name.size() > 9) return false;
  int value = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    value = value * 10 + (name[i] - '0');
  }
  if (name.size() > 6 && name[5] == '0') return false;  // no leading zeros: one name per device
  *device = value;
  return true;
}

cudaError_t cuda_use_device(int device, cudaStream_t* stream) {
  cudaError_t error = cudaSetDevice(device);
  if (error != cudaSuccess) return error;
  std::lock_guard<std::mutex> lock(streams_mutex);
  if (streams.size() <= static_cast<size_t>(device)) streams.resize(static_cast<size_t>(device) + 1, nullptr);
  if (!streams[device]) {
    error = cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking);
    if (error != cudaSuccess) {
      streams[device] = nullptr;
      return error;
    }
  }
  *stream = streams[device];
  return cudaSuccess;
}

cuda_precision cuda_current_precision() { return static_cast<cuda_precision>(precision.load()); }

void cuda_set_precision(cuda_precision value) { precision.store(static_cast<int>(value)); }

staging_buffers& cuda_staging() {
  static staging_buffers* buffers = new staging_buffers();  // never freed: pinned memory dies with the process
  return *buffers;
}

}  // namespace cuda_napi
}  // namespace alexnet
