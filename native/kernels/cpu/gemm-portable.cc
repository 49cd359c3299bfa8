// GEMM for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on arm64), 6 x 8 register block.
#define GEMM_VEC_BYTES 16
#define GEMM_MR 6
#define GEMM_NR 8
#define GEMM_MC 120
#define GEMM_KC 256
#define GEMM_NC 2048
#define GEMM_PACKED_NC 64
#define GEMM_KERNEL_FN gemm_kernel_portable
#include "kernels/cpu/gemm-body.inc"
