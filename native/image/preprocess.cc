// Pillow's bilinear resize (src/libImaging/Resample.c, ImagingResample with the triangle filter),
// the centre crop and ToTensor/Normalize, computing only the window the crop keeps. Every output
// pixel depends only on its own row's and column's coefficients, so leaving out the others changes
// nothing: the result is the full resize followed by the crop, to the level (test/image-native.test.ts).
//
// The coefficients are computed in double exactly as resize.ts (and Resample.c) does, in the same
// operation order; image.cmake compiles this file with -ffp-contract=off so no FMA contraction can
// change a rounding. Sums are 32-bit integers as in Resample.c: bilinear weights are >= 0 and sum
// to about 2^22, so 255 * 2^22 + 2^21 stays below 2^31.
#include "image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace {

// Resample.c: 32 - 8 - 2 bits, "8 bits for result, two extra bits for overflow and int type"
constexpr int kPrecisionBits = 22;
constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);

struct resample_coefficients {
  int kernel_size = 0;
  std::vector<int> bounds;        // per output pixel: first input pixel, number of taps
  std::vector<int32_t> weights;   // per output pixel: kernel_size fixed-point weights
};

// Resample.c precompute_coeffs + normalize_coeffs_8bpc, bilinear (support 1); resize.ts bilinearCoefficients
resample_coefficients resample_bilinear_coefficients(int in_size, int out_size) {
  resample_coefficients c;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;
  c.kernel_size = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.assign(static_cast<size_t>(out_size) * 2, 0);
  c.weights.assign(static_cast<size_t>(out_size) * c.kernel_size, 0);
  std::vector<double> taps(c.kernel_size);
  for (int xx = 0; xx < out_size; xx++) {
    const double center = (xx + 0.5) * scale;
    const double inv_filter_scale = 1.0 / filter_scale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double total = 0;
    for (int x = 0; x < xmax; x++) {
      const double t = std::fabs((x + xmin - center + 0.5) * inv_filter_scale);
      const double w = t < 1.0 ? 1.0 - t : 0.0;
      taps[x] = w;
      total += w;
    }
    for (int x = 0; x < xmax; x++) {
      const double k = total != 0 ? taps[x] / total : taps[x];
      const double fixed = k * (1 << kPrecisionBits);
      c.weights[static_cast<size_t>(xx) * c.kernel_size + x] = static_cast<int32_t>(k < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

// Resample.c clip8: arithmetic shift, then clamp
inline uint8_t resample_clip8(int32_t sum) {
  const int32_t v = sum >> kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// The resized image's pixels inside the crop window clipped to the resized image: rows [y0, y1),
// columns [x0, x1), as interleaved RGB (y1 - y0) * (x1 - x0) * 3. rgb is the calling thread's buffer,
// valid until its next call.
struct resize_window {
  int y0, y1, x0, x1;
  const std::vector<uint8_t>* rgb;
};

// A thread's working buffers, reused from image to image (score preprocesses thousands: fresh ones cost
// page faults and zero fills each time)
struct resize_buffers {
  std::vector<uint8_t> horizontal, window;
  std::vector<int32_t> sums;
};
thread_local resize_buffers buffers;

resize_window resize_kept_window(const uint8_t* rgb, const image_geometry& g) {
  resize_window win;
  win.rgb = &buffers.window;
  win.y0 = std::max(g.crop_top, 0);
  win.y1 = std::min(g.crop_top + g.out_height, g.resized_height);
  win.x0 = std::max(g.crop_left, 0);
  win.x1 = std::min(g.crop_left + g.out_width, g.resized_width);
  if (win.y1 <= win.y0 || win.x1 <= win.x0) {
    win.y1 = win.y0;
    win.x1 = win.x0;
    return win;
  }
  const int kept_width = win.x1 - win.x0;
  const size_t kept_stride = static_cast<size_t>(kept_width) * 3;
  // Resample.c ImagingResampleInner: each pass only when that axis changes size
  const bool horizontal = g.resized_width != g.in_width;
  const bool vertical = g.resized_height != g.in_height;

  resample_coefficients vc;
  int row_first = win.y0, row_last = win.y1;  // input rows the vertical pass reads
  if (vertical) {
    vc = resample_bilinear_coefficients(g.in_height, g.resized_height);
    row_first = g.in_height;
    row_last = 0;
    for (int yy = win.y0; yy < win.y1; yy++) {
      row_first = std::min(row_first, vc.bounds[yy * 2]);
      row_last = std::max(row_last, vc.bounds[yy * 2] + vc.bounds[yy * 2 + 1]);
    }
  }

  // horizontal pass over the rows the vertical pass needs, kept columns only
  std::vector<uint8_t>& horizontal_rgb = buffers.horizontal;
  const uint8_t* rows;
  size_t row_stride;
  if (horizontal) {
    const resample_coefficients hc = resample_bilinear_coefficients(g.in_width, g.resized_width);
    horizontal_rgb.resize(static_cast<size_t>(row_last - row_first) * kept_stride);
    for (int y = row_first; y < row_last; y++) {
      const uint8_t* line = rgb + static_cast<size_t>(y) * g.in_width * 3;
      uint8_t* out = horizontal_rgb.data() + static_cast<size_t>(y - row_first) * kept_stride;
      for (int xx = win.x0; xx < win.x1; xx++) {
        const int xmin = hc.bounds[xx * 2];
        const int taps = hc.bounds[xx * 2 + 1];
        const int32_t* w = hc.weights.data() + static_cast<size_t>(xx) * hc.kernel_size;
        const uint8_t* s = line + static_cast<size_t>(xmin) * 3;
        int32_t r = kHalf, gr = kHalf, b = kHalf;
        for (int x = 0; x < taps; x++) {
          r += s[x * 3] * w[x];
          gr += s[x * 3 + 1] * w[x];
          b += s[x * 3 + 2] * w[x];
        }
        out[0] = resample_clip8(r);
        out[1] = resample_clip8(gr);
        out[2] = resample_clip8(b);
        out += 3;
      }
    }
    rows = horizontal_rgb.data();
    row_stride = kept_stride;
  } else {
    rows = rgb + (static_cast<size_t>(row_first) * g.in_width + win.x0) * 3;
    row_stride = static_cast<size_t>(g.in_width) * 3;
  }

  std::vector<uint8_t>& kept = buffers.window;
  kept.resize(static_cast<size_t>(win.y1 - win.y0) * kept_stride);
  if (!vertical) {
    for (int y = win.y0; y < win.y1; y++) {
      std::memcpy(kept.data() + static_cast<size_t>(y - win.y0) * kept_stride,
                  rows + static_cast<size_t>(y - row_first) * row_stride, kept_stride);
    }
    return win;
  }
  // vertical pass, a row at a time with the taps outermost so the inner loop vectorizes
  std::vector<int32_t>& sums = buffers.sums;
  sums.resize(kept_stride);
  for (int yy = win.y0; yy < win.y1; yy++) {
    const int ymin = vc.bounds[yy * 2];
    const int taps = vc.bounds[yy * 2 + 1];
    const int32_t* w = vc.weights.data() + static_cast<size_t>(yy) * vc.kernel_size;
    std::fill(sums.begin(), sums.end(), kHalf);
    for (int y = 0; y < taps; y++) {
      const uint8_t* line = rows + static_cast<size_t>(ymin + y - row_first) * row_stride;
      const int32_t weight = w[y];
      for (size_t i = 0; i < kept_stride; i++) sums[i] += line[i] * weight;
    }
    uint8_t* out = kept.data() + static_cast<size_t>(yy - win.y0) * kept_stride;
    size_t i = 0;
#if defined(__SSE2__)
    // resample_clip8 on 16 sums at once: the shifted sums lie within +-512, so the int16 saturation
    // of packs_epi32 changes nothing and packus_epi16's clamps to [0, 255] are clip8's
    for (; i + 16 <= kept_stride; i += 16) {
      const int32_t* s = sums.data() + i;
      const __m128i a = _mm_srai_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), kPrecisionBits);
      const __m128i b = _mm_srai_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 4)), kPrecisionBits);
      const __m128i c = _mm_srai_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 8)), kPrecisionBits);
      const __m128i d = _mm_srai_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 12)), kPrecisionBits);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm_packus_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d)));
    }
