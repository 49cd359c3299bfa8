// conv2d as one GEMM per group over the whole batch: out_g[oc, (image, oh, ow)] = W_g[oc, ic*kh*kw] x col_g.
// The weights are packed once (conv_pack_cpu, at load) into the ISA-independent panels of
// gemm-internal.h, so no call packs A; the im2col matrix is never built: each NR-column panel of B is
// gathered straight from the NCHW input while the GEMM packs B (a k block at a time, so it stays in L2),
// or for strided convs copied from the input's stride phases (space-to-depth.cc), and C is written
// straight into NCHW (images side by side, gemm_packed_params' segments). The threads split the columns
// (images x output pixels) evenly. 3x3 stride-1 convs can run as Winograd F(4,3) instead (winograd.cc),
// from transformed weights packed after the panels; so can strided convs whose space-to-depth rewrite is
// such a conv (conv1: 11x11 stride 4 -> 3x3 over 48 phase channels), from the rewritten weights
// transformed and packed after the panels.
#include <cstring>
#include <vector>

#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/gemm-internal.h"
#include "kernels/cpu/space-to-depth.h"
#include "kernels/cpu/thread-pool.h"
#include "kernels/cpu/winograd.h"
#include "kernels/kernels.h"

namespace alexnet {
namespace {

static_assert(CONV_PANEL_ROWS == GEMM_PANEL_ROWS, "kernels.h and gemm-internal.h disagree on the panel height");

int64_t k_per_group(const conv2d_params& p) {
  return static_cast<int64_t>(p.in_channels / p.groups) * p.kernel_h * p.kernel_w;
}

int64_t panel_rows_per_group(const conv2d_params& p) {
  const int64_t out_per_group = p.out_channels / p.groups;
  return (out_per_group + CONV_PANEL_ROWS - 1) / CONV_PANEL_ROWS * CONV_PANEL_ROWS;
}

int64_t panels_length(const conv2d_params& p) { return p.groups * panel_rows_per_group(p) * k_per_group(p); }

// panel (g, i): rows g*out_per_group + i*CONV_PANEL_ROWS + r of the OIHW weights, zero past out_per_group
void pack_panels(const conv2d_params& p, const float* weight, float* packed, thread_pool& pool) {
  const int out_per_group = p.out_channels / p.groups;
  const int64_t k = k_per_group(p), rows = panel_rows_per_group(p), per_group = rows / CONV_PANEL_ROWS;
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(p.groups * per_group, ith, nth, &begin, &end);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t g = i / per_group, row0 = (i % per_group) * CONV_PANEL_ROWS;
      float* dst = packed + g * rows * k + row0 * k;
      for (int r = 0; r < CONV_PANEL_ROWS; ++r) {
        const bool real = row0 + r < out_per_group;
        const float* src = weight + (g * out_per_group + row0 + r) * k;
        for (int64_t q = 0; q < k; ++q) dst[q * CONV_PANEL_ROWS + r] = real ? src[q] : 0.0f;
      }
    }
  });
}

// What one NR-column panel of B needs: the input of one image (channels of one group) and the
// output pixel where each run of consecutive columns (one output row) starts.
struct im2col_source {
  const conv2d_params* p;
  const float* in;  // first channel of the group, image 0
  int64_t in_image, plane, spatial;
};

struct im2col_run {
  const float* image;
  int ih0, iw0, length, j0;
};

