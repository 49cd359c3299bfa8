// LRN across channels (ONNX LRN = Caffe ACROSS_CHANNELS), split over (image, chunk of a channel plane's
// pixels): for each channel, the window's squares summed over the chunk (contiguous in NCHW, so the loops
// run on whole vectors), then y = x / (k + alpha / size * sum)^beta.
// Every kernel set gives the same bits: the same body (lrn_chunk, inlined) is compiled for the baseline, AVX2
// and AVX-512 (target attributes), and each element sees the same IEEE operations in the same order (the
// window summed from channel c0 up, sqrt and division correctly rounded, no FMA: this file is compiled with
// -ffp-contract=off, and with -fno-math-errno so that sqrt vectorizes: it never sees a negative).
#include <cmath>

#include "kernels/cpu/small-op.h"
#include "kernels/kernels.h"

namespace alexnet {
namespace {

constexpr int LRN_CHUNK = 512;  // pixels per work item: the window's rows and the sums stay in L1

struct lrn_setup {
  int64_t plane;
  int before, after;  // floor and ceil of (size - 1) / 2
  float scale;        // alpha / size
};

template <bool THREE_QUARTERS>
__attribute__((always_inline)) inline void lrn_chunk(const lrn_params& p, const lrn_setup& s, const float* src, float* dst,
                                                     int len) {
  float sum[LRN_CHUNK];
  for (int c = 0; c < p.channels; ++c) {
    const int c0 = c - s.before < 0 ? 0 : c - s.before;
    const int c1 = c + s.after >= p.channels ? p.channels - 1 : c + s.after;
    for (int w = 0; w < len; ++w) sum[w] = 0.0f;
    for (int j = c0; j <= c1; ++j) {
      const float* __restrict x = src + j * s.plane;
      for (int w = 0; w < len; ++w) sum[w] += x[w] * x[w];
    }
    const float* __restrict x = src + c * s.plane;
    float* __restrict y = dst + c * s.plane;
    if (THREE_QUARTERS) {
      // t^-0.75 = 1 / (sqrt(t) * sqrt(sqrt(t))): within a few ulp of pow
      for (int w = 0; w < len; ++w) {
        const float t = p.k + s.scale * sum[w], r = std::sqrt(t);
        y[w] = x[w] / (r * std::sqrt(r));
      }
    } else {
      for (int w = 0; w < len; ++w) y[w] = x[w] / std::pow(p.k + s.scale * sum[w], p.beta);
    }
  }
}

using lrn_items_fn = void (*)(const lrn_params&, const lrn_setup&, const float*, float*, int64_t, int64_t);

// work items [begin, end): item i is chunk i % chunks of image i / chunks
#define ALEXNET_LRN_ITEMS(NAME, ATTR)                                                                              \
  ATTR void NAME(const lrn_params& p, const lrn_setup& s, const float* in, float* out, int64_t begin, int64_t end) { \
    const int64_t chunks = (s.plane + LRN_CHUNK - 1) / LRN_CHUNK;                                                  \
    for (int64_t item = begin; item < end; ++item) {                                                               \
      const int64_t n = item / chunks, first = item % chunks * LRN_CHUNK;                                          \
      const int len = static_cast<int>(s.plane - first < LRN_CHUNK ? s.plane - first : LRN_CHUNK);                 \
      const int64_t offset = n * p.channels * s.plane + first;                                                     \
      if (p.beta == 0.75f) lrn_chunk<true>(p, s, in + offset, out + offset, len);                                   \
      else lrn_chunk<false>(p, s, in + offset, out + offset, len);                                                  \
    }                                                                                                              \
  }

ALEXNET_LRN_ITEMS(lrn_items_baseline, )
#if defined(__GNUC__) && (defined(__x86_64__) || defined(_M_X64))
ALEXNET_LRN_ITEMS(lrn_items_avx2, __attribute__((target("avx2"))))
ALEXNET_LRN_ITEMS(lrn_items_avx512, __attribute__((target("avx512f"))))
#define ALEXNET_LRN_WIDE 1
#endif
#undef ALEXNET_LRN_ITEMS

lrn_items_fn lrn_items_current() {
#ifdef ALEXNET_LRN_WIDE
  switch (cpu_isa_current()) {
    case cpu_isa::avx512:
    case cpu_isa::avx512_vnni: return lrn_items_avx512;
    case cpu_isa::avx2:
    case cpu_isa::avx2_vnni: return lrn_items_avx2;
    default: break;
  }
#endif
  return lrn_items_baseline;
}

}  // namespace

int lrn_forward_cpu(const lrn_params& p, const float* in, float* out, thread_pool& pool) {
  lrn_setup s;
  s.plane = static_cast<int64_t>(p.height) * p.width;
  s.before = (p.size - 1) / 2;
  s.after = p.size - 1 - s.before;
  s.scale = p.alpha / static_cast<float>(p.size);
  const int64_t items = static_cast<int64_t>(p.batch) * ((s.plane + LRN_CHUNK - 1) / LRN_CHUNK);
  const lrn_items_fn fn = lrn_items_current();
  run_sized(pool, static_cast<int64_t>(p.batch) * p.channels * s.plane, [&](int ith, int nth) {
    int64_t begin, end;
    split_range(items, ith, nth, &begin, &end);
    fn(p, s, in, out, begin, end);
  });
  return KERNEL_OK;
}

}  // namespace alexnet
