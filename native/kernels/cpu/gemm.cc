// GEMM dispatch: picks the ISA kernel set, splits C into a pm x pn grid of blocks (one per thread)
// and gives each thread its own packing buffers.
#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/gemm-internal.h"
#include "kernels/cpu/thread-pool.h"

namespace alexnet {
namespace {

gemm_isa_kernel kernel_for(cpu_isa isa) {
  switch (cpu_isa_base(isa)) {
#ifdef ALEXNET_HAVE_AVX512
    case cpu_isa::avx512: return gemm_kernel_avx512();
#endif
#ifdef ALEXNET_HAVE_AVX2
    case cpu_isa::avx2: return gemm_kernel_avx2();
#endif
    default: return gemm_kernel_portable();
  }
}

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

struct gemm_grid {
  int pm, pn;        // threads along m and n
  int64_t tm, tn;    // rows / columns per thread, whole register blocks
};

// Chooses pm * pn = nth minimising per-thread work: the multiply-adds of its block plus packing
// its A rows and B columns (each thread packs its own; packing costs about as much as a pass over
// the operand).
gemm_grid choose_grid(const gemm_params& p, const gemm_isa_kernel& kern, int nth) {
  gemm_grid best{1, nth, 0, 0};
  double best_cost = -1;
  for (int pn = 1; pn <= nth; ++pn) {
    if (nth % pn != 0) continue;
    const int pm = nth / pn;
    const int64_t tm = round_up((p.m + pm - 1) / pm, kern.mr), tn = round_up((p.n + pn - 1) / pn, kern.nr);
    const double cost = static_cast<double>(tm) * tn * p.k / 16.0 + static_cast<double>(tm + tn) * p.k;
    if (best_cost < 0 || cost < best_cost) {
      best = gemm_grid{pm, pn, tm, tn};
      best_cost = cost;
    }
  }
  return best;
}

}  // namespace

gemm_isa_kernel gemm_kernel_current() { return kernel_for(cpu_isa_current()); }

int gemm_cpu(const gemm_params& p, thread_pool& pool) {
  if (p.m <= 0 || p.n <= 0 || p.k <= 0) return KERNEL_BAD_SHAPE;
  const gemm_isa_kernel kern = kernel_for(cpu_isa_current());
  pool.run([&](int ith, int nth) {
    // every thread derives the same grid from nth (cheap), so a setThreads() between calls cannot
    // leave blocks uncomputed
    const gemm_grid grid = choose_grid(p, kern, nth);
    if (ith >= grid.pm * grid.pn) return;
    const int64_t m0 = (ith / grid.pn) * grid.tm, n0 = (ith % grid.pn) * grid.tn;
    const int64_t m1 = m0 + grid.tm < p.m ? m0 + grid.tm : p.m, n1 = n0 + grid.tn < p.n ? n0 + grid.tn : p.n;
    if (m0 >= m1 || n0 >= n1) return;
    // per-thread packing buffers, kept between calls
    thread_local aligned_buffer packed_a, packed_b;
    const int64_t width = n1 - n0 < kern.nc ? n1 - n0 : kern.nc;
    float* pa = packed_a.reserve(static_cast<size_t>(kern.mc) * kern.kc);
    float* pb = packed_b.reserve(static_cast<size_t>(kern.kc) * round_up(width, kern.nr));
    kern.block(p, static_cast<int>(m0), static_cast<int>(m1), static_cast<int>(n0), static_cast<int>(n1), pa, pb);
  });
  return KERNEL_OK;
}

}  // namespace alexnet
