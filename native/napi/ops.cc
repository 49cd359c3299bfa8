#include "napi/ops.h"

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"
#include "napi/args.h"
#include "napi/errors.h"
#include "napi/native-tensor.h"

namespace alexnet {
namespace {

constexpr int MAX_THREADS = 1024;

std::string supported_isa_list() {
  std::string list;
  for (cpu_isa isa : {cpu_isa::avx512, cpu_isa::avx2, cpu_isa::portable})
    if (cpu_isa_supported(isa)) list += (list.empty() ? "" : ", ") + std::string(cpu_isa_name(isa));
  return list;
}

// parses an ISA name ('auto' = best) and makes it current; ERR_ARG for unknown names, ERR_ISA when the
// CPU (or this build) cannot run it
cpu_isa apply_isa(Napi::Env env, const std::string& name, const std::string& arg_name) {
  cpu_isa isa = cpu_isa_best();
  if (name != "auto" && !cpu_isa_parse(name.c_str(), &isa))
    throw_expected(env, "ERR_ARG", "one of 'avx512', 'avx2', 'portable', 'auto'", arg_name, "'" + name + "'");
  if (!cpu_set_isa(isa))
    throw_expected(env, "ERR_ISA", "a kernel set this CPU supports (" + supported_isa_list() + ")", arg_name,
                   "'" + name + "'");
  return isa;
}

Napi::Array string_array(Napi::Env env, const std::vector<std::string>& items) {
  Napi::Array array = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) array.Set(static_cast<uint32_t>(i), items[i]);
  return array;
}

}  // namespace

void isa_init_from_env(Napi::Env env) {
  const char* forced = std::getenv("ALEXNET_CLI_ISA");
  if (forced && *forced) apply_isa(env, forced, "ALEXNET_CLI_ISA");
}

Napi::Value op_backends(const Napi::CallbackInfo& info) { return string_array(info.Env(), {"cpu"}); }

Napi::Value op_cpu_features(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const cpu_feature_report& f = cpu_features();
  std::vector<std::string> supported, compiled;
  for (cpu_isa isa : {cpu_isa::avx512, cpu_isa::avx2, cpu_isa::portable}) {
    if (cpu_isa_supported(isa)) supported.push_back(cpu_isa_name(isa));
    if (cpu_isa_compiled(isa)) compiled.push_back(cpu_isa_name(isa));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("avx2", f.avx2);
  out.Set("fma", f.fma);
  out.Set("avx512f", f.avx512f);
  out.Set("isa", cpu_isa_name(cpu_isa_current()));
  out.Set("supported", string_array(env, supported));
  out.Set("compiled", string_array(env, compiled));
  return out;
}

Napi::Value op_set_isa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string name = arg_string(env, info[0], "isa");
  return Napi::String::New(env, cpu_isa_name(apply_isa(env, name, "isa")));
}

Napi::Value op_set_threads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int threads = static_cast<int>(arg_integer(env, info[0], "threads", 1, MAX_THREADS));
  // waits for a kernel that is running on the pool; starting threads can fail
  try {
    global_thread_pool().resize(threads);
  } catch (const std::exception&) {
    throw_expected(env, "ERR_ALLOC", "threads the OS can start", "threads", std::to_string(threads));
  }
  return env.Undefined();
}

Napi::Value op_get_threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), global_thread_pool().size());
}

Napi::Value op_alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  arg_device(env, info[0], "device");
  const int64_t length = arg_integer(env, info[1], "length", 0, static_cast<int64_t>(MAX_SAFE_INTEGER));
  std::shared_ptr<tensor_storage> storage;
  try {
    storage = std::make_shared<tensor_storage>(static_cast<size_t>(length), true);
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "alloc(" + std::to_string(length) + ")", "an allocation failure");
  }
  return NativeTensor::wrap(env, std::move(storage));
}

// dims [outFeatures, inFeatures] of a linear weight, checked against the tensor's length
static linear_params linear_weight_dims(Napi::Env env, const Napi::Value& value, const tensor_storage& weight,
                                        const std::string& name) {
  const std::vector<int32_t> d = arg_dims(env, value, 2, "dims");
  check_dim(env, d, 0, "outFeatures", false);
  check_dim(env, d, 1, "inFeatures", false);
  check_length_exact(env, weight, product({d[0], d[1]}), name);
  return linear_params{1, d[1], d[0], false};
}

// Packs on a libuv worker thread (a few hundred ms for fc6 at load: the event loop keeps running).
class pack_linear_worker : public Napi::AsyncWorker {
 public:
  pack_linear_worker(Napi::Env env, std::shared_ptr<tensor_storage> storage, int out_features, int in_features)
      : Napi::AsyncWorker(env, "packLinear"),
        deferred_(Napi::Promise::Deferred::New(env)),
        storage_(std::move(storage)),
        out_features_(out_features),
        in_features_(in_features) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      // a kernel still reading the unpacked weights keeps its storage: then the packed tensor is a copy
      if (storage_.use_count() > 1) {
        auto copy = std::make_shared<tensor_storage>(storage_->length, false);
        std::memcpy(copy->data, storage_->data, storage_->length * sizeof(float));
        storage_ = std::move(copy);
      }
      linear_pack_cpu(out_features_, in_features_, storage_->data, global_thread_pool());
      storage_->packed_out_features = out_features_;
      storage_->packed_in_features = in_features_;
    } catch (const std::bad_alloc&) {
      failed_ = true;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failed_) {
      storage_.reset();
      deferred_.Reject(make_error(env, "ERR_ALLOC", expected_message("enough free memory", "packLinear", "an allocation failure")).Value());
      return;
    }
    try {
      deferred_.Resolve(NativeTensor::wrap(env, std::move(storage_)));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<tensor_storage> storage_;
  int out_features_, in_features_;
  bool failed_ = false;
};

