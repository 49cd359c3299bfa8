// A persistent thread pool (ggml-cpu style): run(fn) calls fn(ith, nth) once for every share ith in
// [0, nth) and returns when all are done. Kernels split their own work from (ith, nth). Calls to run()
// from different threads are serialized.
//
// Shares are claimed, not assigned: the caller and each worker that wakes take the next unclaimed share
// (an atomic counter) until none is left, and the caller returns once no worker is inside the job. A worker
// the OS has not scheduled yet therefore holds nothing back: the caller runs its share, and the worker,
// when it wakes to a closed job, skips it. (With a fixed share per thread, every layer waited for such a
// worker; on the shared 2-core machine with another process on one core, an int8 forward at batch 1 went
// from 4 to 13 ms.) A share must not depend on which thread runs it; thread_local scratch is fine.
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

  // fn(task) once for every task in [0, count), the tasks handed out in order to whichever thread asks next
  // (one atomic counter). A static split leaves a descheduled thread's whole share to run after the others
  // have finished; here it holds back only the task it is on. fn must not depend on which thread runs a
  // task (each task writes its own outputs), so the results are those of a sequential loop.
  template <class Fn>
  void run_tasks(int64_t count, Fn&& fn) {
    std::atomic<int64_t> next{0};
    run([&](int, int) {
      for (int64_t task = next.fetch_add(1, std::memory_order_relaxed); task < count;
           task = next.fetch_add(1, std::memory_order_relaxed))
        fn(task);
    });
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
  void worker_main(uint64_t seen_generation);
  void run_shares();

  std::mutex run_mutex_;  // one job at a time; also guards resize
  mutable std::mutex state_mutex_;
  std::condition_variable wake_cv_, done_cv_;
  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
  // changed under state_mutex_ (so a sleeper cannot miss it), read without it while spinning
  std::atomic<uint64_t> generation_{0};
  // the generation of the job that workers may still join, 0 once the caller has closed it
  std::atomic<uint64_t> open_{0};
  std::atomic<int> next_share_{0};
  std::atomic<int> active_{0};  // workers between joining (or looking at) a job and leaving it
  std::atomic<bool> stopping_{false};
  job_fn job_ = nullptr;
  void* job_ctx_ = nullptr;
  int job_shares_ = 1;
  std::exception_ptr job_error_;
};

// the process-wide pool the napi layer hands to kernels
thread_pool& global_thread_pool();

}  // namespace alexnet
