#include "kernels/cpu/thread-pool.h"

#include <chrono>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace alexnet {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// polls `done` until it returns true or SPIN_MICROSECONDS have passed; true when done
template <class Done>
bool spin_until(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(thread_pool::SPIN_MICROSECONDS);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace

thread_pool::thread_pool(int threads) { start_workers(threads < 1 ? 1 : threads); }

thread_pool::~thread_pool() { stop_workers(); }

int thread_pool::size() const { return threads_.load(std::memory_order_relaxed); }

int thread_pool::default_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void thread_pool::resize(int threads) {
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  stop_workers();
  start_workers(threads < 1 ? 1 : threads);
}

void thread_pool::start_workers(int threads) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    threads_.store(threads);
    stopping_.store(false);
    generation = generation_.load();
  }
  workers_.reserve(threads - 1);
  // a new worker must wait for the next job, not rerun the last one
  for (int ith = 1; ith < threads; ++ith) workers_.emplace_back(&thread_pool::worker_main, this, generation);
}

void thread_pool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    stopping_.store(true);
  }
  wake_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

// claims shares of the open job until none is left
void thread_pool::run_shares() {
  const int shares = job_shares_;
  for (int ith = next_share_.fetch_add(1, std::memory_order_relaxed); ith < shares;
       ith = next_share_.fetch_add(1, std::memory_order_relaxed)) {
    try {
      job_(job_ctx_, ith, shares);
    } catch (...) {
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (!job_error_) job_error_ = std::current_exception();
    }
  }
}

void thread_pool::worker_main(uint64_t seen) {
  for (;;) {
    const auto woken = [&] {
      return stopping_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
    };
    if (!spin_until(woken)) {
      std::unique_lock<std::mutex> lock(state_mutex_);
      wake_cv_.wait(lock, woken);
    }
    if (stopping_.load(std::memory_order_acquire)) return;
    const uint64_t woken_for = generation_.load(std::memory_order_acquire);
    // join: counted as active before looking, so the caller that closes the job after this cannot return
    // (and reuse the job's fields) while this worker runs a share. Both sides seq_cst: either the caller
    // sees this worker active, or this worker sees the job closed.
    active_.fetch_add(1, std::memory_order_seq_cst);
    const uint64_t open = open_.load(std::memory_order_seq_cst);
    if (open != 0 && open != seen) {
      run_shares();
      seen = open;
    } else {
      seen = woken_for;  // closed before this worker got to it: nothing to do
    }
    if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // the caller may be asleep on done_cv_: notify under the lock it checks `active_` under
      std::lock_guard<std::mutex> lock(state_mutex_);
      done_cv_.notify_one();
    }
  }
}

void thread_pool::run_job(job_fn fn, void* ctx) {
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  const int threads = threads_.load(std::memory_order_relaxed);
  if (threads == 1) {
    fn(ctx, 0, 1);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    job_ = fn;
    job_ctx_ = ctx;
    job_shares_ = threads;
    job_error_ = nullptr;
    next_share_.store(0, std::memory_order_relaxed);
    // opened before the generation moves: a worker woken by the new generation finds it open (or closed
    // because it is already done), never the 0 between two jobs
    const uint64_t generation = generation_.load(std::memory_order_relaxed) + 1;
    open_.store(generation, std::memory_order_seq_cst);
    generation_.store(generation, std::memory_order_release);
  }
  wake_cv_.notify_all();
  run_shares();
  // every share is claimed; close the job and wait only for the workers inside it
  open_.store(0, std::memory_order_seq_cst);
  const auto finished = [&] { return active_.load(std::memory_order_seq_cst) == 0; };
  if (!spin_until(finished)) {
    std::unique_lock<std::mutex> lock(state_mutex_);
    done_cv_.wait(lock, finished);
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    error = job_error_;
    job_error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

thread_pool& global_thread_pool() {
  // never destroyed: worker threads must not be joined during static destruction at process exit
  static thread_pool* pool = new thread_pool(thread_pool::default_threads());
  return *pool;
}

}  // namespace alexnet
