#include "kernels/cpu/thread-pool.h"

namespace alexnet {

thread_pool::thread_pool(int threads) { start_workers(threads < 1 ? 1 : threads); }

thread_pool::~thread_pool() { stop_workers(); }

int thread_pool::size() const {
  std::lock_guard<std::mutex> lock(state_mutex_);
  return threads_;
}

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
    threads_ = threads;
    stopping_ = false;
    generation = generation_;
  }
  workers_.reserve(threads - 1);
  // a new worker must wait for the next job, not rerun the last one
  for (int ith = 1; ith < threads; ++ith) workers_.emplace_back(&thread_pool::worker_main, this, ith, generation);
}

void thread_pool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    stopping_ = true;
  }
  wake_cv_.notify_all();
  for (auto& worker : workers_) worker.join();
  workers_.clear();
}

void thread_pool::run_share(int ith) {
  try {
    job_(job_ctx_, ith, threads_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (!job_error_) job_error_ = std::current_exception();
  }
}

void thread_pool::worker_main(int ith, uint64_t seen) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(state_mutex_);
      wake_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    run_share(ith);
    {
      std::lock_guard<std::mutex> lock(state_mutex_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

void thread_pool::run_job(job_fn fn, void* ctx) {
  std::lock_guard<std::mutex> run_lock(run_mutex_);
  if (threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(state_mutex_);
    job_ = fn;
    job_ctx_ = ctx;
    job_error_ = nullptr;
    pending_ = threads_ - 1;
    ++generation_;
  }
  wake_cv_.notify_all();
  run_share(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(state_mutex_);
    done_cv_.wait(lock, [&] { return pending_ == 0; });
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
