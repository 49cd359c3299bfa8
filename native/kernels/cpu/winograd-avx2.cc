// Winograd F(m,r) tile transforms for AVX2 + FMA (compiled with -mavx2 -mfma): 8 tiles per ymm.
#define WINOGRAD_VEC_BYTES 32
#define WINOGRAD_TRANSFORMS_FN winograd_transforms_avx2
#include "kernels/cpu/winograd-body.inc"
