// How both addons run ops, one path for all: runPlan(program, scalars, tensors, times) and the single-op
// exports (conv2d(dims, input, weight, bias, output, relu), ..., relu(input, output)), which become
// one-record plans; export_plan_ops adds them all to an addon's exports, from the op table. Every record is checked on the main thread with the op table (op-table.h) before
// anything runs, so a bad one is a coded JS error thrown at the call; then a plan_worker runs the steps
// back to back on a libuv worker thread (no JS round trip between ops) and resolves with the native time
// in nanoseconds. The worker holds the tensors' storage, so a dispose() or GC meanwhile cannot free memory
// under a kernel. Nothing here may throw past Execute(): errors become an op_error and reject the Promise.
//
// A single op's messages name its arguments as before ("output"), a plan's name the op ("plan op 3
// (conv2d) output"). `Backend` is what differs between the addons (run-plan.cc, cuda/cuda-plan.cc):
//   using storage = tensor_storage | device_storage;
//   static constexpr bool cpu;                          the CPU kernels' limits apply (op_record::cpu)
//   static std::shared_ptr<storage> tensor(env, value, name, const storage* first);
//       a live tensor of this addon (ERR_ARG, ERR_DISPOSED, ERR_DEVICE), on first's device when given
//   static std::shared_ptr<storage> tensor_or_null(env, value, name, const storage* first);
//   static op_tensor view(const storage&);
//   static int device_of(const storage&);               what run() gets as `device`
//   static void prepare(op_step*);                      settings taken at the call (CUDA: GEMM precision)
//   static op_error run(const std::vector<op_step>&, int device, double* ns, double* total_ns, size_t* at,
//                       const step_namer& name);
//       runs and times the steps (ns[i] per step when ns is not null), *at the step running
#pragma once

#include <napi.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "napi/args.h"
#include "napi/errors.h"
#include "napi/op-table.h"

namespace alexnet {

using step_namer = std::function<std::string(size_t)>;

template <class Backend>
class plan_worker : public Napi::AsyncWorker {
 public:
  using storage = typename Backend::storage;

