// maxPool2d / avgPool2d. Windows are clipped to the input; the output size (floor or ceil rounding)
// comes from TypeScript. Work is split over (image, channel) planes.
#include <cstring>
#include <limits>

#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "kernels/cpu/small-op.h"
#include "kernels/kernels.h"

namespace alexnet {
namespace {

int clamp_int(int x, int lo, int hi) { return x < lo ? lo : (x > hi ? hi : x); }

template <class Plane>
void for_each_plane(const pool2d_params& p, thread_pool& pool, Plane plane) {
  const int64_t planes = static_cast<int64_t>(p.batch) * p.channels;
  run_sized(pool, planes * p.in_height * p.in_width, [&](int ith, int nth) {
    int64_t begin, end;
    split_range(planes, ith, nth, &begin, &end);
    for (int64_t i = begin; i < end; ++i) plane(i);
  });
}

}  // namespace

// Separable: per output row, the column-wise max over the window's input rows (contiguous, vectorised)
// into `cols`, then the max over each window's columns of it. max is exact in any order.
constexpr int MAX_POOL_ROW = 2048;

int max_pool2d_forward_cpu(const pool2d_params& p, const float* in, float* out, thread_pool& pool) {
  const int64_t in_plane = static_cast<int64_t>(p.in_height) * p.in_width;
  const int64_t out_plane = static_cast<int64_t>(p.out_height) * p.out_width;
  const bool separable = p.in_width <= MAX_POOL_ROW;
  for_each_plane(p, pool, [&](int64_t plane) {
    const float* src = in + plane * in_plane;
    float* dst = out + plane * out_plane;
    alignas(64) float cols[MAX_POOL_ROW];
    for (int oh = 0; oh < p.out_height; ++oh) {
      const int h_start = oh * p.stride_h - p.pad_top;
      const int h0 = clamp_int(h_start, 0, p.in_height), h1 = clamp_int(h_start + p.kernel_h, 0, p.in_height);
      float* row_out = dst + static_cast<int64_t>(oh) * p.out_width;
      if (separable && h0 < h1) {
        // from -inf, as the plain loop: a NaN is skipped the same way
        float* __restrict m = cols;
        for (int w = 0; w < p.in_width; ++w) m[w] = -std::numeric_limits<float>::infinity();
        for (int h = h0; h < h1; ++h) {
          const float* __restrict r = src + static_cast<int64_t>(h) * p.in_width;
          for (int w = 0; w < p.in_width; ++w) m[w] = r[w] > m[w] ? r[w] : m[w];
        }
        int ow = 0;
        if (p.kernel_w == 3 && p.stride_w == 2 && p.pad_left == 0 && p.in_width >= 3) {
          // AlexNet's 3x3/2 windows: the ones inside the row without clamps, in a loop the compiler
          // vectorizes (stride-2 loads); the same comparisons in the same order as the general loop
          const int inside = (p.in_width - 3) / 2 + 1 < p.out_width ? (p.in_width - 3) / 2 + 1 : p.out_width;
          const float* __restrict m3 = cols;
          for (; ow < inside; ++ow) {
            const float a = m3[2 * ow], b = m3[2 * ow + 1], c = m3[2 * ow + 2];
            float best = -std::numeric_limits<float>::infinity();
            best = a > best ? a : best;
            best = b > best ? b : best;
            best = c > best ? c : best;
            row_out[ow] = best;
          }
        }
        for (; ow < p.out_width; ++ow) {
          const int w_start = ow * p.stride_w - p.pad_left;
          const int w0 = clamp_int(w_start, 0, p.in_width), w1 = clamp_int(w_start + p.kernel_w, 0, p.in_width);
          float best = -std::numeric_limits<float>::infinity();
          for (int w = w0; w < w1; ++w) best = cols[w] > best ? cols[w] : best;
          row_out[ow] = w0 < w1 ? best : 0.0f;
        }
        continue;
      }
      for (int ow = 0; ow < p.out_width; ++ow) {
        const int w_start = ow * p.stride_w - p.pad_left;
        const int w0 = clamp_int(w_start, 0, p.in_width), w1 = clamp_int(w_start + p.kernel_w, 0, p.in_width);
        float best = -std::numeric_limits<float>::infinity();
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w) {
            const float x = src[static_cast<int64_t>(h) * p.in_width + w];
            best = x > best ? x : best;
          }
        // an empty window (cannot happen with the output sizes TypeScript computes) yields 0, not -inf
        row_out[ow] = (h0 < h1 && w0 < w1) ? best : 0.0f;
      }
    }
  });
  return KERNEL_OK;
}

