// Internal to the CPU conv2d: Winograd F(4,3) for 3x3 and F(4,5) for 5x5 stride-1 convolutions (winograd.cc).
// conv2d.cc packs the transformed weights after the GEMM panels and calls winograd_forward as
// winograd_mode_from_env() and winograd_pays() say.
#pragma once

#include <cstddef>

#include "kernels/kernels.h"

namespace alexnet {

// floats of transformed weights packed for p (0 when Winograd does not apply: not 3x3 or 5x5, stride 1)
size_t winograd_weight_length(const conv2d_params& p);
// U = G g G^T per (output, input) channel pair, as 36 GEMM A operands in the panels of gemm-internal.h
void winograd_pack_weights(const conv2d_params& p, const float* weight, float* transformed, thread_pool& pool);
// ALEXNET_CLI_WINOGRAD, read at every call so tests can run both paths: 0 never, 1 wherever it applies
// (3x3 or 5x5, stride 1), anything else or unset: where winograd_pays()
enum class winograd_mode { off, on, when_faster };
winograd_mode winograd_mode_from_env();
// whether to run Winograd where it applies: ALEXNET_CLI_WINOGRAD=1, or unset / other and `pays` (winograd_pays,
// s2d_winograd_pays, or a batch rule on top of them)
bool winograd_wanted(bool pays);
// whether this shape is faster as Winograd than as the im2col GEMM (measured; see winograd.cc)
bool winograd_pays(const conv2d_params& p);
int winograd_forward(const conv2d_params& p, const float* in, const float* transformed, const float* bias, float* out,
                     thread_pool& pool);
// bf16 (kernels.h conv_bf16_pack_cpu): bytes of the bf16 U (0 where Winograd does not apply), the packing,
// and the forward pass (fp32 transforms, bf16 GEMMs with the lowp panels kernels of the ISA in use)
size_t winograd_bf16_bytes(const conv2d_params& p);
void winograd_bf16_pack(const conv2d_params& p, const float* weight, void* packed, thread_pool& pool);
int winograd_bf16_forward(const conv2d_params& p, const float* in, const void* packed, const float* bias, float* out,
                          thread_pool& pool);

}  // namespace alexnet
