// The JS side of a NativeTensor, shared by the CPU tensor (napi/native-tensor.h) and the CUDA one
// (cuda/cuda-tensor.h): construction by wrap() only, the device/length accessors, the argument checks
// of write/read, dispose, and the external-memory accounting (so GC sees the real size). `Tensor`
// supplies only what touches its memory:
//   static std::string device_of(const Storage&);                                   // "cpu", "cuda:0"
//   static void copy_in(Napi::Env, Storage&, int64_t offset, const float* src, size_t count);
//   static void copy_out(Napi::Env, const Storage&, int64_t offset, float* dst, size_t count);
// (count > 0; each throws a coded JS Error on failure). The storage is shared, so a kernel still
// running on a worker thread keeps it alive if JS disposes the handle (or GC collects it) meanwhile.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "napi/addon-state.h"
#include "napi/args.h"
#include "napi/errors.h"

namespace alexnet {

template <class Tensor, class Storage>
class tensor_handle : public Napi::ObjectWrap<Tensor> {
 public:
  // defines the class and keeps its constructor in the addon's instance data
  static void init_class(Napi::Env env) {
    using wrap_base = Napi::ObjectWrap<Tensor>;
    using method = Napi::Value (Tensor::*)(const Napi::CallbackInfo&);
    Napi::Function constructor =
        wrap_base::DefineClass(env, "NativeTensor",
                               {
                                   wrap_base::InstanceAccessor("device", static_cast<method>(&tensor_handle::get_device), nullptr),
                                   wrap_base::InstanceAccessor("length", static_cast<method>(&tensor_handle::get_length), nullptr),
                                   wrap_base::InstanceMethod("write", static_cast<method>(&tensor_handle::write)),
                                   wrap_base::InstanceMethod("read", static_cast<method>(&tensor_handle::read)),
                                   wrap_base::InstanceMethod("dispose", static_cast<method>(&tensor_handle::dispose)),
                               });
    get_addon_state(env).tensor_constructor = Napi::Persistent(constructor);
  }

  // a new JS NativeTensor owning `storage`
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<Storage> storage) {
    return get_addon_state(env).tensor_constructor.New({Napi::External<std::shared_ptr<Storage>>::New(env, &storage)});
  }

  // an AsyncWorker's OnOK: resolves `deferred` with a new JS NativeTensor owning `storage`, or rejects it
  // with the error wrap() throws (the handle cannot be made)
  static void resolve_wrapped(Napi::Promise::Deferred& deferred, Napi::Env env, std::shared_ptr<Storage> storage) {
    try {
      deferred.Resolve(wrap(env, std::move(storage)));
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    }
  }

  // the tensor behind `value` when it is one of this addon's, else null
  static Tensor* unwrap_or_null(const Napi::Value& value) {
    if (!value.IsObject()) return nullptr;
    const addon_state& state = get_addon_state(value.Env());
    if (state.tensor_constructor.IsEmpty() || !value.As<Napi::Object>().InstanceOf(state.tensor_constructor.Value()))
      return nullptr;
    return Napi::ObjectWrap<Tensor>::Unwrap(value.As<Napi::Object>());
  }

  // Only wrap() constructs these: it passes the storage as an External.
  explicit tensor_handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tensor>(info) {
    if (info.Length() != 1 || !info[0].IsExternal())
      throw make_error(info.Env(), "ERR_ARG", "Expected alloc() or fromFile() for NativeTensor but received new NativeTensor()");
    storage_ = *info[0].As<Napi::External<std::shared_ptr<Storage>>>().Data();
    device_ = Tensor::device_of(*storage_);
    length_ = storage_->length;
    accounted_bytes_ = static_cast<int64_t>(length_ * sizeof(float));
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), accounted_bytes_);
  }

  ~tensor_handle() override { release(); }

  // null once disposed
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // moves the storage out: this handle reads as disposed afterwards (for ops that consume a tensor)
  std::shared_ptr<Storage> take() {
    std::shared_ptr<Storage> storage = storage_;
    release();
    return storage;
  }

 private:
  void release() {
    storage_.reset();  // freed now, or when the last kernel using it finishes
    if (accounted_bytes_ != 0) {
      Napi::MemoryManagement::AdjustExternalMemory(this->Env(), -accounted_bytes_);
      accounted_bytes_ = 0;
    }
  }

  Storage& live(Napi::Env env) {
    if (!storage_) throw_expected(env, "ERR_DISPOSED", "a live NativeTensor", "this", "a disposed NativeTensor");
    return *storage_;
  }

  Napi::Value get_device(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), device_); }

  Napi::Value get_length(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(length_));
  }

  Napi::Value write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Storage& storage = live(env);
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
    if (count > 0) Tensor::copy_in(env, storage, offset, array.Data(), static_cast<size_t>(count));
    return env.Undefined();
  }

  Napi::Value read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Storage& storage = live(env);
    const int64_t length = static_cast<int64_t>(storage.length);
    const int64_t offset = arg_integer_or(env, info[0], "offset", 0, length, 0);
    const int64_t count = arg_integer_or(env, info[1], "length", 0, length - offset, length - offset);
    Napi::Float32Array out;
    try {
      out = Napi::Float32Array::New(env, static_cast<size_t>(count));
    } catch (const Napi::Error&) {
      throw_expected(env, "ERR_ALLOC", "enough free memory", "read(" + std::to_string(count) + ")", "an allocation failure");
    }
    if (count > 0) Tensor::copy_out(env, storage, offset, out.Data(), static_cast<size_t>(count));
    return out;
  }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }

  std::shared_ptr<Storage> storage_;
  std::string device_;
  size_t length_ = 0;
  int64_t accounted_bytes_ = 0;  // reported to V8 as external memory
};

}  // namespace alexnet
