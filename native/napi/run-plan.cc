#include "napi/run-plan.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"
#include "napi/args.h"
#include "napi/errors.h"
#include "napi/native-tensor.h"

namespace alexnet {
namespace {

const char* const IN_OUT[] = {"input", "output"};
const char* const IN_WEIGHT_BIAS_OUT[] = {"input", "weight", "bias", "output"};
const char* const RELU_FLAG[] = {"relu"};
const char* const COUNT_INCLUDE_PAD_FLAG[] = {"countIncludePad"};
const char* const LRN_FLAG[] = {"scalars index"};

struct op_layout {
  const char* name;
  int dims, tensors, flags;
  const char* const* tensor_names;
  const char* const* flag_names;
  int record() const { return 1 + dims + tensors + flags; }
};

const op_layout* layout_of(int opcode) {
  static const op_layout layouts[] = {
      {"conv2d", 16, 4, 1, IN_WEIGHT_BIAS_OUT, RELU_FLAG},
      {"maxPool2d", 14, 2, 0, IN_OUT, nullptr},
      {"avgPool2d", 14, 2, 1, IN_OUT, COUNT_INCLUDE_PAD_FLAG},
      {"lrn", 5, 2, 1, IN_OUT, LRN_FLAG},
      {"linear", 3, 4, 1, IN_WEIGHT_BIAS_OUT, RELU_FLAG},
      {"softmax", 2, 2, 0, IN_OUT, nullptr},
      {"adaptiveAvgPool2d", 6, 2, 0, IN_OUT, nullptr},
      {"relu", 1, 2, 0, IN_OUT, nullptr},
  };
  if (opcode < PLAN_CONV2D || opcode > PLAN_RELU) return nullptr;
  return &layouts[opcode - PLAN_CONV2D];
}

// one checked op, ready for the worker thread
struct plan_step {
  plan_opcode op;
  conv2d_params conv;
  pool2d_params pool;
  lrn_params lrn;
  linear_params linear;
  linear_weights linear_w;
  softmax_params softmax;
  adaptive_avgpool_params adaptive;
  size_t length;
  bool count_include_pad, packed_weight, packed_winograd;
  const float* in;
  const float* weight;
  const float* bias;
  float* out;
};

// checks one record of the program; every error names the op: "plan op 3 (conv2d) dims[4] (outChannels)"
class op_checker {
 public:
  op_checker(Napi::Env env, size_t index, const op_layout& layout, const int32_t* record,
             const std::vector<std::shared_ptr<tensor_storage>>& tensors)
      : env_(env), layout_(layout), record_(record), tensors_(tensors),
        prefix_("plan op " + std::to_string(index) + " (" + layout.name + ") ") {
    dims_.assign(record + 1, record + 1 + layout.dims);
  }

  std::string name(const std::string& what) const { return prefix_ + what; }
  [[noreturn]] void fail(const std::string& what, const std::string& field, const std::string& received) const {
    throw_expected(env_, "ERR_SHAPE", what, name(field), received);
  }
  int32_t dim(int i) const { return dims_[i]; }

  const int32_t* dims() const { return dims_.data(); }
  const std::string& prefix() const { return prefix_; }
  // throws ERR_SHAPE with an op-checks.h message unless it is empty
  void shape(const std::string& message) const { check_shape(env_, message); }

  // tensor t of the record: its storage, or nullptr for -1 where `nullable`
  tensor_storage* tensor(int t, bool nullable) const {
    const int32_t index = record_[1 + layout_.dims + t];
    if (nullable && index == -1) return nullptr;
    if (index < 0 || static_cast<size_t>(index) >= tensors_.size())
      throw_expected(env_, "ERR_SHAPE",
                     "an index into tensors (0 to " + std::to_string(static_cast<int64_t>(tensors_.size()) - 1) + ")" +
                         (nullable ? " or -1" : ""),
                     name(layout_.tensor_names[t]), std::to_string(index));
    return tensors_[index].get();
  }

  int32_t flag(int f) const { return record_[1 + layout_.dims + layout_.tensors + f]; }
  bool boolean_flag(int f) const {
    const int32_t v = flag(f);
    if (v != 0 && v != 1) throw_expected(env_, "ERR_SHAPE", "0 or 1", name(layout_.flag_names[f]), std::to_string(v));
    return v == 1;
  }

  // kernels that cannot work in place
  void distinct(const tensor_storage& output, const tensor_storage* input, const tensor_storage* weight,
                const tensor_storage* bias) const {
    check_output_distinct(env_, output, input, weight, bias, name("output"));
  }

