// The AsyncWorker template every primitive uses: the kernel runs on a libuv worker thread, the
// Promise resolves on the main thread with the kernel's compute time in nanoseconds (steady clock
// around the kernel call). The worker holds the tensors' storage, so a dispose() or GC meanwhile
// cannot free memory under the kernel. Nothing here may throw past Execute(): errors become an
// op_error and reject the Promise with a coded Error.
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
#include "napi/native-tensor.h"

namespace alexnet {

template <class Compute>
class kernel_worker : public Napi::AsyncWorker {
 public:
  // `compute` returns a kernel status; `op` names the op in error messages
  kernel_worker(Napi::Env env, const char* op, Compute compute, std::vector<std::shared_ptr<tensor_storage>> keep)
      : Napi::AsyncWorker(env, op),
        deferred_(Napi::Promise::Deferred::New(env)),
        op_(op),
        compute_(std::move(compute)),
        keep_(std::move(keep)) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      const auto start = std::chrono::steady_clock::now();
      const int status = compute_();
      const auto stop = std::chrono::steady_clock::now();
      nanoseconds_ = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start).count());
      if (status != KERNEL_OK)
        error_ = op_error{"ERR_SHAPE", expected_message("dims the kernel accepts", op_, "status " + std::to_string(status))};
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
  Compute compute_;
  std::vector<std::shared_ptr<tensor_storage>> keep_;
  op_error error_{nullptr, {}};
  double nanoseconds_ = 0;
};

// queues `compute` and returns its Promise<number of nanoseconds>
template <class Compute>
Napi::Promise queue_kernel(Napi::Env env, const char* op, Compute compute,
                           std::vector<std::shared_ptr<tensor_storage>> keep) {
  auto* worker = new kernel_worker<Compute>(env, op, std::move(compute), std::move(keep));
  Napi::Promise promise = worker->promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

}  // namespace alexnet
