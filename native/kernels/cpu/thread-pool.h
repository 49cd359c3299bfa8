// A persistent thread pool (ggml-cpu style): run(fn) calls fn(ith, nth) once for every ith in
// [0, nth) on nth threads (the caller is thread 0) and returns when all are done. Kernels split
// their own work from (ith, nth). Calls to run() from different threads are serialized.
//
// Waking is spin-then-sleep: between two jobs (the next layer is usually queued within tens of
// microseconds) workers poll an atomic generation counter for up to SPIN_MICROSECONDS before
// falling back to a condition variable, so a small kernel does not pay two futex round trips.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace alexnet {

class thread_pool {
 public:
  explicit thread_pool(int threads);
  ~thread_pool();
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  int size() const;
  // waits for a running job, then replaces the workers
  void resize(int threads);

  template <class Fn>
  void run(Fn&& fn) {
    run_job([](void* ctx, int ith, int nth) { (*static_cast<Fn*>(ctx))(ith, nth); }, &fn);
  }

  // std::thread::hardware_concurrency(), at least 1
  static int default_threads();

  // how long an idle worker (or the caller waiting for workers) polls before sleeping
  static constexpr int SPIN_MICROSECONDS = 200;

 private:
  using job_fn = void (*)(void* ctx, int ith, int nth);
  void run_job(job_fn fn, void* ctx);
  void start_workers(int threads);
  void stop_workers();
  void worker_main(int ith, uint64_t seen_generation);
  void run_share(int ith);

  std::mutex run_mutex_;  // one job at a time; also guards resize
  mutable std::mutex state_mutex_;
  std::condition_variable wake_cv_, done_cv_;
  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
  // changed under state_mutex_ (so a sleeper cannot miss it), read without it while spinning
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  job_fn job_ = nullptr;
  void* job_ctx_ = nullptr;
  std::exception_ptr job_error_;
};

// the process-wide pool the napi layer hands to kernels
thread_pool& global_thread_pool();

}  // namespace alexnet
