// torch AdaptiveAvgPool2d: output cell (i, j) averages rows [floor(i*H/oh), ceil((i+1)*H/oh)) and
// columns [floor(j*W/ow), ceil((j+1)*W/ow)), so windows overlap when H is not a multiple of oh.
#include <cstring>
#include <vector>

#include "kernels/cpu/small-op.h"
#include "kernels/kernels.h"

namespace alexnet {

int adaptive_avgpool2d_forward_cpu(const adaptive_avgpool_params& p, const float* in, float* out,
                                   thread_pool& pool) {
  const int64_t in_plane = static_cast<int64_t>(p.in_height) * p.in_width;
  const int64_t out_plane = static_cast<int64_t>(p.out_height) * p.out_width;
  const int64_t planes = static_cast<int64_t>(p.batch) * p.channels;
  if (p.in_height == p.out_height && p.in_width == p.out_width) {
    // every window is one cell (torchvision's 6x6 -> 6x6 at 224): sum / 1 is the value itself
    if (in != out) std::memcpy(out, in, sizeof(float) * static_cast<size_t>(planes * in_plane));
    return KERNEL_OK;
  }
  // the window bounds, once per call (64-bit divisions per cell cost more than the sums)
  std::vector<int64_t> rows(2 * static_cast<size_t>(p.out_height)), cols(2 * static_cast<size_t>(p.out_width));
  for (int i = 0; i < p.out_height; ++i) {
    rows[2 * i] = static_cast<int64_t>(i) * p.in_height / p.out_height;
    rows[2 * i + 1] = (static_cast<int64_t>(i + 1) * p.in_height + p.out_height - 1) / p.out_height;
  }
  for (int j = 0; j < p.out_width; ++j) {
    cols[2 * j] = static_cast<int64_t>(j) * p.in_width / p.out_width;
    cols[2 * j + 1] = (static_cast<int64_t>(j + 1) * p.in_width + p.out_width - 1) / p.out_width;
  }
  run_sized(pool, planes * in_plane, [&](int ith, int nth) {
    int64_t begin, end;
    split_range(planes, ith, nth, &begin, &end);
    for (int64_t plane = begin; plane < end; ++plane) {
      const float* src = in + plane * in_plane;
      float* dst = out + plane * out_plane;
      for (int i = 0; i < p.out_height; ++i) {
        const int64_t h0 = rows[2 * i], h1 = rows[2 * i + 1];
        for (int j = 0; j < p.out_width; ++j) {
          const int64_t w0 = cols[2 * j], w1 = cols[2 * j + 1];
          float sum = 0.0f;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) sum += src[h * p.in_width + w];
          dst[static_cast<int64_t>(i) * p.out_width + j] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
        }
      }
    }
  });
  return KERNEL_OK;
}

}  // namespace alexnet
