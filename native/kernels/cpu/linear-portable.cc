// Packed linear for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on arm64), a panel is 4 vectors per
// k step; batched tiles of 3 rows = 12 accumulators.
#define LINEAR_VEC_BYTES 16
#define LINEAR_TILE_ROWS 3
#define LINEAR_KERNEL_FN linear_kernel_portable
#include "kernels/cpu/linear-body.inc"
