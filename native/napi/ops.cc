#include "napi/ops.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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
  for (cpu_isa isa : CPU_ISAS_BEST_FIRST)
    if (cpu_isa_supported(isa)) list += (list.empty() ? "" : ", ") + std::string(cpu_isa_name(isa));
  return list;
}

// parses an ISA name ('auto' = best) and makes it current; ERR_ARG for unknown names, ERR_ISA when the
// CPU (or this build) cannot run it
cpu_isa apply_isa(Napi::Env env, const std::string& name, const std::string& arg_name) {
  cpu_isa isa = cpu_isa_best();
  if (name != "auto" && !cpu_isa_parse(name.c_str(), &isa))
    throw_expected(env, "ERR_ARG", "one of 'avx512-vnni', 'avx512', 'avx2-vnni', 'avx2', 'portable', 'auto'", arg_name, "'" + name + "'");
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

// 'fp32' | 'bf16' | 'int8' (undefined: fp32); ERR_ARG otherwise
lowp_type arg_precision(Napi::Env env, const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || info[index].IsUndefined()) return lowp_type::fp32;
  const std::string name = arg_string(env, info[index], "precision");
  if (name == "bf16") return lowp_type::bf16;
  if (name == "int8") return lowp_type::int8;
  if (name != "fp32") throw_expected(env, "ERR_ARG", "one of 'fp32', 'bf16', 'int8'", "precision", "'" + name + "'");
  return lowp_type::fp32;
}

// the conv params that packed weights were packed for, from their conv_pack_key
// ("out,in,kh,kw,stride_h,stride_w,groups"; sizes and pads are not part of it)
conv2d_params conv_params_of_key(const std::string& key) {
  int v[7] = {0, 0, 0, 0, 0, 0, 0};
  size_t at = 0;
  for (int i = 0; i < 7 && at <= key.size(); ++i) {
    v[i] = std::atoi(key.c_str() + at);
    const size_t comma = key.find(',', at);
    at = comma == std::string::npos ? key.size() + 1 : comma + 1;
  }
  conv2d_params p{};
  p.out_channels = v[0];
  p.in_channels = v[1];
  p.kernel_h = v[2];
  p.kernel_w = v[3];
  p.stride_h = v[4];
  p.stride_w = v[5];
  p.groups = v[6];
  return p;
}

const char* precision_name(lowp_type t) { return t == lowp_type::int8 ? "int8" : t == lowp_type::bf16 ? "bf16" : "fp32"; }

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
  for (cpu_isa isa : CPU_ISAS_BEST_FIRST) {
    if (cpu_isa_supported(isa)) supported.push_back(cpu_isa_name(isa));
    if (cpu_isa_compiled(isa)) compiled.push_back(cpu_isa_name(isa));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("avx2", f.avx2);
  out.Set("fma", f.fma);
  out.Set("avx512f", f.avx512f);
  out.Set("avx512vnni", f.avx512_vnni);
  out.Set("avx512bf16", f.avx512_bf16);
  out.Set("avxvnni", f.avx_vnni);
  out.Set("isa", cpu_isa_name(cpu_isa_current()));
  Napi::Object lowp = Napi::Object::New(env);
  lowp.Set("bf16", lowp_kernel_name(lowp_type::bf16));
  lowp.Set("int8", lowp_kernel_name(lowp_type::int8));
  out.Set("lowpKernels", lowp);
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
  pack_linear_worker(Napi::Env env, std::shared_ptr<tensor_storage> storage, int out_features, int in_features,
                     lowp_type precision)
      : Napi::AsyncWorker(env, "packLinear"),
        deferred_(Napi::Promise::Deferred::New(env)),
        storage_(std::move(storage)),
        out_features_(out_features),
        in_features_(in_features),
        precision_(precision) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      if (precision_ != lowp_type::fp32) {
        // bf16 / int8: a new, smaller tensor; the fp32 one is freed when the last kernel reading it ends
        auto packed = std::make_shared<tensor_storage>(lowp_packed_floats(precision_, out_features_, in_features_), false);
        if (precision_ == lowp_type::bf16)
          bf16_pack_cpu(out_features_, in_features_, storage_->data, reinterpret_cast<uint16_t*>(packed->data),
                        global_thread_pool());
        else
          int8_pack_cpu(out_features_, in_features_, storage_->data, packed->data, global_thread_pool());
        packed->packed.out_features = out_features_;
        packed->packed.in_features = in_features_;
        packed->packed.precision = precision_;
        storage_ = std::move(packed);
        return;
      }
      // a kernel still reading the unpacked weights keeps its storage: then the packed tensor is a copy
      if (storage_.use_count() > 1) {
        auto copy = std::make_shared<tensor_storage>(storage_->length, false);
        std::memcpy(copy->data, storage_->data, storage_->length * sizeof(float));
        storage_ = std::move(copy);
      }
      linear_pack_cpu(out_features_, in_features_, storage_->data, global_thread_pool());
      storage_->packed.out_features = out_features_;
      storage_->packed.in_features = in_features_;
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
    NativeTensor::resolve_wrapped(deferred_, env, std::move(storage_));
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<tensor_storage> storage_;
  int out_features_, in_features_;
  lowp_type precision_;
  bool failed_ = false;
};

