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

void NativeTensor::copy_in(Napi::Env env, tensor_storage& storage, int64_t offset, const float* src, size_t count) {
  std::memcpy(storage.data + offset, src, count * sizeof(float));
}

void NativeTensor::copy_out(Napi::Env env, const tensor_storage& storage, int64_t offset, float* dst, size_t count) {
  std::memcpy(dst, storage.data + offset, count * sizeof(float));
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