#endif
    for (; i < kept_stride; i++) out[i] = resample_clip8(sums[i]);
  }
  return win;
}

}  // namespace

void image_resize_crop_rgb(const uint8_t* rgb, const image_geometry& g, uint8_t* out) {
  const resize_window win = resize_kept_window(rgb, g);
  std::memset(out, 0, static_cast<size_t>(g.out_height) * g.out_width * 3);
  const size_t kept_stride = static_cast<size_t>(win.x1 - win.x0) * 3;
  for (int y = win.y0; y < win.y1; y++) {
    const size_t o = (static_cast<size_t>(y - g.crop_top) * g.out_width + (win.x0 - g.crop_left)) * 3;
    std::memcpy(out + o, win.rgb->data() + static_cast<size_t>(y - win.y0) * kept_stride, kept_stride);
  }
}

void image_resize_crop_tensor(const uint8_t* rgb, const image_geometry& g, const float* lut,
                              const int source[3], float* out) {
  const resize_window win = resize_kept_window(rgb, g);
  const size_t plane = static_cast<size_t>(g.out_height) * g.out_width;
  const int kept_width = win.x1 - win.x0;
  for (int c = 0; c < 3; c++) {
    const float* table = lut + c * 256;
    const int s = source[c];
    float* dst = out + c * plane;
    // torchvision pads the uint8 image with zeros before ToTensor: padding is table[0]
    std::fill(dst, dst + plane, table[0]);
    for (int y = win.y0; y < win.y1; y++) {
      const uint8_t* line = win.rgb->data() + static_cast<size_t>(y - win.y0) * kept_width * 3;
      float* row = dst + static_cast<size_t>(y - g.crop_top) * g.out_width + (win.x0 - g.crop_left);
      for (int x = 0; x < kept_width; x++) row[x] = table[line[x * 3 + s]];
    }
  }
}