  plan_worker(Napi::Env env, std::vector<op_step> steps, bool single, int device,
              std::vector<std::shared_ptr<storage>> keep, const Napi::Value& times)
      : Napi::AsyncWorker(env, single ? steps.front().def->name : "runPlan"),
        deferred_(Napi::Promise::Deferred::New(env)),
        steps_(std::move(steps)),
        single_(single),
        device_(device),
        keep_(std::move(keep)) {
    if (times.IsTypedArray()) {
      times_ = Napi::Persistent(times.As<Napi::Object>());
      ns_.assign(steps_.size(), 0.0);
    }
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    size_t at = 0;
    try {
      error_ = Backend::run(steps_, device_, ns_.empty() ? nullptr : ns_.data(), &total_ns_, &at,
                            [this](size_t i) { return step_name(i); });
    } catch (const std::bad_alloc&) {
      error_ = op_error{"ERR_ALLOC", expected_message("enough free memory", step_name(at), "an allocation failure")};
    } catch (const std::exception& e) {
      error_ = op_error{"ERR_INTERNAL", expected_message("no error", step_name(at), e.what())};
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
  std::string step_name(size_t i) const {
    const char* name = steps_[i].def->name;
    return single_ ? std::string(name) : "plan op " + std::to_string(i) + " (" + name + ")";
  }

  Napi::Promise::Deferred deferred_;
  std::vector<op_step> steps_;
  bool single_;
  int device_;
  std::vector<std::shared_ptr<storage>> keep_;
  Napi::ObjectReference times_;
  std::vector<double> ns_;
  double total_ns_ = 0;
  op_error error_{nullptr, {}};
};

// Checks every record of `program` and queues the worker; returns its Promise<total ns>
template <class Backend>
Napi::Value plan_call(Napi::Env env, const std::vector<int32_t>& program, const float* scalars, size_t scalar_count,
                      std::vector<std::shared_ptr<typename Backend::storage>> tensors, const Napi::Value& times,
                      bool single) {
  std::vector<op_tensor> views;
  views.reserve(tensors.size());
  for (const auto& t : tensors) views.push_back(Backend::view(*t));
  std::vector<op_step> steps;
  for (size_t at = 0; at < program.size();) {
    const std::string index = std::to_string(steps.size());
    const op_def* def = op_def_of(program[at]);
    if (!def)
      throw_expected(env, "ERR_SHAPE", "an opcode from 1 to " + std::to_string(PLAN_OPCODE_LAST),
                     "plan op " + index + " (program[" + std::to_string(at) + "])", std::to_string(program[at]));
    if (at + def->record() > program.size())
      throw_expected(env, "ERR_SHAPE", std::to_string(def->record()) + " program values",
                     "plan op " + index + " (" + def->name + ")", std::to_string(program.size() - at));
    op_step step;
    const std::string prefix = single ? "" : "plan op " + index + " (" + def->name + ") ";
    const op_error error = op_decode(*def, program.data() + at, views, scalars, scalar_count, prefix, Backend::cpu, &step);
    if (error.code) throw make_error(env, error.code, error.message);
    Backend::prepare(&step);
    steps.push_back(step);
    at += def->record();
  }
  if (!times.IsNull() && !times.IsUndefined() &&
      (!times.IsTypedArray() || times.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
       times.As<Napi::TypedArray>().ElementLength() < steps.size()))
    throw_expected(env, "ERR_ARG", "a Float64Array of at least " + std::to_string(steps.size()) + " elements (one per op) or null",
                   "times", describe_value(times));
  const int device = tensors.empty() ? 0 : Backend::device_of(*tensors.front());
  auto* worker = new plan_worker<Backend>(env, std::move(steps), single, device, std::move(tensors), times);
  Napi::Promise promise = worker->promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

// runPlan(program: Int32Array, scalars: Float32Array, tensors: NativeTensor[], times: Float64Array | null)
template <class Backend>
Napi::Value run_plan_call(const Napi::CallbackInfo& info) {
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

  std::vector<std::shared_ptr<typename Backend::storage>> tensors(tensors_array.Length());
  for (uint32_t i = 0; i < tensors_array.Length(); ++i)
    tensors[i] = Backend::tensor(env, tensors_array.Get(i), "tensors[" + std::to_string(i) + "]",
                                 i == 0 ? nullptr : tensors[0].get());
  // copied: JS may change the program while the checked steps run
  const std::vector<int32_t> program(program_array.Data(), program_array.Data() + program_array.ElementLength());
  const std::vector<float> scalar_copy(scalars.Data(), scalars.Data() + scalars.ElementLength());
  return plan_call<Backend>(env, program, scalar_copy.data(), scalar_copy.size(), std::move(tensors), times_value, false);
}

// A single op as a one-record plan; its arguments in the order of the record: dims (unless the op takes
// none: relu's are its input's length), the tensors (the optional one may be null), then each flag as a
// boolean, or, for an op with scalars (LRN), the scalars as numbers in place of its scalars index
template <class Backend>
Napi::Value single_op_call(const Napi::CallbackInfo& info, plan_opcode opcode) {
  Napi::Env env = info.Env();
  const op_def& def = *op_def_of(opcode);
  std::vector<int32_t> record(def.record(), 0);
  record[0] = opcode;
  size_t arg = 0;
  if (def.dims_arg) {
    const std::vector<int32_t> dims = arg_dims(env, info[arg++], def.dims, "dims");
    std::copy(dims.begin(), dims.end(), record.begin() + 1);
  }
  std::vector<std::shared_ptr<typename Backend::storage>> tensors;
  for (int t = 0; t < def.tensors; ++t) {
    const typename Backend::storage* first = tensors.empty() ? nullptr : tensors.front().get();
    auto tensor = t == def.optional_tensor ? Backend::tensor_or_null(env, info[arg++], def.tensor_names[t], first)
                                           : Backend::tensor(env, info[arg++], def.tensor_names[t], first);
    record[1 + def.dims + t] = tensor ? static_cast<int32_t>(tensors.size()) : -1;
    if (tensor) tensors.push_back(std::move(tensor));
  }
  std::vector<float> scalars;
  for (int f = 0; f < def.flags; ++f) {
    int32_t& flag = record[1 + def.dims + def.tensors + f];
    if (def.scalars > 0 && f == 0) {
      for (int i = 0; i < def.scalars; ++i) scalars.push_back(arg_finite_float(env, info[arg++], def.scalar_names[i]));
      flag = 0;
    } else {
      flag = arg_boolean(env, info[arg++], def.flag_names[f]) ? 1 : 0;
    }
  }
  if (!def.dims_arg) {
    const size_t length = tensors.front()->length;
    if (length > static_cast<size_t>(MAX_KERNEL_ELEMENTS))
      throw_expected(env, "ERR_SHAPE", "a NativeTensor of at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements",
                     def.tensor_names[0], "NativeTensor(" + std::to_string(length) + ")");
    record[1] = static_cast<int32_t>(length);
  }
  return plan_call<Backend>(env, record, scalars.data(), scalars.size(), std::move(tensors), env.Null(), true);
}

// One single-op export: its op_def rides in the function's data
template <class Backend>
Napi::Value single_op_export(const Napi::CallbackInfo& info) {
  return single_op_call<Backend>(info, static_cast<const op_def*>(info.Data())->opcode);
}

// The op exports of an addon, from the op table: runPlan, and per op a function named as the op
// (conv2d(), maxPool2d(), ..., relu(): op_def::name, the Binding member of lib/native.ts), a one-record plan
template <class Backend>
void export_plan_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("runPlan", Napi::Function::New(env, run_plan_call<Backend>, "runPlan"));
  for (int opcode = 1; opcode <= PLAN_OPCODE_LAST; ++opcode) {
    const op_def* def = op_def_of(opcode);
    exports.Set(def->name, Napi::Function::New(env, single_op_export<Backend>, def->name, const_cast<op_def*>(def)));
  }
}

}  // namespace alexnet