// B(k, col) = in[image][c][oh*stride_h - pad_top + ki][ow*stride_w - pad_left + kj] (0 outside), with
// k = (c*kh + ki)*kw + kj and col = image*spatial + oh*out_w + ow
void im2col_pack_b(const void* ctx, int k0, int kc, int64_t col0, int cols, int nr, float* dst) {
  const im2col_source& src = *static_cast<const im2col_source*>(ctx);
  const conv2d_params& p = *src.p;
  im2col_run runs[64];  // a run per output row the panel touches: at most nr <= 64
  int run_count = 0;
  for (int j = 0; j < cols;) {
    const int64_t col = col0 + j, image = col / src.spatial, s = col % src.spatial;
    const int oh = static_cast<int>(s / p.out_width), ow = static_cast<int>(s % p.out_width);
    const int length = cols - j < p.out_width - ow ? cols - j : p.out_width - ow;
    runs[run_count++] = {src.in + image * src.in_image, oh * p.stride_h - p.pad_top, ow * p.stride_w - p.pad_left,
                         length, j};
    j += length;
  }
  const int kernel_area = p.kernel_h * p.kernel_w;
  int c = k0 / kernel_area, ki = (k0 % kernel_area) / p.kernel_w, kj = k0 % p.kernel_w;
  const int sw = p.stride_w;
  for (int q = 0; q < kc; ++q) {
    float* __restrict row = dst + static_cast<size_t>(q) * nr;
    for (int r = 0; r < run_count; ++r) {
      const im2col_run& run = runs[r];
      float* __restrict o = row + run.j0;
      const int ih = run.ih0 + ki;
      if (ih < 0 || ih >= p.in_height) {
        for (int j = 0; j < run.length; ++j) o[j] = 0.0f;
        continue;
      }
      const float* __restrict in_row = run.image + c * src.plane + static_cast<int64_t>(ih) * p.in_width;
      const int iw = run.iw0 + kj;
      // valid j: 0 <= iw + j*sw < in_width
      int lo = iw >= 0 ? 0 : (-iw + sw - 1) / sw;
      int hi = iw >= p.in_width ? 0 : (p.in_width - 1 - iw) / sw + 1;
      if (lo > run.length) lo = run.length;
      if (hi > run.length) hi = run.length;
      if (hi < lo) hi = lo;
      for (int j = 0; j < lo; ++j) o[j] = 0.0f;
      if (sw == 1) {
        for (int j = lo; j < hi; ++j) o[j] = in_row[iw + j];
      } else {
        for (int j = lo; j < hi; ++j) o[j] = in_row[iw + j * sw];
      }
      for (int j = hi; j < run.length; ++j) o[j] = 0.0f;
    }
    for (int j = cols; j < nr; ++j) row[j] = 0.0f;
    if (++kj == p.kernel_w) {
      kj = 0;
      if (++ki == p.kernel_h) {
        ki = 0;
        ++c;
      }
    }
  }
}

// the GEMM of group g of p over all its columns (B still to set): C into NCHW, images side by side
gemm_packed_params conv_gemm_group(const conv2d_params& p, int g, const float* panels, const float* bias, float* out) {
  const int out_per_group = p.out_channels / p.groups;
  const int64_t spatial = static_cast<int64_t>(p.out_height) * p.out_width;
  gemm_packed_params gp;
  gp.m = out_per_group;
  gp.k = static_cast<int>(k_per_group(p));
  gp.a = panels + g * panel_rows_per_group(p) * k_per_group(p);
  gp.c = out + static_cast<int64_t>(g) * out_per_group * spatial;
  gp.ldc = spatial;
  gp.c_segment = spatial;
  gp.c_segment_stride = p.out_channels * spatial;
  gp.bias = bias ? bias + static_cast<int64_t>(g) * out_per_group : nullptr;
  gp.relu = p.relu;
  return gp;
}