Napi::Value op_pack_linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto weight = arg_tensor(env, info[1], "weight");
  const linear_params p = linear_weight_dims(env, info[0], *weight, "weight");
  if (weight->packed.out_features != 0)
    throw_expected(env, "ERR_ARG", "an unpacked weight", "weight", "a NativeTensor packed by packLinear");
  const lowp_type precision = arg_precision(env, info, 2);
  // consume the handle now (it reads as disposed): the weights are packed in place, so no second copy
  // of 150 MB of fc6 exists while loading
  NativeTensor* handle = NativeTensor::unwrap_or_null(info[1]);
  std::shared_ptr<tensor_storage> storage = handle->take();
  weight.reset();
  auto* worker = new pack_linear_worker(env, std::move(storage), p.out_features, p.in_features, precision);
  Napi::Promise promise = worker->promise();
  worker->Queue();  // deletes itself after OnOK/OnError
  return promise;
}

Napi::Value op_unpack_linear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto packed = arg_tensor(env, info[1], "weight");
  const std::vector<int32_t> d = arg_dims(env, info[0], 2, "dims");
  check_dim(env, d, 0, "outFeatures", false);
  check_dim(env, d, 1, "inFeatures", false);
  const linear_params p{1, d[1], d[0], false};
  if (packed->packed.out_features != p.out_features || packed->packed.in_features != p.in_features)
    throw_expected(env, "ERR_ARG", "weights packed by packLinear for " + std::to_string(p.out_features) + " x " +
                   std::to_string(p.in_features), "weight", packed->packed.out_features ? "other dims" : "an unpacked NativeTensor");
  std::shared_ptr<tensor_storage> storage;
  try {
    storage = std::make_shared<tensor_storage>(static_cast<size_t>(p.out_features) * p.in_features, false);
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "unpackLinear", "an allocation failure");
  }
  if (packed->packed.precision == lowp_type::fp32) {
    linear_unpack_cpu(p.out_features, p.in_features, packed->data, storage->data, global_thread_pool());
  } else {
    // bf16: the rounded weights; int8: the quantized weights times their feature's scale
    lowp_unpack_cpu(packed->packed.precision, p.out_features, p.in_features, packed->data, storage->data);
    if (packed->packed.precision == lowp_type::int8) {
      const lowp_layout l = lowp_packed_layout(lowp_type::int8, p.out_features, p.in_features);
      const float* scales = reinterpret_cast<const float*>(reinterpret_cast<const uint8_t*>(packed->data) + l.scales_offset);
      for (int j = 0; j < p.out_features; ++j)
        for (int k = 0; k < p.in_features; ++k) storage->data[static_cast<size_t>(j) * p.in_features + k] *= scales[j];
    }
  }
  return NativeTensor::wrap(env, std::move(storage));
}