 private:
  Napi::Env env_;
  const op_layout& layout_;
  const int32_t* record_;
  const std::vector<std::shared_ptr<tensor_storage>>& tensors_;
  std::string prefix_;
  std::vector<int32_t> dims_;
};

plan_step check_conv2d(const op_checker& c) {
  plan_step s{};
  s.op = PLAN_CONV2D;
  tensor_storage *input = c.tensor(0, false), *weight = c.tensor(1, false), *bias = c.tensor(2, true),
                 *output = c.tensor(3, false);
  const bool relu = c.boolean_flag(0);
  // weights packed by packConv carry the shape they were packed for (op-checks.h conv_pack_key)
  c.shape(conv2d_check(c.dims(), buffers_of(input, weight, bias, output), weight->packed_conv, c.prefix()));
  conv2d_params& p = s.conv;
  p = conv2d_params_of(c.dims());
  p.relu = relu;
  s.packed_weight = !weight->packed_conv.empty();
  s.packed_winograd = weight->packed_winograd;
  // the im2col workspace and the GEMM's k use 32-bit sizes
  const int64_t workspace = product({p.in_channels / p.groups, p.kernel_h, p.kernel_w, p.groups, p.out_height, p.out_width});
  if (workspace > MAX_KERNEL_ELEMENTS)
    c.fail("at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements", "im2col workspace", std::to_string(workspace));
  c.distinct(*output, input, weight, bias);
  s.in = input->data;
  s.weight = weight->data;
  s.bias = bias ? bias->data : nullptr;
  s.out = output->data;
  return s;
}

plan_step check_pool2d(const op_checker& c, bool is_max) {
  plan_step s{};
  s.op = is_max ? PLAN_MAX_POOL2D : PLAN_AVG_POOL2D;
  tensor_storage *input = c.tensor(0, false), *output = c.tensor(1, false);
  s.count_include_pad = is_max ? false : c.boolean_flag(0);
  c.shape(pool2d_check(c.dims(), buffers_of(input, output), c.prefix()));
  s.pool = pool2d_params_of(c.dims());
  c.distinct(*output, input, nullptr, nullptr);
  s.in = input->data;
  s.out = output->data;
  return s;
}

plan_step check_lrn(const op_checker& c, const float* scalars, size_t scalar_count) {
  plan_step s{};
  s.op = PLAN_LRN;
  tensor_storage *input = c.tensor(0, false), *output = c.tensor(1, false);
  const int32_t at = c.flag(0);
  if (at < 0 || static_cast<int64_t>(at) + 3 > static_cast<int64_t>(scalar_count))
    c.fail("an index of 3 scalars (alpha, beta, k) in scalars of " + std::to_string(scalar_count), "scalars index",
           std::to_string(at));
  for (int i = 0; i < 3; ++i)
    if (!std::isfinite(scalars[at + i]))
      c.fail("a finite number", std::string("scalars[") + std::to_string(at + i) + "] (" + (i == 0 ? "alpha" : i == 1 ? "beta" : "k") + ")",
             std::to_string(scalars[at + i]));
  c.shape(lrn_check(c.dims(), buffers_of(input, output), c.prefix()));
  s.lrn = lrn_params{c.dim(0), c.dim(1), c.dim(2), c.dim(3), c.dim(4), scalars[at], scalars[at + 1], scalars[at + 2]};
  c.distinct(*output, input, nullptr, nullptr);
  s.in = input->data;
  s.out = output->data;
  return s;
}

plan_step check_linear(const op_checker& c) {
  plan_step s{};
  s.op = PLAN_LINEAR;
  tensor_storage *input = c.tensor(0, false), *weight = c.tensor(1, false), *bias = c.tensor(2, true),
                 *output = c.tensor(3, false);
  const bool relu = c.boolean_flag(0);
  c.shape(linear_check(c.dims(), buffers_of(input, weight, bias, output), weight->packed_out_features,
                       weight->packed_in_features, weight->packed_precision, c.prefix()));
  s.linear_w = linear_weights_of(*weight);
  s.linear = linear_params{c.dim(0), c.dim(1), c.dim(2), relu};
  s.packed_weight = weight->packed_out_features != 0;
  c.distinct(*output, input, weight, bias);
  s.in = input->data;
  s.weight = weight->data;
  s.bias = bias ? bias->data : nullptr;
  s.out = output->data;
  return s;
}

plan_step check_softmax(const op_checker& c) {
  plan_step s{};
  s.op = PLAN_SOFTMAX;
  tensor_storage *input = c.tensor(0, false), *output = c.tensor(1, false);
  c.shape(softmax_check(c.dims(), buffers_of(input, output), c.prefix()));  // in place allowed
  s.softmax = softmax_params{c.dim(0), c.dim(1)};
  s.in = input->data;
  s.out = output->data;
  return s;
}

plan_step check_adaptive(const op_checker& c) {
  plan_step s{};
  s.op = PLAN_ADAPTIVE_AVG_POOL2D;
  tensor_storage *input = c.tensor(0, false), *output = c.tensor(1, false);
  c.shape(adaptive_avg_pool2d_check(c.dims(), buffers_of(input, output), c.prefix()));
  s.adaptive = adaptive_avgpool_params{c.dim(0), c.dim(1), c.dim(2), c.dim(3), c.dim(4), c.dim(5)};
  c.distinct(*output, input, nullptr, nullptr);
  s.in = input->data;
  s.out = output->data;
  return s;
}

plan_step check_relu(const op_checker& c) {
  plan_step s{};
  s.op = PLAN_RELU;
  tensor_storage *input = c.tensor(0, false), *output = c.tensor(1, false);
  c.shape(relu_check(c.dims(), buffers_of(input, output), c.prefix()));  // in place allowed
  s.length = static_cast<size_t>(c.dim(0));
  s.in = input->data;
  s.out = output->data;
  return s;
}

int run_step(const plan_step& s, thread_pool& pool) {
  switch (s.op) {
    case PLAN_CONV2D:
      return s.packed_weight ? conv2d_packed_forward_cpu(s.conv, s.in, s.weight, s.packed_winograd, s.bias, s.out, pool)
                             : conv2d_forward_cpu(s.conv, s.in, s.weight, s.bias, s.out, pool);
    case PLAN_MAX_POOL2D: return max_pool2d_forward_cpu(s.pool, s.in, s.out, pool);
    case PLAN_AVG_POOL2D: return avg_pool2d_forward_cpu(s.pool, s.count_include_pad, s.in, s.out, pool);
    case PLAN_LRN: return lrn_forward_cpu(s.lrn, s.in, s.out, pool);
    case PLAN_LINEAR:
      return linear_weights_forward_cpu(s.linear, s.in, s.linear_w, s.bias, s.out, pool);
    case PLAN_SOFTMAX: return softmax_forward_cpu(s.softmax, s.in, s.out, pool);
    case PLAN_ADAPTIVE_AVG_POOL2D: return adaptive_avgpool2d_forward_cpu(s.adaptive, s.in, s.out, pool);
    case PLAN_RELU: return relu_forward_cpu(s.length, s.in, s.out, pool);
  }
  return KERNEL_BAD_SHAPE;
}

// Runs the checked steps back to back on a libuv worker thread (the kernels fan out on the pool, whose
// workers are still spinning from the previous op: no JS round trip, no sleep between layers).
class plan_worker : public Napi::AsyncWorker {
 public:
  plan_worker(Napi::Env env, std::vector<plan_step> steps, std::vector<const char*> names,
              std::vector<std::shared_ptr<tensor_storage>> keep, Napi::Value times)
      : Napi::AsyncWorker(env, "runPlan"),
        deferred_(Napi::Promise::Deferred::New(env)),
        steps_(std::move(steps)),
        names_(std::move(names)),
        keep_(std::move(keep)) {
    if (times.IsTypedArray()) {
      times_ = Napi::Persistent(times.As<Napi::Object>());
      ns_.assign(steps_.size(), 0.0);
    }
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    thread_pool& pool = global_thread_pool();
    const bool timed = !ns_.empty();
    size_t i = 0;
    try {
      const auto start = std::chrono::steady_clock::now();
      auto before = start;
      for (; i < steps_.size(); ++i) {
        const int status = run_step(steps_[i], pool);
        if (timed) {
          const auto after = std::chrono::steady_clock::now();
          ns_[i] = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
          before = after;
        }
        if (status != KERNEL_OK) {
          error_ = op_error{"ERR_SHAPE", expected_message("dims the kernel accepts", step_name(i), "status " + std::to_string(status))};
          return;
        }
      }
      total_ns_ = static_cast<double>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    } catch (const std::bad_alloc&) {
      error_ = op_error{"ERR_ALLOC", expected_message("enough free memory", step_name(i), "an allocation failure")};
    } catch (const std::exception& e) {
      error_ = op_error{"ERR_INTERNAL", expected_message("no error", step_name(i), e.what())};
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
    if (!times_.IsEmpty()) {
      Napi::Float64Array times = times_.Value().As<Napi::Float64Array>();
      const size_t n = times.ElementLength() < ns_.size() ? times.ElementLength() : ns_.size();  // 0 when detached
      for (size_t i = 0; i < n; ++i) times[i] = ns_[i];
    }
    deferred_.Resolve(Napi::Number::New(env, total_ns_));
  }

  void OnError(const Napi::Error& error) override {
    keep_.clear();
    deferred_.Reject(error.Value());
  }

 private:
  std::string step_name(size_t i) const { return "plan op " + std::to_string(i) + " (" + names_[i] + ")"; }

  Napi::Promise::Deferred deferred_;
  std::vector<plan_step> steps_;
  std::vector<const char*> names_;
  std::vector<std::shared_ptr<tensor_storage>> keep_;
  Napi::ObjectReference times_;
  std::vector<double> ns_;
  double total_ns_ = 0;
  op_error error_{nullptr, {}};
};

}  // namespace

Napi::Value op_run_plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Value program_value = info[0], scalars_value = info[1], tensors_value = info[2], times_value = info[3];
  if (!program_value.IsTypedArray() || program_value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      program_value.As<Napi::TypedArray>().ElementLength() == 0)
    throw_expected(env, "ERR_ARG", "a non-empty Int32Array", "program", describe_value(program_value));
  if (!scalars_value.IsTypedArray() || scalars_value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_expected(env, "ERR_ARG", "a Float32Array", "scalars", describe_value(scalars_value));
  if (!tensors_value.IsArray()) throw_expected(env, "ERR_ARG", "an Array of NativeTensor", "tensors", describe_value(tensors_value));
  const Napi::Int32Array program_array = program_value.As<Napi::Int32Array>();
  const Napi::Float32Array scalars = scalars_value.As<Napi::Float32Array>();
  const Napi::Array tensors_array = tensors_value.As<Napi::Array>();

  std::vector<std::shared_ptr<tensor_storage>> tensors(tensors_array.Length());
  for (uint32_t i = 0; i < tensors_array.Length(); ++i)
    tensors[i] = arg_tensor(env, tensors_array.Get(i), "tensors[" + std::to_string(i) + "]");

  // copied: JS may change the program while the checked steps run
  const std::vector<int32_t> program(program_array.Data(), program_array.Data() + program_array.ElementLength());
  std::vector<plan_step> steps;
  std::vector<const char*> names;
  for (size_t at = 0; at < program.size();) {
    const size_t index = steps.size();
    const op_layout* layout = layout_of(program[at]);
    if (!layout)
      throw_expected(env, "ERR_SHAPE", "an opcode from 1 to 8",
                     "plan op " + std::to_string(index) + " (program[" + std::to_string(at) + "])", std::to_string(program[at]));
    if (at + layout->record() > program.size())
      throw_expected(env, "ERR_SHAPE", std::to_string(layout->record()) + " program values",
                     "plan op " + std::to_string(index) + " (" + layout->name + ")",
                     std::to_string(program.size() - at));
    const op_checker c(env, index, *layout, program.data() + at, tensors);
    switch (program[at]) {
      case PLAN_CONV2D: steps.push_back(check_conv2d(c)); break;
      case PLAN_MAX_POOL2D: steps.push_back(check_pool2d(c, true)); break;
      case PLAN_AVG_POOL2D: steps.push_back(check_pool2d(c, false)); break;
      case PLAN_LRN: steps.push_back(check_lrn(c, scalars.Data(), scalars.ElementLength())); break;
      case PLAN_LINEAR: steps.push_back(check_linear(c)); break;
      case PLAN_SOFTMAX: steps.push_back(check_softmax(c)); break;
      case PLAN_ADAPTIVE_AVG_POOL2D: steps.push_back(check_adaptive(c)); break;
      default: steps.push_back(check_relu(c)); break;
    }
    names.push_back(layout->name);
    at += layout->record();
  }

  if (!times_value.IsNull() && !times_value.IsUndefined() &&
      (!times_value.IsTypedArray() || times_value.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
       times_value.As<Napi::TypedArray>().ElementLength() < steps.size()))
    throw_expected(env, "ERR_ARG", "a Float64Array of at least " + std::to_string(steps.size()) + " elements (one per op) or null",
                   "times", describe_value(times_value));

  auto* worker = new plan_worker(env, std::move(steps), std::move(names), std::move(tensors), times_value);
  Napi::Promise promise = worker->promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

}  // namespace alexnet
