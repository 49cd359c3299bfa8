// Internal to the packed linear kernels: the per-ISA entry points linear.cc dispatches to. Each ISA's
// file (linear-avx512.cc, linear-avx2.cc, linear-portable.cc) includes linear-body.inc with its own
// vector width, compiled with its own -m flags (like the GEMM, but kept apart from it).
#pragma once

#include <cstddef>

#include "kernels/kernels.h"

namespace alexnet {

// Panels [panel0, panel1) of a linear with packed weights (kernels.h LINEAR_PANEL layout), all rows.
// x_pack: the caller's scratch of linear_x_pack_floats(rows) floats, 64-byte aligned (batched rows only).
using linear_packed_panels_fn = void (*)(const linear_params& p, const float* in, const float* packed,
                                         const float* bias, float* out, int panel0, int panel1, float* x_pack);
// fp32 multiply-adds done by `iterations` rounds of the ISA's FMA loop, on registers only
using peak_fma_loop_fn = double (*)(long iterations);
// sum of `count` floats read with the same access pattern as the batch-1 linear (a bandwidth probe)
using stream_read_fn = float (*)(const float* data, size_t count);

// up to this many rows the weights are streamed once as dot products (bound by reading them); more
// rows run the batched, compute-bound tiles
constexpr int LINEAR_STREAM_MAX_ROWS = 4;
// k block of the batched kernel (every ISA): a panel's block is LINEAR_KC lines of 64 bytes (16 KiB)
constexpr int LINEAR_KC = 256;
// scratch the batched kernel packs one k block of the input rows into (rows rounded up to 16 covers
// every ISA's tile height)
inline size_t linear_x_pack_floats(int rows) { return static_cast<size_t>((rows + 15) / 16 * 16) * LINEAR_KC; }

struct linear_isa_kernel {
  linear_packed_panels_fn panels;
  peak_fma_loop_fn peak_loop;
  stream_read_fn stream_read;
};

linear_isa_kernel linear_kernel_portable();
#ifdef ALEXNET_HAVE_AVX2
linear_isa_kernel linear_kernel_avx2();
#endif
#ifdef ALEXNET_HAVE_AVX512
linear_isa_kernel linear_kernel_avx512();
#endif

}  // namespace alexnet
