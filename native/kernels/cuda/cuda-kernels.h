// The CUDA kernels: the same params structs as the CPU kernels in kernels/kernels.h, on device
// pointers, launched on `stream` (asynchronously: the caller synchronizes). Each returns the CUDA
// status of its launch (cudaSuccess or the launch error); the napi layer (native/cuda/) has already
// checked every dim, so these only compute. This header is plain C++: the host-compiled glue and
// the native test include it without nvcc.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/kernels.h"

namespace alexnet {

// The arithmetic of conv2d and linear (the GEMM-shaped ops). fp32: exact fp32 FMA (the default);
// tf32: tensor cores with TF32 operands (10-bit mantissa), fp32 accumulation; bf16: tensor cores
// with BF16 operands (8-bit mantissa), fp32 accumulation. The other ops are always fp32.
enum class cuda_precision : int { fp32 = 0, tf32 = 1, bf16 = 2 };

const char* cuda_precision_name(cuda_precision precision);
// false for names other than "fp32", "tf32", "bf16"
bool cuda_precision_parse(const char* name, cuda_precision* precision);

cudaError_t conv2d_forward_cuda(const conv2d_params& p, const float* in, const float* weight, const float* bias,
                                float* out, cuda_precision precision, cudaStream_t stream);

cudaError_t linear_forward_cuda(const linear_params& p, const float* in, const float* weight, const float* bias,
                                float* out, cuda_precision precision, cudaStream_t stream);

cudaError_t max_pool2d_forward_cuda(const pool2d_params& p, const float* in, float* out, cudaStream_t stream);
cudaError_t avg_pool2d_forward_cuda(const pool2d_params& p, bool count_include_pad, const float* in, float* out,
                                    cudaStream_t stream);

cudaError_t lrn_forward_cuda(const lrn_params& p, const float* in, float* out, cudaStream_t stream);

// in == out allowed
cudaError_t softmax_forward_cuda(const softmax_params& p, const float* in, float* out, cudaStream_t stream);

cudaError_t adaptive_avgpool2d_forward_cuda(const adaptive_avgpool_params& p, const float* in, float* out,
                                            cudaStream_t stream);

// elementwise max(x, 0) (NaN stays NaN); in == out allowed
cudaError_t relu_forward_cuda(size_t length, const float* in, float* out, cudaStream_t stream);

}  // namespace alexnet
