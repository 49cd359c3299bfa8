// The AsyncWorker template every primitive of both addons uses: the job runs on a libuv worker thread,
// the Promise resolves on the main thread with the kernel's time in nanoseconds. How the job runs and is
// timed is the parameter: queue_kernel below (CPU, steady clock around the kernel call) and
// cuda/cuda-worker.h (CUDA events on the device's stream). The worker holds the tensors' storage, so a
// dispose() or GC meanwhile cannot free memory under the kernel. Nothing here may throw past Execute():
// errors become an op_error and reject the Promise with a coded Error.
#pragma once

#include <napi.h>

#include <chrono>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "kernels/kernels.h"
#include "napi/errors.h"

namespace alexnet {

// `job(&nanoseconds)` runs (and times) the kernel on the worker thread and returns an op_error whose
// code is null on success; `op` names the op in error messages
template <class Storage, class Job>
class kernel_worker : public Napi::AsyncWorker {
 public:
  kernel_worker(Napi::Env env, const char* op, Job job, std::vector<std::shared_ptr<Storage>> keep)
      : Napi::AsyncWorker(env, op),
        deferred_(Napi::Promise::Deferred::New(env)),
        op_(op),
        job_(std::move(job)),
        keep_(std::move(keep)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      error_ = job_(&nanoseconds_);
    } catch (const std::bad_alloc&) {
      error_ = op_error{"ERR_ALLOC", expected_message("enough free memory", op_, "an allocation failure")};
    } catch (const std::exception& e) {
      error_ = op_error{"ERR_INTERNAL", expected_message("no error", op_, e.what())};
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
  Napi::Promise::Deferred deferred_;
  const char* op_;
  Job job_;
  std::vector<std::shared_ptr<Storage>> keep_;
  op_error error_{nullptr, {}};
  double nanoseconds_ = 0;
};

// queues `job` and returns its Promise<number of nanoseconds>
template <class Storage, class Job>
Napi::Promise queue_job(Napi::Env env, const char* op, Job job, std::vector<std::shared_ptr<Storage>> keep) {
  auto* worker = new kernel_worker<Storage, Job>(env, op, std::move(job), std::move(keep));
  Napi::Promise promise = worker->promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

struct tensor_storage;  // napi/native-tensor.h

// CPU: `compute` returns a kernel status; the steady clock around it gives the time
template <class Compute>
Napi::Promise queue_kernel(Napi::Env env, const char* op, Compute compute,
                           std::vector<std::shared_ptr<tensor_storage>> keep) {
  auto job = [op, compute = std::move(compute)](double* nanoseconds) {
    const auto start = std::chrono::steady_clock::now();
    const int status = compute();
    const auto stop = std::chrono::steady_clock::now();
    *nanoseconds = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count());
    if (status != KERNEL_OK)
      return op_error{"ERR_SHAPE", expected_message("dims the kernel accepts", op, "status " + std::to_string(status))};
    return op_error{nullptr, {}};
  };
  return queue_job<tensor_storage>(env, op, std::move(job), std::move(keep));
}

}  // namespace alexnet
