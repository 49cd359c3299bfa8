// Packed linear for AVX2 + FMA (compiled with -mavx2 -mfma): a 16-wide panel is 2 ymm per k step;
// batched tiles of 6 rows = 12 accumulators of the 16 ymm registers.
#define LINEAR_VEC_BYTES 32
#define LINEAR_TILE_ROWS 6
#define LINEAR_KERNEL_FN linear_kernel_avx2
#include "kernels/cpu/linear-body.inc"
