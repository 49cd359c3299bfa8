// Winograd F(m,r) tile transforms for AVX-512 (compiled with the AVX-512 flags): 16 tiles per zmm.
#define WINOGRAD_VEC_BYTES 64
#define WINOGRAD_TRANSFORMS_FN winograd_transforms_avx512
#include "kernels/cpu/winograd-body.inc"
