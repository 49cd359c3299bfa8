// Packed linear for AVX-512 (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma): a 16-wide
// panel is 1 zmm per k step; batched tiles of 12 rows = 12 accumulators of the 32 zmm registers.
#define LINEAR_VEC_BYTES 64
#define LINEAR_TILE_ROWS 12
#define LINEAR_KERNEL_FN linear_kernel_avx512
#include "kernels/cpu/linear-body.inc"
