// Internal to the CPU conv2d: strided convolutions over the stride phases of their input (space-to-depth,
// space-to-depth.cc). The phases of a few images at a time go into a workspace:
//   phase (c, ry, rx)[y][x] = in_padded[c][stride_h * y + ry][stride_w * x + rx]  (0 outside the input)
// channel c, row phase ry, column phase rx in that order (so the groups stay contiguous), each plane
// out_height + (kernel_h - 1) / stride_h rows by out_width + (kernel_w - 1) / stride_w columns. Then
// - the im2col GEMM on the same packed panels reads every row of B as a contiguous run of a phase plane
//   (s2d_pack_b), instead of a stride_w gather; the result is the same to the bit;
// - or the conv is a stride-1 conv over the phase channels with kernel ceil(kernel / stride) (s2d_rewrite),
//   which the Winograd path of winograd.h runs from rewritten weights where it applies (conv1: 11x11
//   stride 4 -> 3x3 over 48 phase channels).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace alexnet {

// whether the GEMM path gathers B from the phases: a stride > 1, and every phase is read (kernel >= stride)
bool s2d_gemm_applies(const conv2d_params& p);
// floats of one image's phases, and what a workspace needs past its last image (reads of s2d_pack_b)
int64_t s2d_phase_image_length(const conv2d_params& p);
constexpr int64_t S2D_WORKSPACE_SLACK = 64;
// rows of a phase plane: out_height + (kernel_h - 1) / stride_h
int s2d_phase_height(const conv2d_params& p);
// rows [y0, y1) of the phase planes of channels [c0, c1) of one image (`image`: its channel 0) into dst
// (that image's phases, s2d_phase_image_length floats); single-threaded, the caller splits the work
void s2d_split_image(const conv2d_params& p, const float* image, int c0, int c1, int y0, int y1, float* dst);

// gemm_pack_b_fn over the phases: B(k, col) with k = (c * kernel_h + ki) * kernel_w + kj (the panels' order)
// and col = image * out_h * out_w + oh * out_w + ow
struct s2d_b_source {
  const conv2d_params* p;
  const float* phases;      // the group's first phase channel of image first_image
  int64_t first_image;      // the image whose phases are at `phases` (consecutive images follow it)
  int64_t image_length;     // s2d_phase_image_length(p)
  const int64_t* offsets;   // s2d_b_offsets(p)
};
// where B row k of every column is, from the column's run start: (in_channels / groups) * kernel_h * kernel_w
void s2d_b_offsets(const conv2d_params& p, int64_t* offsets);
void s2d_pack_b(const void* ctx, int k0, int kc, int64_t col0, int cols, int nr, float* dst);

// The stride-1 rewrite of p over the phases: in_channels * stride_h * stride_w channels of the phase
// planes, kernel ceil(kernel / stride), stride 1, no pad; batch, outputs and groups as p's.
conv2d_params s2d_rewrite(const conv2d_params& p);
// floats of the rewritten weights, transformed by winograd_pack_weights: 0 unless p has a stride > 1 and
// its rewrite is a conv Winograd applies to (winograd_weight_length > 0)
size_t s2d_winograd_weight_length(const conv2d_params& p);
// w'[oc][(c, ry, rx)][ky][kx] = w[oc][c][stride_h * ky + ry][stride_w * kx + rx] (0 past the kernel),
// packed by winograd_pack_weights for s2d_rewrite(p)
void s2d_winograd_pack_weights(const conv2d_params& p, const float* weight, float* packed, thread_pool& pool);
// whether the rewrite on Winograd beats the GEMM over the phases (see space-to-depth.cc)
bool s2d_winograd_pays(const conv2d_params& p);
// conv2d of p on the rewrite: with whole images per thread (each calls winograd_forward on a one-thread
// pool of its own) while the batch splits evenly, the images left over on all threads
int s2d_winograd_forward(const conv2d_params& p, const float* in, const float* packed, const float* bias, float* out,
                         thread_pool& pool);
// the same in bf16 (winograd.h winograd_bf16_*): bytes of the rewrite's bf16 Winograd weights (0 where none),
// their packing from p's weights, and the forward pass (s2d_winograd_pays decides, as for fp32)
size_t s2d_winograd_bf16_bytes(const conv2d_params& p);
void s2d_winograd_bf16_pack(const conv2d_params& p, const float* weight, void* packed, thread_pool& pool);
int s2d_winograd_bf16_forward(const conv2d_params& p, const float* in, const void* packed, const float* bias, float* out,
                              thread_pool& pool);

}  // namespace alexnet