void image_orient_rgb(const std::vector<uint8_t>& rgb, int* width, int* height, int orientation,
                      std::vector<uint8_t>* out) {
  const int w = *width, h = *height;
  out->resize(rgb.size());
  if (orientation < 2 || orientation > 8) {
    std::memcpy(out->data(), rgb.data(), rgb.size());
    return;
  }
  const bool swap = orientation >= 5;
  const int out_width = swap ? h : w;
  const int out_height = swap ? w : h;
  uint8_t* o = out->data();
  // for each displayed pixel (x, y), the stored pixel it comes from (decode.ts orient)
  for (int y = 0; y < out_height; y++) {
    for (int x = 0; x < out_width; x++) {
      size_t s = 0;
      switch (orientation) {
        case 2: s = static_cast<size_t>(y) * w + (w - 1 - x); break;
        case 3: s = static_cast<size_t>(h - 1 - y) * w + (w - 1 - x); break;
        case 4: s = static_cast<size_t>(h - 1 - y) * w + x; break;
        case 5: s = static_cast<size_t>(x) * w + y; break;
        case 6: s = static_cast<size_t>(h - 1 - x) * w + y; break;
        case 7: s = static_cast<size_t>(h - 1 - x) * w + (w - 1 - y); break;
        case 8: s = static_cast<size_t>(x) * w + (w - 1 - y); break;
      }
      o[0] = rgb[s * 3];
      o[1] = rgb[s * 3 + 1];
      o[2] = rgb[s * 3 + 2];
      o += 3;
    }
  }
  *width = out_width;
  *height = out_height;
}