// the GEMM path: panels = the first panels_length(p) floats of the packed weights. The threads split the
// columns (images x output pixels) in whole register panels, as even as they come. B is gathered from the
// input (im2col_pack_b), or for strided convs copied from the input's stride phases (space-to-depth.h; the
// same B, so the same result to the bit), which each thread splits for the output rows its columns cover,
// an image at a time, into its own workspace: no barrier between the split and the GEMM.
int conv_gemm_forward(const conv2d_params& p, const float* in, const float* panels, const float* bias, float* out,
                      thread_pool& pool) {
  const gemm_isa_kernel kern = gemm_kernel_current();
  const int in_per_group = p.in_channels / p.groups;
  const int64_t spatial = static_cast<int64_t>(p.out_height) * p.out_width;
  const int64_t plane = static_cast<int64_t>(p.in_height) * p.in_width, in_image = p.in_channels * plane;
  const int64_t columns = p.batch * spatial;
  const bool phases = s2d_gemm_applies(p);
  const int64_t phase_image = phases ? s2d_phase_image_length(p) : 0;
  std::vector<int64_t> offsets;
  if (phases) {
    offsets.resize(static_cast<size_t>(k_per_group(p)));
    s2d_b_offsets(p, offsets.data());
  }
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range((columns + kern.nr - 1) / kern.nr, ith, nth, &begin, &end);
    const int64_t n0 = begin * kern.nr, n1 = end * kern.nr < columns ? end * kern.nr : columns;
    if (n0 >= n1) return;
    thread_local aligned_buffer packed_b;
    const int64_t width = n1 - n0 < kern.nc ? n1 - n0 : kern.nc;
    float* pb = packed_b.reserve(static_cast<size_t>(kern.kc) * ((width + kern.nr - 1) / kern.nr * kern.nr));
    if (!phases) {
      for (int g = 0; g < p.groups; ++g) {
        const im2col_source src{&p, in + static_cast<int64_t>(g) * in_per_group * plane, in_image, plane, spatial};
        gemm_packed_params gp = conv_gemm_group(p, g, panels, bias, out);
        gp.pack_b = &im2col_pack_b;
        gp.b_ctx = &src;
        kern.packed_block(gp, n0, n1, pb);
      }
      return;
    }
    thread_local aligned_buffer phase_buffer;
    float* ph = phase_buffer.reserve(static_cast<size_t>(phase_image + S2D_WORKSPACE_SLACK));
    std::memset(ph + phase_image, 0, sizeof(float) * S2D_WORKSPACE_SLACK);
    const int extra_rows = s2d_phase_height(p) - p.out_height;
    for (int64_t c0 = n0; c0 < n1;) {
      const int64_t image = c0 / spatial, c1 = n1 < (image + 1) * spatial ? n1 : (image + 1) * spatial;
      const int y0 = static_cast<int>((c0 - image * spatial) / p.out_width);
      const int y1 = static_cast<int>((c1 - 1 - image * spatial) / p.out_width) + 1 + extra_rows;
      s2d_split_image(p, in + image * in_image, 0, p.in_channels, y0, y1, ph);
      for (int g = 0; g < p.groups; ++g) {
        const s2d_b_source src{&p, ph + g * (phase_image / p.groups), image, phase_image, offsets.data()};
        gemm_packed_params gp = conv_gemm_group(p, g, panels, bias, out);
        gp.pack_b = &s2d_pack_b;
        gp.b_ctx = &src;
        kern.packed_block(gp, c0, c1, pb);
      }
      c0 = c1;
    }
  });
  return KERNEL_OK;
}

}  // namespace

// the panels, then with `winograd` (at most one of them applies) the Winograd-domain weights of a 3x3 or
// 5x5 stride-1 conv, or those of a strided conv's space-to-depth rewrite
size_t conv_packed_length(const conv2d_params& p, bool winograd) {
  return static_cast<size_t>(panels_length(p)) + (winograd ? winograd_weight_length(p) + s2d_winograd_weight_length(p) : 0);
}

void conv_pack_cpu(const conv2d_params& p, const float* weight, float* packed, bool winograd, thread_pool& pool) {
  pack_panels(p, weight, packed, pool);
  if (winograd && winograd_weight_length(p) > 0) winograd_pack_weights(p, weight, packed + panels_length(p), pool);
  if (winograd && s2d_winograd_weight_length(p) > 0)
    s2d_winograd_pack_weights(p, weight, packed + panels_length(p), pool);
}

void conv_unpack_cpu(const conv2d_params& p, const float* packed, float* weight, thread_pool& pool) {
  const int out_per_group = p.out_channels / p.groups;
  const int64_t k = k_per_group(p), rows = panel_rows_per_group(p);
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(p.out_channels, ith, nth, &begin, &end);
    for (int64_t oc = begin; oc < end; ++oc) {
      const int64_t g = oc / out_per_group, row = oc % out_per_group;
      const float* src = packed + g * rows * k + (row / CONV_PANEL_ROWS) * CONV_PANEL_ROWS * k + row % CONV_PANEL_ROWS;
      for (int64_t q = 0; q < k; ++q) weight[oc * k + q] = src[q * CONV_PANEL_ROWS];
    }
  });
}

