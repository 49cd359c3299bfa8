// The ops a plan is made of, as ONE table: per op its name, the layout of its record, the shared check of
// op-checks.h that guards it, and how it runs on the CPU and on CUDA. Everything that runs an op goes
// through it: runPlan of both addons, and the single-op exports (conv2d(), relu(), ...), which are
// one-record plans (napi/plan-call.h). No napi.h here.
//
// Record of one op: [opcode, dims..., tensor indices..., flags...], sizes fixed by the opcode
// (lib/model/plan.ts writes them). Tensor indices point into the plan's tensors (-1 only for an optional
// tensor: a bias); flags are 0/1, except LRN's, the index s of its alpha, beta, k in the plan's scalars.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/kernels.h"
#include "napi/op-checks.h"
#include "napi/packed-weights.h"

struct CUstream_st;  // cudaStream_t, without the CUDA headers (the CPU addon is built without them)

namespace alexnet {

class thread_pool;

enum plan_opcode : int {
  PLAN_CONV2D = 1,               // dims CONV2D (16), tensors input weight bias output, flag relu
  PLAN_MAX_POOL2D = 2,           // dims POOL2D (14), tensors input output
  PLAN_AVG_POOL2D = 3,           // dims POOL2D (14), tensors input output, flag countIncludePad
  PLAN_LRN = 4,                  // dims [batch, channels, height, width, size], tensors input output, flag scalar index
  PLAN_LINEAR = 5,               // dims [rows, inFeatures, outFeatures], tensors input weight bias output, flag relu
  PLAN_SOFTMAX = 6,              // dims [rows, cols], tensors input output (in place allowed)
  PLAN_ADAPTIVE_AVG_POOL2D = 7,  // dims [batch, channels, inHeight, inWidth, outHeight, outWidth], tensors input output
  PLAN_RELU = 8,                 // dims [length], tensors input output (in place allowed)
  // the int8 chain (kernels.h conv2d_int8_chain_forward_cpu), CPU only: activations as u8 in the float tensors
  // (4 per element) between int8 layers with static scales
  PLAN_CONV2D_INT8 = 9,          // dims CONV2D (16), tensors input weight bias output, flags scalar index
                                 // (output scale, output zero point; read with outputU8), relu, inputU8 (u8
                                 // NHWC of the weights' static activation quantization; else fp32 NCHW),
                                 // outputU8 (u8 NHWC requantized with the scalars; else fp32 NCHW)
  PLAN_MAX_POOL2D_U8 = 10,       // dims POOL2D (14), tensors input output (u8 NHWC), flag nchwOutput
  PLAN_LINEAR_U8 = 11,           // dims [rows, inFeatures, outFeatures], tensors input (u8 rows of the weights'
                                 // static activation quantization) weight bias output (fp32), flag relu
};

// What the checks and the kernels see of one tensor, whichever addon owns it (each fills these from its
// storage: napi/plan-call.h Backend::view)
struct op_tensor {
  float* data = nullptr;
  size_t length = 0;
  const void* storage = nullptr;  // identity: ops that cannot work in place compare these
  packed_weights packed;  // CPU weights packed at load (tensor_storage's); never set on CUDA
};

// A decoded record: what an op's check reads
struct op_record {
  const int32_t* dims;
  const int32_t* flags;
  const op_tensor* tensors[4];  // nullptr for an optional tensor given as -1
  const float* scalars;         // the op's own scalars (LRN: alpha, beta, k), already checked finite
  std::string prefix;           // before every name in messages: "" (single ops), "plan op 3 (conv2d) "
  bool cpu;                     // limits of the CPU kernels apply (conv2d's im2col workspace)
};

struct op_def;

// One checked op, ready for a worker thread
struct op_step {
  const op_def* def = nullptr;
  conv2d_params conv{};
  pool2d_params pool{};
  lrn_params lrn{};
  linear_params linear{};
  linear_weights linear_w{};  // CPU: the weights as the linear kernel reads them (fp32, bf16, int8)
  lowp_type conv_precision = lowp_type::fp32;  // CPU: conv weights packed as bf16 / int8 by packConv
  int8_act_quant conv_act{0, 0};               // and for int8 their input's static quantization (scale 0: dynamic)
  int8_act_quant out_act{0, 0};                // the int8 chain: the output's requantization (conv2dInt8)
  bool in_u8 = false, nchw_out = false;        // the int8 chain: conv2dInt8's inputU8, maxPool2dU8's nchwOutput
  softmax_params softmax{};
  adaptive_avgpool_params adaptive{};
  size_t length = 0;
  bool count_include_pad = false, packed_weight = false, packed_winograd = false;
  int precision = 0;  // CUDA: the cuda_precision of conv2d and linear, taken when the call is made
  const float* in = nullptr;
  const float* weight = nullptr;
  const float* bias = nullptr;
  float* out = nullptr;
};

struct op_def {
  plan_opcode opcode;
  const char* name;
  int dims, tensors, flags;
  const char* const* tensor_names;
  const char* const* flag_names;
  int optional_tensor;  // the tensor that may be -1 (bias), or -1
  // LRN: 3 scalars (alpha, beta, k), found through flag 0; the single op takes them as numbers instead
  int scalars;
  const char* const* scalar_names;
  // false: no dims argument for the single op (relu: dims [length of its input])
  bool dims_arg;
  // the op-checks.h check (and the op's own: in place, workspace), then `step` filled; code null when fine
  op_error (*check)(const op_record& record, op_step* step);
  // the kernel, on the CPU (a kernels.h status) or on a CUDA stream (a cudaError_t); each addon's table
  // has only its own column (the other is null)
  int (*run_cpu)(const op_step& step, thread_pool& pool);
  int (*run_cuda)(const op_step& step, CUstream_st* stream);

  int record() const { return 1 + dims + tensors + flags; }
};

// the op of an opcode, or nullptr
const op_def* op_def_of(int opcode);
// the largest opcode (the smallest is 1)
constexpr int PLAN_OPCODE_LAST = PLAN_LINEAR_U8;

// Checks the record at `record` (of def.record() values) against `tensors` and `scalars` and fills
// *step: tensor indices, flags, scalars, then def.check. Code null when it is fine.
op_error op_decode(const op_def& def, const int32_t* record, const std::vector<op_tensor>& tensors,
                   const float* scalars, size_t scalar_count, const std::string& prefix, bool cpu, op_step* step);

}  // namespace alexnet
