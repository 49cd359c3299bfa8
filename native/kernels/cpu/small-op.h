// Small element-wise / pooling ops: work below SMALL_OP_ELEMENTS runs on the calling thread (waking
// the pool and waiting for it costs more than the op: softmax over 1000 values took 0.4 ms).
#pragma once

#include <cstdint>

#include "kernels/cpu/thread-pool.h"

namespace alexnet {

constexpr int64_t SMALL_OP_ELEMENTS = 65536;

template <class Fn>
inline void run_sized(thread_pool& pool, int64_t elements, const Fn& fn) {
  if (elements < SMALL_OP_ELEMENTS) {
    fn(0, 1);
  } else {
    pool.run([&fn](int ith, int nth) { fn(ith, nth); });
  }
}

}  // namespace alexnet
