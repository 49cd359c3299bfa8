// The op table (op-table.h). This file is compiled into each addon: the CPU addon's copy has the CPU
// column, the CUDA addon's (built with ALEXNET_CUDA_ADDON) the CUDA column, so neither links the other's
// kernels; the layouts and checks are the same code in both.
#include "napi/op-table.h"

#include <cmath>

#ifdef ALEXNET_CUDA_ADDON
#include "kernels/cuda/cuda-kernels.h"
#define CPU_RUN(f) nullptr
#define CUDA_RUN(f) f
#else
#include "kernels/cpu/thread-pool.h"
#define CPU_RUN(f) f
#define CUDA_RUN(f) nullptr
#endif

namespace alexnet {
namespace {

const char* const IN_OUT[] = {"input", "output"};
const char* const IN_WEIGHT_BIAS_OUT[] = {"input", "weight", "bias", "output"};
const char* const RELU_FLAG[] = {"relu"};
const char* const COUNT_INCLUDE_PAD_FLAG[] = {"countIncludePad"};
const char* const LRN_FLAG[] = {"scalars index"};
const char* const LRN_SCALARS[] = {"alpha", "beta", "k"};
const char* const CONV2D_INT8_FLAGS[] = {"scalars index", "relu", "inputU8", "outputU8"};
const char* const CONV2D_INT8_SCALARS[] = {"outputScale", "outputZeroPoint"};
const char* const NCHW_OUTPUT_FLAG[] = {"nchwOutput"};

op_error ok() { return op_error{nullptr, {}}; }

op_error shape_error(std::string message) {
  if (message.empty()) return ok();
  return op_error{"ERR_SHAPE", std::move(message)};
}

op_buffers buffers_of(const op_tensor* input, const op_tensor* weight, const op_tensor* bias, const op_tensor* output) {
  const auto count = [](const op_tensor* t) { return t ? static_cast<int64_t>(t->length) : int64_t{-1}; };
  return op_buffers{count(input), count(weight), count(bias), count(output)};
}

// kernels that cannot work in place: the output is none of the op's other tensors (ERR_ARG)
op_error distinct(const op_record& r, const op_tensor* output, const op_tensor* input, const op_tensor* weight,
                  const op_tensor* bias) {
  const std::pair<const op_tensor*, const char*> others[] = {{input, "input"}, {weight, "weight"}, {bias, "bias"}};
  for (const auto& [other, name] : others)
    if (other && other->storage == output->storage)
      return op_error{"ERR_ARG", expected_message(std::string("a NativeTensor other than ") + name, r.prefix + "output",
                                                  "the same NativeTensor")};
  return ok();
}

// --- checks ------------------------------------------------------------------------------------------

op_error check_conv2d(const op_record& r, op_step* s) {
  const op_tensor *input = r.tensors[0], *weight = r.tensors[1], *bias = r.tensors[2], *output = r.tensors[3];
  // weights packed by packConv carry the shape they were packed for (op-checks.h conv_pack_key)
  op_error e = shape_error(conv2d_check(r.dims, buffers_of(input, weight, bias, output), weight->packed.conv, r.prefix));
  if (e.code) return e;
  conv2d_params& p = s->conv;
  p = conv2d_params_of(r.dims);
  p.relu = r.flags[0] == 1;
  s->packed_weight = !weight->packed.conv.empty();
  s->packed_winograd = weight->packed.winograd;
  s->conv_precision = weight->packed.precision;
  s->conv_act = weight->packed.act;
  // the CPU's im2col workspace and GEMM k use 32-bit sizes (CUDA's implicit GEMM has no workspace, and its
  // columns, batch * outHeight * outWidth, are bounded by the output's length, checked above)
  const int64_t workspace = product({p.in_channels / p.groups, p.kernel_h, p.kernel_w, p.groups, p.out_height, p.out_width});
  if (r.cpu && workspace > MAX_KERNEL_ELEMENTS)
    return shape_error(expected_message("at most " + std::to_string(MAX_KERNEL_ELEMENTS) + " elements",
                                        r.prefix + "im2col workspace", std::to_string(workspace)));
  return distinct(r, output, input, weight, bias);
}

op_error check_linear(const op_record& r, op_step* s);

// the int8 chain's ops run on the CPU only (their tensors hold u8, 4 per element)
op_error cpu_only(const op_record& r) {
  if (r.cpu) return ok();
  return op_error{"ERR_DEVICE", expected_message("a CPU plan (the int8 chain runs on the CPU)", r.prefix + "op", "a CUDA plan")};
}

// a tensor holding `needed` u8 values, 4 per element
op_error u8_length(const op_tensor* t, int64_t needed, const std::string& name) {
  if (static_cast<int64_t>(t->length) * 4 >= needed) return ok();
  return shape_error(expected_message("a NativeTensor of at least " + std::to_string((needed + 3) / 4) + " elements (" +
                                          std::to_string(needed) + " u8 values)",
                                      name, "NativeTensor(" + std::to_string(t->length) + ")"));
}

// int8 weights with the static activation quantization their u8 input was made with
op_error static_int8(const op_record& r, const op_tensor* weight) {
  if (weight->packed.precision == lowp_type::int8 && weight->packed.act.scale > 0.0f) return ok();
  return op_error{"ERR_ARG", expected_message("int8 weights with static activation scales (alexnet-cli quantize)",
                                              r.prefix + "weight",
                                              weight->packed.precision == lowp_type::int8 ? "int8 weights with dynamic scales"
                                              : weight->packed.precision == lowp_type::bf16 ? "bf16 weights"
                                                                                            : "fp32 weights")};
}

op_error check_conv2d_int8(const op_record& r, op_step* s) {
  op_error e = cpu_only(r);
  if (e.code) return e;
  const op_tensor *input = r.tensors[0], *weight = r.tensors[1], *bias = r.tensors[2], *output = r.tensors[3];
  const bool in_u8 = r.flags[2] == 1, out_u8 = r.flags[3] == 1;
  // conv2d's own checks, with the u8 tensors' lengths checked here in u8 values
  op_tensor in_view = *input, out_view = *output;
  const conv2d_params d = conv2d_params_of(r.dims);
  const int64_t in_count = product({d.batch, d.in_channels, d.in_height, d.in_width});
  const int64_t out_count = product({d.batch, d.out_channels, d.out_height, d.out_width});
  if (in_u8 && in_count >= 0) in_view.length = static_cast<size_t>(in_count);
  if (out_u8 && out_count >= 0) out_view.length = static_cast<size_t>(out_count);
  op_record checked = r;
  checked.tensors[0] = &in_view;
  checked.tensors[3] = &out_view;
  e = check_conv2d(checked, s);
  if (e.code) return e;
  if (in_u8 && (e = u8_length(input, in_count, r.prefix + "input")).code) return e;
  if (out_u8 && (e = u8_length(output, out_count, r.prefix + "output")).code) return e;
  if (in_u8 && (e = static_int8(r, weight)).code) return e;
  if (weight->packed.precision != lowp_type::int8)
    return op_error{"ERR_ARG", expected_message("int8 weights (packConv)", r.prefix + "weight",
                                                weight->packed.precision == lowp_type::bf16 ? "bf16 weights" : "fp32 weights")};
  if (in_u8 && d.groups != 1)
    return shape_error(expected_message("groups 1 for a u8 input", r.prefix + "dims[13] (groups)", std::to_string(d.groups)));
  const float scale = r.scalars[0], zero = r.scalars[1];
  if (out_u8 && !(scale > 0.0f))
    return shape_error(expected_message("a positive number", r.prefix + "outputScale", std::to_string(scale)));
  if (out_u8 && !(zero >= 0.0f && zero <= 255.0f && zero == static_cast<float>(static_cast<int>(zero))))
    return shape_error(expected_message("an integer from 0 to 255", r.prefix + "outputZeroPoint", std::to_string(zero)));
  s->out_act = out_u8 ? int8_act_quant{scale, static_cast<int>(zero)} : int8_act_quant{0, 0};
  s->conv.relu = r.flags[1] == 1;
  s->in_u8 = in_u8;
  return distinct(r, output, input, weight, bias);
}

op_error check_max_pool2d_u8(const op_record& r, op_step* s) {
  op_error e = cpu_only(r);
  if (e.code) return e;
  const op_tensor *input = r.tensors[0], *output = r.tensors[1];
  const pool2d_params d = pool2d_params_of(r.dims);
  const int64_t in_count = product({d.batch, d.channels, d.in_height, d.in_width});
  const int64_t out_count = product({d.batch, d.channels, d.out_height, d.out_width});
  op_tensor in_view = *input, out_view = *output;
  if (in_count >= 0) in_view.length = static_cast<size_t>(in_count);
  if (out_count >= 0) out_view.length = static_cast<size_t>(out_count);
  e = shape_error(pool2d_check(r.dims, buffers_of(&in_view, nullptr, nullptr, &out_view), r.prefix));
  if (e.code) return e;
  if ((e = u8_length(input, in_count, r.prefix + "input")).code) return e;
  if ((e = u8_length(output, out_count, r.prefix + "output")).code) return e;
  s->pool = d;
  s->nchw_out = r.flags[0] == 1;
  return distinct(r, output, input, nullptr, nullptr);
}

op_error check_linear_u8(const op_record& r, op_step* s) {
  op_error e = cpu_only(r);
  if (e.code) return e;
  const op_tensor* input = r.tensors[0];
  const int64_t in_count = product({r.dims[0], r.dims[1]});
  op_tensor in_view = *input;
  if (in_count >= 0) in_view.length = static_cast<size_t>(in_count);
  op_record checked = r;
  checked.tensors[0] = &in_view;
  e = check_linear(checked, s);
  if (e.code) return e;
  if ((e = u8_length(input, in_count, r.prefix + "input")).code) return e;
  return static_int8(r, r.tensors[1]);
}

op_error check_pool2d(const op_record& r, op_step* s) {
  const op_tensor *input = r.tensors[0], *output = r.tensors[1];
  op_error e = shape_error(pool2d_check(r.dims, buffers_of(input, nullptr, nullptr, output), r.prefix));
  if (e.code) return e;
  s->pool = pool2d_params_of(r.dims);
  s->count_include_pad = s->def->opcode == PLAN_AVG_POOL2D && r.flags[0] == 1;
  return distinct(r, output, input, nullptr, nullptr);
}

op_error check_lrn(const op_record& r, op_step* s) {
  const op_tensor *input = r.tensors[0], *output = r.tensors[1];
  op_error e = shape_error(lrn_check(r.dims, buffers_of(input, nullptr, nullptr, output), r.prefix));
  if (e.code) return e;
  const int32_t* d = r.dims;
  s->lrn = lrn_params{d[0], d[1], d[2], d[3], d[4], r.scalars[0], r.scalars[1], r.scalars[2]};
  return distinct(r, output, input, nullptr, nullptr);
}

op_error check_linear(const op_record& r, op_step* s) {
  const op_tensor *input = r.tensors[0], *weight = r.tensors[1], *bias = r.tensors[2], *output = r.tensors[3];
  op_error e = shape_error(linear_check(r.dims, buffers_of(input, weight, bias, output), weight->packed.out_features,
                                        weight->packed.in_features, weight->packed.precision, r.prefix));
  if (e.code) return e;
  s->linear = linear_params{r.dims[0], r.dims[1], r.dims[2], r.flags[0] == 1};
  s->packed_weight = weight->packed.out_features != 0;
  s->linear_w.data = weight->data;
  s->linear_w.packed = s->packed_weight;
  s->linear_w.precision = weight->packed.precision;
  s->linear_w.act = weight->packed.act;
  return distinct(r, output, input, weight, bias);
}

op_error check_softmax(const op_record& r, op_step* s) {
  s->softmax = softmax_params{r.dims[0], r.dims[1]};
  return shape_error(softmax_check(r.dims, buffers_of(r.tensors[0], nullptr, nullptr, r.tensors[1]), r.prefix));
}

op_error check_adaptive(const op_record& r, op_step* s) {
  const op_tensor *input = r.tensors[0], *output = r.tensors[1];
  op_error e = shape_error(adaptive_avg_pool2d_check(r.dims, buffers_of(input, nullptr, nullptr, output), r.prefix));
  if (e.code) return e;
  const int32_t* d = r.dims;
  s->adaptive = adaptive_avgpool_params{d[0], d[1], d[2], d[3], d[4], d[5]};
  return distinct(r, output, input, nullptr, nullptr);
}

op_error check_relu(const op_record& r, op_step* s) {
  s->length = static_cast<size_t>(r.dims[0] < 0 ? 0 : r.dims[0]);
  return shape_error(relu_check(r.dims, buffers_of(r.tensors[0], nullptr, nullptr, r.tensors[1]), r.prefix));
}

// --- CPU column -------------------------------------------------------------------------------------
#ifndef ALEXNET_CUDA_ADDON
int conv2d_cpu(const op_step& s, thread_pool& pool) {
  if (s.conv_precision == lowp_type::bf16)
    return conv2d_bf16_packed_forward_cpu(s.conv, s.in, s.weight, s.packed_winograd, s.bias, s.out, pool);
  if (s.conv_precision != lowp_type::fp32)
    return conv2d_lowp_forward_cpu(s.conv, s.in, s.conv_precision, s.weight, s.conv_act, s.bias, s.out, nullptr, pool);
  return s.packed_weight ? conv2d_packed_forward_cpu(s.conv, s.in, s.weight, s.packed_winograd, s.bias, s.out, pool)
                         : conv2d_forward_cpu(s.conv, s.in, s.weight, s.bias, s.out, pool);
}
int max_pool2d_cpu(const op_step& s, thread_pool& pool) { return max_pool2d_forward_cpu(s.pool, s.in, s.out, pool); }
int avg_pool2d_cpu(const op_step& s, thread_pool& pool) {
  return avg_pool2d_forward_cpu(s.pool, s.count_include_pad, s.in, s.out, pool);
}
int lrn_cpu(const op_step& s, thread_pool& pool) { return lrn_forward_cpu(s.lrn, s.in, s.out, pool); }
int linear_cpu(const op_step& s, thread_pool& pool) {
  return linear_weights_forward_cpu(s.linear, s.in, s.linear_w, s.bias, s.out, pool);
}
int softmax_cpu(const op_step& s, thread_pool& pool) { return softmax_forward_cpu(s.softmax, s.in, s.out, pool); }
int adaptive_cpu(const op_step& s, thread_pool& pool) {
  return adaptive_avgpool2d_forward_cpu(s.adaptive, s.in, s.out, pool);
}
int relu_cpu(const op_step& s, thread_pool& pool) { return relu_forward_cpu(s.length, s.in, s.out, pool); }
int conv2d_int8_cpu(const op_step& s, thread_pool& pool) {
  const bool out_u8 = s.out_act.scale > 0.0f;
  return conv2d_int8_chain_forward_cpu(s.conv, s.in, s.in_u8 ? reinterpret_cast<const uint8_t*>(s.in) : nullptr, s.weight,
                                       s.conv_act, s.bias, out_u8 ? nullptr : s.out,
                                       out_u8 ? reinterpret_cast<uint8_t*>(s.out) : nullptr, s.out_act, pool);
}
int max_pool2d_u8_cpu(const op_step& s, thread_pool& pool) {
  return max_pool2d_u8_forward_cpu(s.pool, reinterpret_cast<const uint8_t*>(s.in), reinterpret_cast<uint8_t*>(s.out),
                                   s.nchw_out, pool);
}
int linear_u8_cpu(const op_step& s, thread_pool& pool) {
  return int8_linear_u8_forward_cpu(s.linear, reinterpret_cast<const uint8_t*>(s.in), s.linear_w.act, s.linear_w.data,
                                    s.bias, s.out, pool);
}
#endif

// --- CUDA column ------------------------------------------------------------------------------------
#ifdef ALEXNET_CUDA_ADDON
cuda_precision precision_of(const op_step& s) { return static_cast<cuda_precision>(s.precision); }
int conv2d_cuda(const op_step& s, cudaStream_t stream) {
  return conv2d_forward_cuda(s.conv, s.in, s.weight, s.bias, s.out, precision_of(s), stream);
}
int max_pool2d_cuda(const op_step& s, cudaStream_t stream) { return max_pool2d_forward_cuda(s.pool, s.in, s.out, stream); }
int avg_pool2d_cuda(const op_step& s, cudaStream_t stream) {
  return avg_pool2d_forward_cuda(s.pool, s.count_include_pad, s.in, s.out, stream);
}
int lrn_cuda(const op_step& s, cudaStream_t stream) { return lrn_forward_cuda(s.lrn, s.in, s.out, stream); }
int linear_cuda(const op_step& s, cudaStream_t stream) {
  return linear_forward_cuda(s.linear, s.in, s.weight, s.bias, s.out, precision_of(s), stream);
}
int softmax_cuda(const op_step& s, cudaStream_t stream) { return softmax_forward_cuda(s.softmax, s.in, s.out, stream); }
int adaptive_cuda(const op_step& s, cudaStream_t stream) {
  return adaptive_avgpool2d_forward_cuda(s.adaptive, s.in, s.out, stream);
}
int relu_cuda(const op_step& s, cudaStream_t stream) { return relu_forward_cuda(s.length, s.in, s.out, stream); }
#endif

// --- the table ---------------------------------------------------------------------------------------
//  opcode, name, dims, tensors, flags, tensor names, flag names, optional tensor, scalars, scalar names,
//  dims argument, check, CPU run, CUDA run
const op_def OPS[] = {
    {PLAN_CONV2D, "conv2d", 16, 4, 1, IN_WEIGHT_BIAS_OUT, RELU_FLAG, 2, 0, nullptr, true, check_conv2d,
     CPU_RUN(conv2d_cpu), CUDA_RUN(conv2d_cuda)},
    {PLAN_MAX_POOL2D, "maxPool2d", 14, 2, 0, IN_OUT, nullptr, -1, 0, nullptr, true, check_pool2d,
     CPU_RUN(max_pool2d_cpu), CUDA_RUN(max_pool2d_cuda)},
    {PLAN_AVG_POOL2D, "avgPool2d", 14, 2, 1, IN_OUT, COUNT_INCLUDE_PAD_FLAG, -1, 0, nullptr, true, check_pool2d,
     CPU_RUN(avg_pool2d_cpu), CUDA_RUN(avg_pool2d_cuda)},
    {PLAN_LRN, "lrn", 5, 2, 1, IN_OUT, LRN_FLAG, -1, 3, LRN_SCALARS, true, check_lrn, CPU_RUN(lrn_cpu),
     CUDA_RUN(lrn_cuda)},
    {PLAN_LINEAR, "linear", 3, 4, 1, IN_WEIGHT_BIAS_OUT, RELU_FLAG, 2, 0, nullptr, true, check_linear,
     CPU_RUN(linear_cpu), CUDA_RUN(linear_cuda)},
    {PLAN_SOFTMAX, "softmax", 2, 2, 0, IN_OUT, nullptr, -1, 0, nullptr, true, check_softmax, CPU_RUN(softmax_cpu),
     CUDA_RUN(softmax_cuda)},
    {PLAN_ADAPTIVE_AVG_POOL2D, "adaptiveAvgPool2d", 6, 2, 0, IN_OUT, nullptr, -1, 0, nullptr, true, check_adaptive,
     CPU_RUN(adaptive_cpu), CUDA_RUN(adaptive_cuda)},
    {PLAN_RELU, "relu", 1, 2, 0, IN_OUT, nullptr, -1, 0, nullptr, false, check_relu, CPU_RUN(relu_cpu),
     CUDA_RUN(relu_cuda)},
    {PLAN_CONV2D_INT8, "conv2dInt8", 16, 4, 4, IN_WEIGHT_BIAS_OUT, CONV2D_INT8_FLAGS, 2, 2, CONV2D_INT8_SCALARS, true,
     check_conv2d_int8, CPU_RUN(conv2d_int8_cpu), nullptr},
    {PLAN_MAX_POOL2D_U8, "maxPool2dU8", 14, 2, 1, IN_OUT, NCHW_OUTPUT_FLAG, -1, 0, nullptr, true, check_max_pool2d_u8,
     CPU_RUN(max_pool2d_u8_cpu), nullptr},
    {PLAN_LINEAR_U8, "linearU8", 3, 4, 1, IN_WEIGHT_BIAS_OUT, RELU_FLAG, 2, 0, nullptr, true, check_linear_u8,
     CPU_RUN(linear_u8_cpu), nullptr},
};
static_assert(sizeof(OPS) / sizeof(OPS[0]) == PLAN_OPCODE_LAST, "one row per opcode, in opcode order");

}  // namespace

const op_def* op_def_of(int opcode) {
  if (opcode < PLAN_CONV2D || opcode > PLAN_OPCODE_LAST) return nullptr;
  return &OPS[opcode - PLAN_CONV2D];
}

op_error op_decode(const op_def& def, const int32_t* record, const std::vector<op_tensor>& tensors,
                   const float* scalars, size_t scalar_count, const std::string& prefix, bool cpu, op_step* step) {
  op_record r{record + 1, record + 1 + def.dims + def.tensors, {nullptr, nullptr, nullptr, nullptr}, nullptr, prefix, cpu};
  step->def = &def;
  for (int t = 0; t < def.tensors; ++t) {
    const int32_t index = record[1 + def.dims + t];
    const bool optional = t == def.optional_tensor;
    if (optional && index == -1) continue;
    if (index < 0 || static_cast<size_t>(index) >= tensors.size())
      return shape_error(expected_message(
          "an index into tensors (0 to " + std::to_string(static_cast<int64_t>(tensors.size()) - 1) + ")" +
              (optional ? " or -1" : ""),
          prefix + def.tensor_names[t], std::to_string(index)));
    r.tensors[t] = &tensors[index];
  }
  for (int f = 0; f < def.flags; ++f) {
    const int32_t v = r.flags[f];
    if (def.scalars > 0 && f == 0) {
      if (v < 0 || static_cast<int64_t>(v) + def.scalars > static_cast<int64_t>(scalar_count))
      {
        std::string names;
        for (int i = 0; i < def.scalars; ++i) names += (i ? ", " : "") + std::string(def.scalar_names[i]);
        return shape_error(expected_message("an index of " + std::to_string(def.scalars) + " scalars (" + names +
                                                ") in scalars of " + std::to_string(scalar_count),
                                            prefix + def.flag_names[f], std::to_string(v)));
      }
      for (int i = 0; i < def.scalars; ++i)
        if (!std::isfinite(scalars[v + i]))
          return shape_error(expected_message(
              "a finite number", prefix + "scalars[" + std::to_string(v + i) + "] (" + def.scalar_names[i] + ")",
              std::to_string(scalars[v + i])));
      r.scalars = scalars + v;
    } else if (v != 0 && v != 1) {
      return shape_error(expected_message("0 or 1", prefix + def.flag_names[f], std::to_string(v)));
    }
  }
  op_error e = def.check(r, step);
  if (e.code) return e;
  const op_tensor* input = r.tensors[0];
  const op_tensor* output = r.tensors[def.tensors - 1];
  step->in = input->data;
  step->out = output->data;
  if (def.tensors == 4) {
    step->weight = r.tensors[1]->data;
    step->bias = r.tensors[2] ? r.tensors[2]->data : nullptr;
  }
  return ok();
}

}  // namespace alexnet