Napi::Value op_pack_linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto weight = arg_tensor(env, info[1], "weight");
  const linear_params p = linear_weight_dims(env, info[0], *weight, "weight");
  if (weight->packed_out_features != 0)
    throw_expected(env, "ERR_ARG", "an unpacked weight", "weight", "a NativeTensor packed by packLinear");
  // consume the handle now (it reads as disposed): the weights are packed in place, so no second copy
  // of 150 MB of fc6 exists while loading
  NativeTensor* handle = NativeTensor::unwrap_or_null(info[1]);
  std::shared_ptr<tensor_storage> storage = handle->take();
  weight.reset();
  auto* worker = new pack_linear_worker(env, std::move(storage), p.out_features, p.in_features);
  Napi::Promise promise = worker->promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

Napi::Value op_unpack_linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto packed = arg_tensor(env, info[1], "weight");
  const linear_params p = linear_weight_dims(env, info[0], *packed, "weight");
  if (packed->packed_out_features != p.out_features || packed->packed_in_features != p.in_features)
    throw_expected(env, "ERR_ARG", "weights packed by packLinear for " + std::to_string(p.out_features) + " x " +
                   std::to_string(p.in_features), "weight", packed->packed_out_features ? "other dims" : "an unpacked NativeTensor");
  std::shared_ptr<tensor_storage> storage;
  try {
    storage = std::make_shared<tensor_storage>(packed->length, false);
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "unpackLinear", "an allocation failure");
  }
  linear_unpack_cpu(p.out_features, p.in_features, packed->data, storage->data, global_thread_pool());
  return NativeTensor::wrap(env, std::move(storage));
}

Napi::Value op_peak_gflops(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  thread_pool& pool = global_thread_pool();
  const int64_t threads = arg_integer_or(env, info[0], "threads", 1, MAX_THREADS, pool.size());
  if (threads != pool.size())
    throw_expected(env, "ERR_ARG", "the kernel threads (" + std::to_string(pool.size()) + ")", "threads", std::to_string(threads));
  return Napi::Number::New(env, cpu_peak_gflops(pool));
}

Napi::Value op_memory_bandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t megabytes = arg_integer_or(env, info[0], "megabytes", 1, 65536, 256);
  memory_bandwidth bandwidth{0, 0};
  try {
    bandwidth = cpu_memory_bandwidth(static_cast<size_t>(megabytes) << 20, global_thread_pool());
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "memoryBandwidth(" + std::to_string(megabytes) + ")",
                   "an allocation failure");
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("readGBps", bandwidth.read_gbps);
  out.Set("copyGBps", bandwidth.copy_gbps);
  return out;
}

// dims as conv2d's (batch, sizes and pads are ignored, but must be valid) and a plain OIHW weight
static conv2d_params conv_weight_dims(Napi::Env env, const Napi::Value& value, const tensor_storage& weight,
                                      bool plain) {
  const std::vector<int32_t> d = arg_dims(env, value, 16, "dims");
  check_shape(env, conv2d_weight_check(d.data()));
  const conv2d_params p = conv2d_params_of(d.data());
  if (plain) check_length_exact(env, weight, product({p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w}), "weight");
  return p;
}

Napi::Value op_pack_conv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto weight = arg_tensor(env, info[1], "weight");
  if (!weight->packed_conv.empty() || weight->packed_out_features != 0)
    throw_expected(env, "ERR_ARG", "an unpacked weight", "weight", "a packed NativeTensor");
  const conv2d_params p = conv_weight_dims(env, info[0], *weight, true);
  const bool winograd = info.Length() < 3 || info[2].IsUndefined() ? true : arg_boolean(env, info[2], "winograd");
  std::shared_ptr<tensor_storage> storage;
  try {
    storage = std::make_shared<tensor_storage>(conv_packed_length(p, winograd), false);
    // packing allocates its own scratch (space-to-depth phases): keep it inside the guard
    conv_pack_cpu(p, weight->data, storage->data, winograd, global_thread_pool());
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "packConv", "an allocation failure");
  }
  storage->packed_conv = conv_pack_key(p);
  storage->packed_winograd = winograd;
  // consume the handle like packLinear: the plain copy is freed once no kernel reads it
  weight.reset();
  NativeTensor::unwrap_or_null(info[1])->take();
  return NativeTensor::wrap(env, std::move(storage));
}

Napi::Value op_unpack_conv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto packed = arg_tensor(env, info[1], "weight");
  const conv2d_params p = conv_weight_dims(env, info[0], *packed, false);
  if (packed->packed_conv != conv_pack_key(p))
    throw_expected(env, "ERR_ARG", "weights packed by packConv for " + conv_pack_key(p), "weight",
                   packed->packed_conv.empty() ? "an unpacked NativeTensor" : "weights packed for " + packed->packed_conv);
  std::shared_ptr<tensor_storage> storage;
  try {
    storage = std::make_shared<tensor_storage>(
        static_cast<size_t>(product({p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w})), false);
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "unpackConv", "an allocation failure");
  }
  conv_unpack_cpu(p, packed->data, storage->data, global_thread_pool());
  return NativeTensor::wrap(env, std::move(storage));
}

}  // namespace alexnet
