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


// ---------------------------------------------------------------------------------------------
// GEMM with a pre-packed A (conv weights packed once at load) and a B that a callback packs (im2col
// fused into B packing, so no im2col buffer; or a Winograd-domain matrix).
//
// A panels (the same for every ISA, so setIsa() after packing is harmless): rows in panels of
// GEMM_PANEL_ROWS, each k-major over the whole k, rows past m zero:
//   a[(r / GEMM_PANEL_ROWS) * k * GEMM_PANEL_ROWS + p * GEMM_PANEL_ROWS + r % GEMM_PANEL_ROWS] = A(r, p)
// A k block [k0, k0 + kc) of a panel is then contiguous, whatever kc an ISA picks. MR is a multiple of it.
constexpr int GEMM_PANEL_ROWS = 6;

// writes op(B)(k0 + p, col0 + j) to dst[p * nr + j] for p < kc, j < cols, and 0 for cols <= j < nr
using gemm_pack_b_fn = void (*)(const void* ctx, int k0, int kc, int64_t col0, int cols, int nr, float* dst);

struct gemm_packed_params {
  int m = 0, k = 0;
  const float* a = nullptr;  // panels as above
  gemm_pack_b_fn pack_b = nullptr;
  const void* b_ctx = nullptr;
  // or B already packed (pack_b unused): panels of the ISA's nr columns, each k-major over the whole k,
  // B(p, col) at b_packed[(col / nr) * k * nr + p * nr + col % nr] (Winograd's V is written so)
  const float* b_packed = nullptr;
  // C(r, col) is c[r * ldc + (col / c_segment) * c_segment_stride + col % c_segment]: NCHW output of
  // several images side by side (c_segment = out_h * out_w, stride = the image); c_segment >= n for plain
  float* c = nullptr;
  int64_t ldc = 0, c_segment = 0, c_segment_stride = 0;
  const float* bias = nullptr;  // m values (per row), or null
  bool relu = false;
};

// Computes all rows x columns [n0, n1) of C. packed_b holds kc * round_up(min(nc, n1 - n0), nr) floats.
using gemm_packed_block_fn = void (*)(const gemm_packed_params& p, int64_t n0, int64_t n1, float* packed_b);

struct gemm_isa_kernel {
  int mr, nr;      // register block (micro-kernel rows x columns)
  int mc, kc, nc;  // cache blocks: A block mc x kc (L2), B panel kc x nc (L3); kc is the larger k block of
                   // the two paths (packed_block's may exceed gemm_block's), so packed_b sized by it fits both
  gemm_block_fn block;
  gemm_packed_block_fn packed_block;
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
