// Internal to the CPU Winograd convolution (winograd.cc): the variants and the per-ISA tile transforms.
// Each ISA's file (winograd-avx512.cc, winograd-avx2.cc, winograd-portable.cc) includes winograd-body.inc
// with its own vector width, compiled with its own -m flags. The transforms run across VW tiles per
// vector register; their coefficients are generated (scripts/winograd_gen.py -> winograd-coeffs.inc).
#pragma once

#include <cstdint>

namespace alexnet {

// F(m, r): m x m output tiles of an r x r kernel from (m + r - 1)^2 input tiles
enum winograd_variant : int { WINOGRAD_F4_3, WINOGRAD_F4_5, WINOGRAD_VARIANTS };
struct winograd_shape {
  int tile, kernel, alpha;
};
constexpr winograd_shape WINOGRAD_SHAPES[WINOGRAD_VARIANTS] = {{4, 3, 6}, {4, 5, 8}};

// V = B^T d B of one input channel for chunk columns [0, padded_columns): column col is tile
// col % tiles_per_image of image col / tiles_per_image; columns >= columns are written as 0.
// V goes straight into the packed-B layout the GEMM reads (gemm_packed_params::b_packed): for position
// xi and column col, dst[xi * xi_stride + (col / nr) * panel_stride + col % nr] (dst already points at
// the channel's k row inside its group's panels). padded_columns is a multiple of nr, nr of VW.
struct winograd_input_job {
  const float* in;       // the channel's plane in the chunk's first image
  int64_t image_stride;  // floats from one image's plane to the next image's
  int height, width, pad_top, pad_left, tiles_h, tiles_w;
  int64_t columns, padded_columns;
  float* dst;
  int64_t xi_stride, panel_stride;
  int nr;
};

// out = A^T M A + bias (ReLU) of one output channel for chunk columns [0, columns): M of position xi
// at m[xi * xi_stride + col] (readable up to a whole vector past columns), the m x m tile clipped to the
// output plane of image col / tiles_per_image (out + image * image_stride).
struct winograd_output_job {
  const float* m;
  int64_t xi_stride, columns;
  float* out;
  int64_t image_stride;
  int out_height, out_width, tiles_h, tiles_w;
  float bias;
  bool relu;
};

struct winograd_transforms {
  int vw;  // floats per vector
  void (*input[WINOGRAD_VARIANTS])(const winograd_input_job& job);
  void (*output[WINOGRAD_VARIANTS])(const winograd_output_job& job);
};

winograd_transforms winograd_transforms_portable();
#ifdef ALEXNET_HAVE_AVX2
winograd_transforms winograd_transforms_avx2();
#endif
#ifdef ALEXNET_HAVE_AVX512
winograd_transforms winograd_transforms_avx512();
#endif

}  // namespace alexnet
