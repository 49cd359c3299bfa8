// Winograd F(m,r) tile transforms for any CPU: 16-byte vectors (SSE2 on x86-64, NEON on arm64), 4 tiles each.
#define WINOGRAD_VEC_BYTES 16
#define WINOGRAD_TRANSFORMS_FN winograd_transforms_portable
#include "kernels/cpu/winograd-body.inc"
