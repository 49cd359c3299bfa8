// How a CPU weight tensor was packed at load (packLinear, packConv, packQuantized: napi/ops.cc), kept with
// its storage (napi/native-tensor.h) and seen by the op checks and the kernels through op_tensor
// (napi/op-table.h). All zero / empty for a plain tensor and on CUDA. No napi.h here.
#pragma once

#include <string>

#include "kernels/kernels.h"

namespace alexnet {

struct packed_weights {
  // conv weights packed by packConv: the shape they were packed for ("out,in,kh,kw,stride_h,stride_w,groups"),
  // checked by conv2d(); and whether the Winograd-domain weights follow the panels (packConv's `winograd`)
  std::string conv;
  bool winograd = false;
  // linear weights packed by packLinear: their [out_features, in_features] (kernels.h LINEAR_PANEL layout),
  // so linear() knows how to read them and checks they fit
  int out_features = 0, in_features = 0;
  // their precision (bf16 and int8 hold kernels.h lowp_packed_layout bytes, the length rounded up to
  // floats), and for int8 the activations' static quantization (scale 0: dynamic, per call)
  lowp_type precision = lowp_type::fp32;
  int8_act_quant act{0, 0};
};

}  // namespace alexnet
