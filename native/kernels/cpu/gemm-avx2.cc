// GEMM for AVX2 + FMA (compiled with -mavx2 -mfma): 6 x 16 register block = 12 ymm accumulators,
// 2 for B and 1 broadcast of the 16 ymm registers. Blocking as BLIS zen sgemm (MC 144, KC 256, NC 4080).
#define GEMM_VEC_BYTES 32
#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_MC 144
#define GEMM_KC 256
#define GEMM_NC 4080
#define GEMM_PACKED_NC 64
#define GEMM_PACKED_KC 512
#define GEMM_KERNEL_FN gemm_kernel_avx2
#include "kernels/cpu/gemm-body.inc"
// GEMM_PACKED_NC: the packed-A (conv) path packs 4 B slivers (60 KiB at kc 240) and runs all rows over
// them while they are in L1/L2, instead of gathering 4080 columns (3.9 MiB, L3) before the first FMA.
// GEMM_PACKED_KC: k up to 512 is one block (Winograd's k = 192..384, conv1's 363), so each C tile is
// loaded and stored once; a B sliver of 512 k steps is 32 KiB. Single-thread harness against 256:
// k = 384/448/512 (Winograd shapes) +8-11%, conv1 +3-5%, the rest within noise.
