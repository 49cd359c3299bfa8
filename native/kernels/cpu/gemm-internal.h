// Internal to the CPU GEMM: the per-ISA entry points that gemm.cc dispatches to. Each ISA's file
// (gemm-avx512.cc, gemm-avx2.cc, gemm-portable.cc) includes gemm-body.inc with its own vector width
// and blocking, compiled with its own -m flags.
#pragma once

#include "kernels/kernels.h"

namespace alexnet {

// Computes rows [m0, m1) x columns [n0, n1) of C. packed_a holds mc*kc floats, packed_b
// kc * round_up(min(nc, n1 - n0), nr) floats, both 64-byte aligned.
using gemm_block_fn = void (*)(const gemm_params& p, int m0, int m1, int n0, int n1, float* packed_a,
                               float* packed_b);

// Panels [panel0, panel1) of a linear with packed weights (kernels.h LINEAR_PANEL layout), all rows.
using linear_panels_fn = void (*)(const linear_params& p, const float* in, const float* packed, const float* bias,
                                  float* out, int panel0, int panel1);
// fp32 multiply-adds done by `iterations` rounds of the ISA's FMA loop, on registers only
using peak_loop_fn = double (*)(long iterations);

struct gemm_isa_kernel {
  int mr, nr;      // register block (micro-kernel rows x columns)
  int mc, kc, nc;  // cache blocks: A block mc x kc (L2), B panel kc x nc (L3)
  gemm_block_fn block;
  linear_panels_fn linear_panels;
  peak_loop_fn peak_loop;
};

// the kernel set of the ISA in use now (gemm.cc)
gemm_isa_kernel gemm_kernel_current();

gemm_isa_kernel gemm_kernel_portable();
#ifdef ALEXNET_HAVE_AVX2
gemm_isa_kernel gemm_kernel_avx2();
#endif
#ifdef ALEXNET_HAVE_AVX512
gemm_isa_kernel gemm_kernel_avx512();
#endif

}  // namespace alexnet
