// fromFile(device, path, byteOffset, length): reads float32 little-endian values from a file straight
// into a new native buffer, on a libuv worker thread (weights are hundreds of MB).
#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <string>

#include "napi/args.h"
#include "napi/errors.h"
#include "napi/from-file-worker.h"
#include "napi/native-tensor.h"
#include "napi/ops.h"

namespace alexnet {
namespace {

op_error load_from_file(const from_file_request& request, std::shared_ptr<tensor_storage>* storage) {
  try {
    *storage = std::make_shared<tensor_storage>(static_cast<size_t>(request.length), false);
  } catch (const std::bad_alloc&) {
    return op_error{"ERR_ALLOC", expected_message("enough free memory", "fromFile(" + std::to_string(request.length) + ")",
                                                  "an allocation failure")};
  }
  op_error error{nullptr, {}};
  std::FILE* file = from_file_open(request.path, request.byte_offset, &error);
  if (!file) return error;
  const size_t wanted = static_cast<size_t>(request.length) * sizeof(float);
  size_t got = 0;
  char* dst = reinterpret_cast<char*>((*storage)->data);
  while (got < wanted) {
    const size_t n = std::fread(dst + got, 1, wanted - got, file);
    if (n == 0) break;
    got += n;
  }
  std::fclose(file);
  if (got < wanted) return from_file_short_read(request.path, request.byte_offset, wanted, got);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  uint32_t* words = reinterpret_cast<uint32_t*>((*storage)->data);
  for (size_t i = 0; i < static_cast<size_t>(request.length); ++i) words[i] = __builtin_bswap32(words[i]);
#endif
  // Weights holding NaN or Inf would turn every prediction into NaN ("NaN% class 0"): refused here, where
  // the values pass by anyway. Exponent bits all ones is NaN or Inf; counted branch-free so the loop
  // vectorizes (one more pass over the values, measured in docs/safety.md).
  const uint32_t* bits = reinterpret_cast<const uint32_t*>((*storage)->data);
  const size_t count = static_cast<size_t>(request.length);
  size_t bad = 0;
  for (size_t i = 0; i < count; ++i) bad += (bits[i] & 0x7f800000u) == 0x7f800000u;
  if (bad > 0) {
    size_t first = 0;
    while ((bits[first] & 0x7f800000u) != 0x7f800000u) ++first;
    return op_error{"ERR_NONFINITE", "non-finite weights: " + std::to_string(bad) + " NaN or Inf value" + (bad > 1 ? "s" : "") +
                                         ", the first at element " + std::to_string(first)};
  }
  return error;
}

}  // namespace

Napi::Value op_from_file(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  arg_device(env, info[0], "device");
  from_file_request request = arg_from_file(env, info);
  return queue_from_file<NativeTensor, tensor_storage>(env, std::move(request), load_from_file);
}

}  // namespace alexnet