// u8 NHWC: per output pixel, the byte-wise max over the window's pixels, 16 channels at a time (SSE2 pmaxub);
// split over (image, output row)
int max_pool2d_u8_forward_cpu(const pool2d_params& p, const uint8_t* in, uint8_t* out, bool nchw_out, thread_pool& pool) {
  const int channels = p.channels;
  const int64_t rows = static_cast<int64_t>(p.batch) * p.out_height;
  const int64_t out_plane = static_cast<int64_t>(p.out_height) * p.out_width;
  run_sized(pool, rows * p.out_width * channels * p.kernel_h * p.kernel_w, [&](int ith, int nth) {
    int64_t begin, end;
    split_range(rows, ith, nth, &begin, &end);
    constexpr int CHUNK = 1024;  // channels per pass of the window
    alignas(16) uint8_t best[CHUNK];
    for (int64_t row = begin; row < end; ++row) {
      const int64_t image = row / p.out_height;
      const int oh = static_cast<int>(row % p.out_height);
      const uint8_t* src = in + image * p.in_height * p.in_width * static_cast<int64_t>(channels);
      const int h_start = oh * p.stride_h - p.pad_top;
      const int h0 = clamp_int(h_start, 0, p.in_height), h1 = clamp_int(h_start + p.kernel_h, 0, p.in_height);
      for (int ow = 0; ow < p.out_width; ++ow) {
        const int w_start = ow * p.stride_w - p.pad_left;
        const int w0 = clamp_int(w_start, 0, p.in_width), w1 = clamp_int(w_start + p.kernel_w, 0, p.in_width);
        const int64_t pixel = static_cast<int64_t>(oh) * p.out_width + ow;
        for (int c0 = 0; c0 < channels; c0 += CHUNK) {
          const int n = channels - c0 < CHUNK ? channels - c0 : CHUNK;
          // from u8 0, the identity of max over u8 (an empty window, which the checked output sizes rule out,
          // would give 0 where the fp32 pool gives the zero point's 0.0)
          std::memset(best, 0, static_cast<size_t>(n));
          for (int h = h0; h < h1; ++h)
            for (int w = w0; w < w1; ++w) {
              const uint8_t* x = src + (static_cast<int64_t>(h) * p.in_width + w) * channels + c0;
              int c = 0;
#ifdef __SSE2__
              for (; c + 16 <= n; c += 16) {
                const __m128i m = _mm_max_epu8(_mm_load_si128(reinterpret_cast<const __m128i*>(best + c)),
                                               _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + c)));
                _mm_store_si128(reinterpret_cast<__m128i*>(best + c), m);
              }
#endif
              for (; c < n; ++c) best[c] = x[c] > best[c] ? x[c] : best[c];
            }
          if (nchw_out) {
            uint8_t* dst = out + (image * channels + c0) * out_plane + pixel;
            for (int c = 0; c < n; ++c) dst[c * out_plane] = best[c];
          } else {
            std::memcpy(out + (image * out_plane + pixel) * channels + c0, best, static_cast<size_t>(n));
          }
        }
      }
    }
  });
  return KERNEL_OK;
}

int avg_pool2d_forward_cpu(const pool2d_params& p, bool count_include_pad, const float* in, float* out,
                           thread_pool& pool) {
  const int64_t in_plane = static_cast<int64_t>(p.in_height) * p.in_width;
  const int64_t out_plane = static_cast<int64_t>(p.out_height) * p.out_width;
  for_each_plane(p, pool, [&](int64_t plane) {
    const float* src = in + plane * in_plane;
    float* dst = out + plane * out_plane;
    for (int oh = 0; oh < p.out_height; ++oh) {
      const int h_start = oh * p.stride_h - p.pad_top;
      const int h0 = clamp_int(h_start, 0, p.in_height), h1 = clamp_int(h_start + p.kernel_h, 0, p.in_height);
      // torch/ONNX count_include_pad: the window clipped to the padded input, not to the input
      const int padded_h = clamp_int(h_start + p.kernel_h, 0, p.in_height + p.pad_bottom) - h_start;
      for (int ow = 0; ow < p.out_width; ++ow) {
        const int w_start = ow * p.stride_w - p.pad_left;
        const int w0 = clamp_int(w_start, 0, p.in_width), w1 = clamp_int(w_start + p.kernel_w, 0, p.in_width);
        const int padded_w = clamp_int(w_start + p.kernel_w, 0, p.in_width + p.pad_right) - w_start;
        float sum = 0.0f;
        for (int h = h0; h < h1; ++h)
          for (int w = w0; w < w1; ++w) sum += src[static_cast<int64_t>(h) * p.in_width + w];
        const int count = count_include_pad ? padded_h * padded_w : (h1 - h0) * (w1 - w0);
        dst[static_cast<int64_t>(oh) * p.out_width + ow] =
            (h0 < h1 && w0 < w1 && count > 0) ? sum / static_cast<float>(count) : 0.0f;
      }
    }
  });
  return KERNEL_OK;
}

}  // namespace alexnet
