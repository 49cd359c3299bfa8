// The dims and buffer-length checks of each op, shared by the single ops (napi/ops.cc), runPlan
// (napi/run-plan.cc) and the CUDA addon (cuda/cuda-ops.cc), so their messages cannot drift apart.
// No napi.h here: each check returns "" when everything fits, else the ERR_SHAPE message of the first
// problem, in the one format of errors.h ("Expected <what> for <name> but received <value>").
#pragma once

#include <cstdint>
#include <string>

#include "kernels/kernels.h"

namespace alexnet {

// largest safe JS integer (2^53 - 1)
constexpr double MAX_SAFE_INTEGER = 9007199254740991.0;
// element counts that kernels index with 32-bit GEMM dimensions
constexpr int64_t MAX_KERNEL_ELEMENTS = 2147483647;
// largest single dimension (2^24): keeps index arithmetic such as out_row * stride - pad + kernel
// inside 32 bits in every kernel
constexpr int32_t MAX_DIM = 16777216;

// An error found by a check or raised on a worker thread (no JS there), turned into a JS Error with `code`
// on the main thread; code null for none.
struct op_error {
  const char* code;
  std::string message;
};

// "Expected <what> for <name> but received <received>"
std::string expected_message(const std::string& what, const std::string& name, const std::string& received);

// product of positive factors, saturating at 2^62 (callers compare it with buffer lengths)
int64_t product(std::initializer_list<int64_t> factors);

// 0 < dims[index] <= MAX_DIM (0 allowed when allow_zero); `field` names it: "dims[3] (inWidth)"
std::string dim_message(int32_t dim, size_t index, const char* field, bool allow_zero, const std::string& prefix);
// a buffer of `length` elements holds `needed` (and needed <= MAX_KERNEL_ELEMENTS)
std::string at_least_message(size_t length, int64_t needed, const std::string& name);
// a buffer of exactly `needed` elements
std::string exact_message(size_t length, int64_t needed, const std::string& name);

// element counts of an op's buffers; -1 for a tensor not given (a null bias)
struct op_buffers {
  int64_t input = -1, weight = -1, bias = -1, output = -1;
};

// Each check takes the op's dims (the Int32Array of lib/native.ts, already of the right size) and its
// buffers' element counts; `prefix` goes before every name ("" for the single ops, "plan op 3 (conv2d) "
// in runPlan).
// conv2d: `packed_for` is the key of weights packed by packConv (conv_pack_key), "" for plain weights
std::string conv2d_check(const int32_t* dims, const op_buffers& n, const std::string& packed_for,
                         const std::string& prefix);
// the dims of packConv/unpackConv: as conv2d's (sizes and pads must be valid), groups divide the channels
std::string conv2d_weight_check(const int32_t* dims);
std::string pool2d_check(const int32_t* dims, const op_buffers& n, const std::string& prefix);
std::string lrn_check(const int32_t* dims, const op_buffers& n, const std::string& prefix);
// linear: packed_out/packed_in are the [outFeatures, inFeatures] of weights packed by packLinear, 0 for plain
// and `precision` theirs (bf16 and int8 weights are shorter)
std::string linear_check(const int32_t* dims, const op_buffers& n, int packed_out, int packed_in, lowp_type precision,
                         const std::string& prefix);
std::string linear_check(const int32_t* dims, const op_buffers& n, int packed_out, int packed_in,
                         const std::string& prefix);
std::string softmax_check(const int32_t* dims, const op_buffers& n, const std::string& prefix);
std::string adaptive_avg_pool2d_check(const int32_t* dims, const op_buffers& n, const std::string& prefix);
std::string relu_check(const int32_t* dims, const op_buffers& n, const std::string& prefix);

// the params of checked dims
conv2d_params conv2d_params_of(const int32_t* d);
pool2d_params pool2d_params_of(const int32_t* d);

// what packed conv weights depend on (kernels.h conv_packed_length): "out,in,kh,kw,stride_h,stride_w,groups"
std::string conv_pack_key(const conv2d_params& p);

}  // namespace alexnet
