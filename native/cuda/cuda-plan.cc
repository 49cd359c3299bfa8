#include "cuda/cuda-plan.h"

#include <cuda_runtime_api.h>

#include <vector>

#include "cuda/cuda-args.h"
#include "cuda/cuda-device.h"
#include "cuda/cuda-tensor.h"
#include "napi/plan-call.h"

namespace alexnet {
namespace cuda_napi {
namespace {

// napi/plan-call.h's Backend for CUDA. On the libuv worker thread run() makes the device current, records
// an event, launches every op on the device's stream (an event after each when timed), records a last
// event and waits for it (blocking sync: the thread sleeps instead of spinning); the times are the GPU
// time between the events. Every CUDA error becomes an ERR_CUDA rejection naming the op.
struct cuda_backend {
  using storage = device_storage;
  static constexpr bool cpu = false;

  static std::shared_ptr<storage> tensor(Napi::Env env, const Napi::Value& value, const std::string& name, const storage* first) {
    return arg_tensor(env, value, name, first ? first->device : -1);
  }
  static std::shared_ptr<storage> tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name,
                                                 const storage* first) {
    return arg_tensor_or_null(env, value, name, first ? first->device : -1);
  }
  static op_tensor view(const storage& s) {
    op_tensor t;
    t.data = s.data;
    t.length = s.length;
    t.storage = &s;
    return t;
  }
  static int device_of(const storage& s) { return s.device; }
  static void prepare(op_step* step) { step->precision = static_cast<int>(cuda_current_precision()); }

  static op_error run(const std::vector<op_step>& steps, int device, double* ns, double* total_ns, size_t* at,
                      const step_namer& name) {
    std::vector<cudaEvent_t> events(ns ? steps.size() + 1 : 2, nullptr);
    const cudaError_t error = run_on_stream(steps, device, ns, total_ns, at, events);
    for (cudaEvent_t e : events)
      if (e) cudaEventDestroy(e);
    if (error == cudaSuccess) return op_error{nullptr, {}};
    cudaGetLastError();  // a non-sticky error must not be blamed on the next call
    return op_error{"ERR_CUDA", cuda_error_message(name(*at) + " on " + cuda_device_name(device), error)};
  }

 private:
  static cudaError_t run_on_stream(const std::vector<op_step>& steps, int device, double* ns, double* total_ns,
                                   size_t* at, std::vector<cudaEvent_t>& events) {
    cudaStream_t stream = nullptr;
    cudaError_t error = cuda_use_device(device, &stream);
    for (size_t e = 0; e < events.size() && error == cudaSuccess; ++e)
      error = e + 1 < events.size() ? cudaEventCreate(&events[e]) : cudaEventCreateWithFlags(&events[e], cudaEventBlockingSync);
    if (error == cudaSuccess) error = cudaEventRecord(events.front(), stream);
    for (size_t i = 0; i < steps.size() && error == cudaSuccess; ++i) {
      *at = i;
      error = static_cast<cudaError_t>(steps[i].def->run_cuda(steps[i], stream));
      if (error == cudaSuccess && ns) error = cudaEventRecord(events[i + 1], stream);
    }
    if (error != cudaSuccess) return error;
    if (!ns) error = cudaEventRecord(events.back(), stream);
    if (error == cudaSuccess) error = cudaEventSynchronize(events.back());
    float milliseconds = 0;
    if (error == cudaSuccess) error = cudaEventElapsedTime(&milliseconds, events.front(), events.back());
    *total_ns = static_cast<double>(milliseconds) * 1e6;
    for (size_t i = 0; ns && i < steps.size() && error == cudaSuccess; ++i) {
      error = cudaEventElapsedTime(&milliseconds, events[i], events[i + 1]);
      ns[i] = static_cast<double>(milliseconds) * 1e6;
    }
    return error;
  }
};

}  // namespace

void export_cuda_ops(Napi::Env env, Napi::Object exports) { export_plan_ops<cuda_backend>(env, exports); }

}  // namespace cuda_napi
}  // namespace alexnet