// the precision of weights packed by packLinear or packConv (or packQuantized), and for int8 their per-feature
// (per output channel) scales and static activation quantization: { precision, scales?, activationScale?,
// activationZeroPoint? }
Napi::Value op_linear_weight_info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto weight = arg_tensor(env, info[0], "weight");
  Napi::Object out = Napi::Object::New(env);
  const lowp_type t = weight->packed.precision;
  out.Set("precision", precision_name(t));
  if (t == lowp_type::int8 && !weight->packed.conv.empty()) {
    const conv2d_params p = conv_params_of_key(weight->packed.conv);
    Napi::Float32Array scales = Napi::Float32Array::New(env, static_cast<size_t>(p.out_channels));
    conv_int8_scales(p, weight->data, scales.Data());
    out.Set("scales", scales);
    out.Set("activationScale", weight->packed.act.scale);
    out.Set("activationZeroPoint", weight->packed.act.zero_point);
  } else if (t == lowp_type::int8) {
    const lowp_layout l = lowp_packed_layout(t, weight->packed.out_features, weight->packed.in_features);
    Napi::Float32Array scales = Napi::Float32Array::New(env, static_cast<size_t>(weight->packed.out_features));
    std::memcpy(scales.Data(), reinterpret_cast<const uint8_t*>(weight->data) + l.scales_offset,
                sizeof(float) * weight->packed.out_features);
    out.Set("scales", scales);
    out.Set("activationScale", weight->packed.act.scale);
    out.Set("activationZeroPoint", weight->packed.act.zero_point);
  }
  return out;
}

// static activation quantization of int8 linear or conv weights (a calibrated scale and zero point); scale 0
// returns to dynamic (per call) quantization
Napi::Value op_set_linear_activation_quant(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto weight = arg_tensor(env, info[0], "weight");
  if (weight->packed.precision != lowp_type::int8)
    throw_expected(env, "ERR_ARG", "int8 weights packed by packLinear or packConv", "weight", "other weights");
  if (!info[1].IsNumber() || !(info[1].As<Napi::Number>().FloatValue() >= 0.0f) ||
      !std::isfinite(info[1].As<Napi::Number>().FloatValue()))
    throw_expected(env, "ERR_ARG", "a finite scale >= 0", "scale", describe_value(info[1]));
  const int64_t zero_point = arg_integer(env, info[2], "zeroPoint", 0, 255);
  weight->packed.act = int8_act_quant{info[1].As<Napi::Number>().FloatValue(), static_cast<int>(zero_point)};
  return env.Undefined();
}

// For tests: the int32 sums of u8 a[m, k] x the int8 weights q[n, k]^T of int8 weights packed by
// packLinear (dims [m, n, k]), with the current ISA's kernel. Synchronous.
Napi::Value op_int8_gemm_i32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int32_t> d = arg_dims(env, info[0], 3, "dims");
  check_dim(env, d, 0, "m", false);
  check_dim(env, d, 1, "n", false);
  check_dim(env, d, 2, "k", false);
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_expected(env, "ERR_ARG", "a Uint8Array", "a", describe_value(info[1]));
  Napi::Uint8Array a = info[1].As<Napi::Uint8Array>();
  if (static_cast<int64_t>(a.ElementLength()) != static_cast<int64_t>(d[0]) * d[2])
    throw_expected(env, "ERR_SHAPE", std::to_string(static_cast<int64_t>(d[0]) * d[2]) + " elements", "a",
                   std::to_string(a.ElementLength()));
  auto weight = arg_tensor(env, info[2], "weight");
  if (weight->packed.precision != lowp_type::int8 || weight->packed.out_features != d[1] || weight->packed.in_features != d[2])
    throw_expected(env, "ERR_ARG", "int8 weights packed by packLinear for " + std::to_string(d[1]) + " x " + std::to_string(d[2]),
                   "weight", "other weights");
  Napi::Int32Array c = Napi::Int32Array::New(env, static_cast<size_t>(d[0]) * d[1]);
  int8_gemm_i32_cpu(d[0], d[1], d[2], a.Data(), weight->data, c.Data(), global_thread_pool());
  return c;
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
  if (!weight->packed.conv.empty() || weight->packed.out_features != 0)
    throw_expected(env, "ERR_ARG", "an unpacked weight", "weight", "a packed NativeTensor");
  const conv2d_params p = conv_weight_dims(env, info[0], *weight, true);
  const bool winograd = info.Length() < 3 || info[2].IsUndefined() ? true : arg_boolean(env, info[2], "winograd");
  const lowp_type precision = arg_precision(env, info, 3);
  std::shared_ptr<tensor_storage> storage;
  try {
    if (precision == lowp_type::bf16) {
      // held only in bf16: the direct panels, and with `winograd` the bf16 Winograd-domain weights after them
      storage = std::make_shared<tensor_storage>((conv_bf16_packed_bytes(p, winograd) + 3) / 4, true);  // zero: the gaps between groups
      conv_bf16_pack_cpu(p, weight->data, storage->data, winograd, global_thread_pool());
    } else if (precision != lowp_type::fp32) {
      // int8: held only in that precision (no fp32 panels, no Winograd-domain weights)
      storage = std::make_shared<tensor_storage>((conv_lowp_packed_bytes(precision, p) + 3) / 4, true);  // zero: the gaps between groups
      conv_lowp_pack_cpu(precision, p, weight->data, storage->data, global_thread_pool());
    } else {
      storage = std::make_shared<tensor_storage>(conv_packed_length(p, winograd), false);
      // packing allocates its own scratch (space-to-depth phases): keep it inside the guard
      conv_pack_cpu(p, weight->data, storage->data, winograd, global_thread_pool());
    }
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "packConv", "an allocation failure");
  }
  storage->packed.conv = conv_pack_key(p);
  storage->packed.precision = precision;
  // int8 holds no Winograd-domain weights; fp32 and bf16 hold them where Winograd applies (the kernels check)
  storage->packed.winograd = winograd && precision != lowp_type::int8;
  // consume the handle like packLinear: the plain copy is freed once no kernel reads it
  weight.reset();
  NativeTensor::unwrap_or_null(info[1])->take();
  return NativeTensor::wrap(env, std::move(storage));
}