int conv2d_packed_forward_cpu(const conv2d_params& p, const float* in, const float* packed, bool winograd,
                              const float* bias, float* out, thread_pool& pool) {
  if (p.groups <= 0 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) return KERNEL_BAD_SHAPE;
  if (winograd && winograd_weight_length(p) > 0 && winograd_wanted(winograd_pays(p)))
    return winograd_forward(p, in, packed + panels_length(p), bias, out, pool);
  if (winograd && s2d_winograd_weight_length(p) > 0 && winograd_wanted(s2d_winograd_pays(p)))
    return s2d_winograd_forward(p, in, packed + panels_length(p), bias, out, pool);
  return conv_gemm_forward(p, in, packed, bias, out, pool);
}

// the direct panels (64-byte aligned), then the Winograd-domain bf16 weights where Winograd applies
static size_t bf16_direct_bytes(const conv2d_params& p) { return (conv_lowp_packed_bytes(lowp_type::bf16, p) + 63) / 64 * 64; }

// bf16 Winograd-domain bytes: of a 3x3 / 5x5 stride-1 conv, or of a strided conv's rewrite (at most one applies)
static size_t bf16_winograd_bytes(const conv2d_params& p) { return winograd_bf16_bytes(p) + s2d_winograd_bf16_bytes(p); }

size_t conv_bf16_packed_bytes(const conv2d_params& p, bool winograd) {
  const size_t extra = winograd ? bf16_winograd_bytes(p) : 0;
  return extra ? bf16_direct_bytes(p) + extra : conv_lowp_packed_bytes(lowp_type::bf16, p);
}

void conv_bf16_pack_cpu(const conv2d_params& p, const float* weight, void* packed, bool winograd, thread_pool& pool) {
  conv_lowp_pack_cpu(lowp_type::bf16, p, weight, packed, pool);
  if (winograd && winograd_bf16_bytes(p) > 0)
    winograd_bf16_pack(p, weight, static_cast<uint8_t*>(packed) + bf16_direct_bytes(p), pool);
  if (winograd && s2d_winograd_bf16_bytes(p) > 0)
    s2d_winograd_bf16_pack(p, weight, static_cast<uint8_t*>(packed) + bf16_direct_bytes(p), pool);
}

int conv2d_bf16_packed_forward_cpu(const conv2d_params& p, const float* in, const void* packed, bool winograd,
                                   const float* bias, float* out, thread_pool& pool) {
  if (p.groups <= 0 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) return KERNEL_BAD_SHAPE;
  const void* transformed = static_cast<const uint8_t*>(packed) + bf16_direct_bytes(p);
  if (winograd && winograd_bf16_bytes(p) > 0 && winograd_wanted(winograd_pays(p)))
    return winograd_bf16_forward(p, in, transformed, bias, out, pool);
  // the rewrite in bf16 (conv1) pays from batch 8: at batch 1 and 2 it took 1.05-1.4x the direct bf16 conv's
  // time, at 8 0.68-1.0x, at 32 0.70-0.86x (docs/performance.md, bf16 Winograd)
  constexpr int S2D_BF16_MIN_BATCH = 8;
  if (winograd && s2d_winograd_bf16_bytes(p) > 0 && winograd_wanted(s2d_winograd_pays(p) && p.batch >= S2D_BF16_MIN_BATCH))
    return s2d_winograd_bf16_forward(p, in, transformed, bias, out, pool);
  return conv2d_lowp_forward_cpu(p, in, lowp_type::bf16, packed, int8_act_quant{0, 0}, bias, out, nullptr, pool);
}

int conv2d_forward_cpu(const conv2d_params& p, const float* in, const float* weight, const float* bias,
                       float* out, thread_pool& pool) {
  if (p.groups <= 0 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) return KERNEL_BAD_SHAPE;
  // unpacked weights: pack the GEMM panels for this call (the weights are small next to the work)
  thread_local aligned_buffer panels;
  float* packed = panels.reserve(static_cast<size_t>(panels_length(p)));
  pack_panels(p, weight, packed, pool);
  return conv_gemm_forward(p, in, packed, bias, out, pool);
}

}  // namespace alexnet
