// GEMM for AVX-512 (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma): 12 x 32
// register block = 24 zmm accumulators of 32 (the BLIS skx sgemm shape), KC 384, NC 3072.
#define GEMM_VEC_BYTES 64
#define GEMM_MR 12
#define GEMM_NR 32
#define GEMM_MC 240
#define GEMM_KC 384
#define GEMM_NC 3072
#define GEMM_PACKED_NC 128
#define GEMM_KERNEL_FN gemm_kernel_avx512
#include "kernels/cpu/gemm-body.inc"