Napi::Value op_unpack_conv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto packed = arg_tensor(env, info[1], "weight");
  const conv2d_params p = conv_weight_dims(env, info[0], *packed, false);
  if (packed->packed.conv != conv_pack_key(p))
    throw_expected(env, "ERR_ARG", "weights packed by packConv for " + conv_pack_key(p), "weight",
                   packed->packed.conv.empty() ? "an unpacked NativeTensor" : "weights packed for " + packed->packed.conv);
  std::shared_ptr<tensor_storage> storage;
  try {
    storage = std::make_shared<tensor_storage>(
        static_cast<size_t>(product({p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w})), false);
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "unpackConv", "an allocation failure");
  }
  if (packed->packed.precision != lowp_type::fp32)
    conv_lowp_unpack_cpu(packed->packed.precision, p, packed->data, storage->data);
  else
    conv_unpack_cpu(p, packed->data, storage->data, global_thread_pool());
  return NativeTensor::wrap(env, std::move(storage));
}

// int8 weights already quantized (the quantized safetensors file: q in [-127, 127] and a scale per output
// feature / channel), packed as packLinear / packConv pack them: dims [outFeatures, inFeatures] (linear) or
// conv2d's 16 (conv). q is an Int8Array, or { path, byteOffset } of the file holding it: then it is read here
// a few hundred rows at a time, so the packed copy is the only whole one (fc6: 36 MB, not 72).
Napi::Value op_pack_quantized(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_expected(env, "ERR_ARG", "an Int32Array of 2 (linear) or 16 (conv2d) dims", "dims", describe_value(info[0]));
  const bool conv = info[0].As<Napi::Int32Array>().ElementLength() == 16;
  const std::vector<int32_t> d = arg_dims(env, info[0], conv ? 16 : 2, "dims");
  conv2d_params p{};
  int64_t out = 0, count = 0;
  if (conv) {
    check_shape(env, conv2d_weight_check(d.data()));
    p = conv2d_params_of(d.data());
    out = p.out_channels;
    count = product({p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w});
  } else {
    check_dim(env, d, 0, "outFeatures", false);
    check_dim(env, d, 1, "inFeatures", false);
    out = d[0];
    count = product({d[0], d[1]});
  }
  const int64_t row_length = count / out;
  const int8_t* q_array = nullptr;
  std::string path;
  int64_t byte_offset = 0;
  if (info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_int8_array) {
    Napi::Int8Array q = info[1].As<Napi::Int8Array>();
    if (static_cast<int64_t>(q.ElementLength()) != count)
      throw_expected(env, "ERR_SHAPE", std::to_string(count) + " elements", "q", std::to_string(q.ElementLength()));
    q_array = q.Data();
  } else if (info[1].IsObject() && !info[1].IsTypedArray() && info[1].As<Napi::Object>().Has("path")) {
    Napi::Object source = info[1].As<Napi::Object>();
    path = arg_string(env, source.Get("path"), "q.path");
    byte_offset = arg_integer(env, source.Get("byteOffset"), "q.byteOffset", 0, static_cast<int64_t>(MAX_SAFE_INTEGER));
  } else {
    throw_expected(env, "ERR_ARG", "an Int8Array or { path, byteOffset }", "q", describe_value(info[1]));
  }
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_expected(env, "ERR_ARG", "a Float32Array", "scales", describe_value(info[2]));
  Napi::Float32Array scales = info[2].As<Napi::Float32Array>();
  if (static_cast<int64_t>(scales.ElementLength()) != out)
    throw_expected(env, "ERR_SHAPE", std::to_string(out) + " elements", "scales", std::to_string(scales.ElementLength()));
  for (size_t i = 0; i < scales.ElementLength(); ++i)
    if (!(scales[i] > 0.0f) || !std::isfinite(scales[i]))
      throw_expected(env, "ERR_ARG", "finite scales > 0", "scales[" + std::to_string(i) + "]", std::to_string(scales[i]));

  FILE* file = nullptr;
  if (!path.empty()) {
    file = std::fopen(path.c_str(), "rb");
    if (!file) throw_expected(env, "ERR_WEIGHTS", "a readable file", "q.path", path);
  }
  struct file_closer {
    FILE* f;
    ~file_closer() {
      if (f) std::fclose(f);
    }
  } file_guard{file};
  // rows [row, row + rows) of q: from the array, or read from the file; -128 refused (symmetric int8)
  std::string problem;
  const auto fetch = [&](int64_t row, int64_t rows, std::vector<int8_t>& buffer) -> const int8_t* {
    const size_t bytes = static_cast<size_t>(rows * row_length);
    const int8_t* q = q_array ? q_array + row * row_length : nullptr;
    if (!q) {
      buffer.resize(bytes);
      if (fseeko(file, static_cast<off_t>(byte_offset + row * row_length), SEEK_SET) != 0 ||
          std::fread(buffer.data(), 1, bytes, file) != bytes) {
        problem = expected_message(std::to_string(count) + " bytes of int8 weights at offset " + std::to_string(byte_offset),
                                   path, "a file that ends early or cannot be read");
        return nullptr;
      }
      q = buffer.data();
    }
    for (size_t i = 0; i < bytes; ++i)
      if (q[i] == -128) {
        problem = expected_message("int8 weights in [-127, 127]", "q[" + std::to_string(row * row_length + static_cast<int64_t>(i)) + "]", "-128");
        return nullptr;
      }
    return q;
  };
  std::shared_ptr<tensor_storage> storage;
  try {
    std::vector<int8_t> buffer;
    if (conv) {
      storage = std::make_shared<tensor_storage>((conv_lowp_packed_bytes(lowp_type::int8, p) + 3) / 4, true);  // zero: the gaps between groups
      const int8_t* q = fetch(0, out, buffer);
      if (q) conv_int8_pack_quantized_cpu(p, q, scales.Data(), storage->data, global_thread_pool());
      storage->packed.conv = conv_pack_key(p);
    } else {
      storage = std::make_shared<tensor_storage>(lowp_packed_floats(lowp_type::int8, d[0], d[1]), false);
      constexpr int64_t CHUNK_ROWS = 16 * LOWP_PANEL;  // fc6: 2.4 MB at a time
      for (int64_t row = 0; row < out && problem.empty(); row += CHUNK_ROWS) {
        const int64_t rows = std::min<int64_t>(CHUNK_ROWS, out - row);
        const int8_t* q = fetch(row, rows, buffer);
        if (q)
          int8_pack_quantized_rows_cpu(d[0], d[1], static_cast<int>(row), static_cast<int>(rows), q, scales.Data(), storage->data,
                                       global_thread_pool());
      }
      storage->packed.out_features = d[0];
      storage->packed.in_features = d[1];
    }
  } catch (const std::bad_alloc&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "packQuantized", "an allocation failure");
  }
  if (!problem.empty()) {
    storage.reset();
    throw make_error(env, path.empty() || problem.rfind("Expected int8", 0) == 0 ? "ERR_ARG" : "ERR_WEIGHTS", problem);
  }
  storage->packed.precision = lowp_type::int8;
  return NativeTensor::wrap(env, std::move(storage));
}

}  // namespace alexnet
