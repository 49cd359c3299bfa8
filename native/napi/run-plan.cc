#include "napi/run-plan.h"

#include <chrono>

#include "kernels/cpu/thread-pool.h"
#include "napi/native-tensor.h"
#include "napi/plan-call.h"

namespace alexnet {
namespace {

// napi/plan-call.h's Backend for the CPU: kernels on the process-wide thread pool, timed by the steady clock
struct cpu_backend {
  using storage = tensor_storage;
  static constexpr bool cpu = true;

  static std::shared_ptr<storage> tensor(Napi::Env env, const Napi::Value& value, const std::string& name, const storage*) {
    return arg_tensor(env, value, name);
  }
  static std::shared_ptr<storage> tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name,
                                                 const storage*) {
    return arg_tensor_or_null(env, value, name);
  }
  static op_tensor view(const storage& s) {
    op_tensor t;
    t.data = s.data;
    t.length = s.length;
    t.storage = &s;
    t.packed = s.packed;
    return t;
  }
  static int device_of(const storage&) { return 0; }
  static void prepare(op_step*) {}

  // the kernels fan out on the pool, whose workers are still spinning from the previous op: no sleep
  // between layers
  static op_error run(const std::vector<op_step>& steps, int, double* ns, double* total_ns, size_t* at,
                      const step_namer& name) {
    using clock = std::chrono::steady_clock;
    const auto elapsed = [](clock::time_point from, clock::time_point to) {
      return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
    };
    thread_pool& pool = global_thread_pool();
    const auto start = clock::now();
    auto before = start;
    for (size_t i = 0; i < steps.size(); ++i) {
      *at = i;
      const int status = steps[i].def->run_cpu(steps[i], pool);
      if (ns) {
        const auto after = clock::now();
        ns[i] = elapsed(before, after);
        before = after;
      }
      if (status != KERNEL_OK)
        return op_error{"ERR_SHAPE", expected_message("dims the kernel accepts", name(i), "status " + std::to_string(status))};
    }
    *total_ns = elapsed(start, clock::now());
    return op_error{nullptr, {}};
  }
};

}  // namespace

void export_cpu_ops(Napi::Env env, Napi::Object exports) { export_plan_ops<cpu_backend>(env, exports); }

}  // namespace alexnet
