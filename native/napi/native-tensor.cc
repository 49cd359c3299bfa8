#include "napi/native-tensor.h"

#include <cstring>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "kernels/cpu/aligned-buffer.h"
#include "napi/addon-state.h"
#include "napi/args.h"
#include "napi/errors.h"

namespace alexnet {

namespace {

constexpr size_t MAP_THRESHOLD_BYTES = size_t{1} << 20;

}  // namespace

tensor_storage::tensor_storage(size_t count, bool zero) : length(count) {
#if defined(__linux__)
  const size_t bytes = count * sizeof(float);
  if (count <= (static_cast<size_t>(-1) >> 3) && bytes >= MAP_THRESHOLD_BYTES) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);  // a hint: THP may be off or "never"
#endif
    data = static_cast<float*>(p);  // page aligned, and zero-filled by the OS
    mapped_bytes = bytes;
    return;
  }
#endif
  data = aligned_floats_alloc(count);
  if (zero) std::memset(data, 0, count * sizeof(float));
}

tensor_storage::~tensor_storage() {
#if defined(__linux__)
  if (mapped_bytes) {
    munmap(data, mapped_bytes);
    return;
  }
#endif
  aligned_floats_free(data);
}

void NativeTensor::init_class(Napi::Env env) {
  Napi::Function constructor = DefineClass(env, "NativeTensor",
                                           {
                                               InstanceAccessor<&NativeTensor::get_device>("device"),
                                               InstanceAccessor<&NativeTensor::get_length>("length"),
                                               InstanceMethod<&NativeTensor::write>("write"),
                                               InstanceMethod<&NativeTensor::read>("read"),
                                               InstanceMethod<&NativeTensor::dispose>("dispose"),
                                           });
  get_addon_state(env).tensor_constructor = Napi::Persistent(constructor);
}

Napi::Object NativeTensor::wrap(Napi::Env env, std::shared_ptr<tensor_storage> storage) {
  Napi::Object object = get_addon_state(env).tensor_constructor.New({Napi::External<std::shared_ptr<tensor_storage>>::New(env, &storage)});
  return object;
}

NativeTensor* NativeTensor::unwrap_or_null(const Napi::Value& value) {
  if (!value.IsObject()) return nullptr;
  Napi::Env env = value.Env();
  const addon_state& state = get_addon_state(env);
  if (state.tensor_constructor.IsEmpty() || !value.As<Napi::Object>().InstanceOf(state.tensor_constructor.Value()))
    return nullptr;
  return Unwrap(value.As<Napi::Object>());
}

// Only wrap() constructs these: it passes the storage as an External.
NativeTensor::NativeTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTensor>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw make_error(info.Env(), "ERR_ARG", "Expected alloc() or fromFile() for NativeTensor but received new NativeTensor()");
  storage_ = *info[0].As<Napi::External<std::shared_ptr<tensor_storage>>>().Data();
  device_ = storage_->device;
  length_ = storage_->length;
  accounted_bytes_ = static_cast<int64_t>(length_ * sizeof(float));
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), accounted_bytes_);
}

NativeTensor::~NativeTensor() { release(); }

void NativeTensor::release() {
  storage_.reset();  // freed now, or when the last kernel using it finishes
  if (accounted_bytes_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(Env(), -accounted_bytes_);
    accounted_bytes_ = 0;
  }
}

std::shared_ptr<tensor_storage> NativeTensor::take() {
  std::shared_ptr<tensor_storage> storage = storage_;
  release();
  return storage;
}

tensor_storage& NativeTensor::live(Napi::Env env) {
  if (!storage_) throw_expected(env, "ERR_DISPOSED", "a live NativeTensor", "this", "a disposed NativeTensor");
  return *storage_;
}

Napi::Value NativeTensor::get_device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), device_); }

Napi::Value NativeTensor::get_length(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(length_));
}

Napi::Value NativeTensor::write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tensor_storage& storage = live(env);
  const Napi::Value src = info[0];
  if (!src.IsTypedArray() || src.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_expected(env, "ERR_ARG", "a Float32Array", "src", describe_value(src));
  const Napi::Float32Array array = src.As<Napi::Float32Array>();
  const int64_t length = static_cast<int64_t>(storage.length);
  const int64_t offset = arg_integer_or(env, info[1], "offset", 0, length, 0);
  const int64_t count = static_cast<int64_t>(array.ElementLength());
  if (count > length - offset)
    throw_expected(env, "ERR_SHAPE", "at most " + std::to_string(length - offset) + " elements (length " +
                   std::to_string(length) + " - offset " + std::to_string(offset) + ")", "src", describe_value(src));
  if (count > 0) std::memcpy(storage.data + offset, array.Data(), static_cast<size_t>(count) * sizeof(float));
  return env.Undefined();
}

Napi::Value NativeTensor::read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tensor_storage& storage = live(env);
  const int64_t length = static_cast<int64_t>(storage.length);
  const int64_t offset = arg_integer_or(env, info[0], "offset", 0, length, 0);
  const int64_t count = arg_integer_or(env, info[1], "length", 0, length - offset, length - offset);
  Napi::Float32Array out;
  try {
    out = Napi::Float32Array::New(env, static_cast<size_t>(count));
  } catch (const Napi::Error&) {
    throw_expected(env, "ERR_ALLOC", "enough free memory", "read(" + std::to_string(count) + ")", "an allocation failure");
  }
  if (count > 0) std::memcpy(out.Data(), storage.data + offset, static_cast<size_t>(count) * sizeof(float));
  return out;
}

Napi::Value NativeTensor::dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

std::string describe_tensor(const Napi::Value& value) {
  NativeTensor* tensor = NativeTensor::unwrap_or_null(value);
  if (!tensor) return "";
  if (!tensor->storage()) return "a disposed NativeTensor";
  return "NativeTensor(" + std::to_string(tensor->storage()->length) + ")";
}

std::string arg_device(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsString() || value.As<Napi::String>().Utf8Value() != "cpu")
    throw_expected(env, value.IsString() ? "ERR_DEVICE" : "ERR_ARG", "'cpu'", name, describe_value(value));
  return "cpu";
}

std::shared_ptr<tensor_storage> arg_tensor(Napi::Env env, const Napi::Value& value, const std::string& name) {
  NativeTensor* tensor = NativeTensor::unwrap_or_null(value);
  if (!tensor) throw_expected(env, "ERR_ARG", "a NativeTensor", name, describe_value(value));
  if (!tensor->storage()) throw_expected(env, "ERR_DISPOSED", "a live NativeTensor", name, "a disposed NativeTensor");
  if (tensor->storage()->device != "cpu")
    throw_expected(env, "ERR_DEVICE", "a NativeTensor on 'cpu'", name, "one on '" + tensor->storage()->device + "'");
  return tensor->storage();
}

std::shared_ptr<tensor_storage> arg_tensor_or_null(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  if (!NativeTensor::unwrap_or_null(value))
    throw_expected(env, "ERR_ARG", "a NativeTensor or null", name, describe_value(value));
  return arg_tensor(env, value, name);
}

}  // namespace alexnet
