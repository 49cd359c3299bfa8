// runPlan(program, scalars, tensors, times): a whole forward pass in ONE AsyncWorker call. TypeScript
// compiles the layer list once per (batch, input size) into a program of fixed-size records; native
// checks the whole program (every dim, tensor index, buffer length) on the main thread before anything
// runs, then executes the ops back to back on the kernel thread pool without returning to JS.
//
// Record of one op: [opcode, dims..., tensor indices..., flags...], sizes fixed by the opcode
// (plan_op_layout in run-plan.cc; lib/model/plan.ts writes them). Tensor indices point into `tensors`
// (-1 = no bias); LRN's alpha, beta, k are scalars[s], scalars[s+1], scalars[s+2] with s its flag.
#pragma once

#include <napi.h>

namespace alexnet {

enum plan_opcode : int {
  PLAN_CONV2D = 1,               // dims CONV2D (16), tensors input weight bias output, flag relu
  PLAN_MAX_POOL2D = 2,           // dims POOL2D (14), tensors input output
  PLAN_AVG_POOL2D = 3,           // dims POOL2D (14), tensors input output, flag countIncludePad
  PLAN_LRN = 4,                  // dims [batch, channels, height, width, size], tensors input output, flag scalar index
  PLAN_LINEAR = 5,               // dims [rows, inFeatures, outFeatures], tensors input weight bias output, flag relu
  PLAN_SOFTMAX = 6,              // dims [rows, cols], tensors input output
  PLAN_ADAPTIVE_AVG_POOL2D = 7,  // dims [batch, channels, inHeight, inWidth, outHeight, outWidth], tensors input output
  PLAN_RELU = 8,                 // dims [length], tensors input output (in place allowed)
};

// Promise<number>: total native ns; times (Float64Array or null) receives each op's ns in order
Napi::Value op_run_plan(const Napi::CallbackInfo& info);

}  // namespace alexnet
