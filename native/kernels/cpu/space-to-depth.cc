// Space-to-depth: a stride-s convolution with kernel k reads, for kernel tap (ki, kj), the input at
// s*oh + ki, s*ow + kj: a contiguous run of the phase (ki % s, kj % s) plane at (oh + ki / s, ow + kj / s).
// Splitting the padded input into its s*s phases once per image (each element moved once) makes every
// row of the im2col B a contiguous copy, where it was a stride-s gather (conv1: 11x11 stride 4, 363 rows
// per 16 columns from a 3 x 227 x 227 image; the phases are 48 planes of 57 x 57). The same phases are a
// stride-1 convolution with kernel ceil(k/s) over s*s*C channels, with the weights regrouped the same way
// (zero where s*ky + ry >= k): for conv1 a 3x3 conv of 48 -> 96 channels that Winograd F(4,3) can run
// with 36 * 48 multiplies per 16 outputs and output channel instead of 363 * 16 (~3.4x fewer).
#include "kernels/cpu/space-to-depth.h"

#include <atomic>
#include <cstring>

#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/thread-pool.h"
#include "kernels/cpu/winograd.h"

namespace alexnet {
namespace {

// phase floats the workspace holds at a time: ~1 MiB, about one conv1 image (48 x 57 x 57)
constexpr int64_t S2D_CHUNK_FLOATS = 256 * 1024;

int phase_height(const conv2d_params& p) { return p.out_height + (p.kernel_h - 1) / p.stride_h; }
int phase_width(const conv2d_params& p) { return p.out_width + (p.kernel_w - 1) / p.stride_w; }

typedef float vec4 __attribute__((vector_size(16)));
typedef float vec4_unaligned __attribute__((vector_size(16), aligned(4)));
typedef int mask4 __attribute__((vector_size(16)));

// B rows of a full panel whose columns are at most two runs: run 0 from a[0, split), run 1 from
// b[split, NR) (b already moved back by split), as 4-float vectors of both blended by a lane mask (this
// file is built for the baseline ISA). The phases are readable S2D_WORKSPACE_SLACK floats past the last
// image, and b >= a.
template <int NR>
void copy_two_runs(const float* a, const float* b, int split, int kc, const int64_t* offsets, float* dst) {
  mask4 first[NR / 4];
  for (int v = 0; v < NR / 4; ++v)
    for (int l = 0; l < 4; ++l) first[v][l] = 4 * v + l < split ? -1 : 0;
  for (int q = 0; q < kc; ++q) {
    const float* sa = a + offsets[q];
    const float* sb = b + offsets[q];
    float* row = dst + static_cast<size_t>(q) * NR;
    for (int v = 0; v < NR / 4; ++v) {
      const vec4 x = *reinterpret_cast<const vec4_unaligned*>(sa + 4 * v);
      const vec4 y = *reinterpret_cast<const vec4_unaligned*>(sb + 4 * v);
      *reinterpret_cast<vec4_unaligned*>(row + 4 * v) = first[v] ? x : y;
    }
  }
}

}  // namespace

bool s2d_gemm_applies(const conv2d_params& p) {
  return (p.stride_h > 1 || p.stride_w > 1) && p.kernel_h >= p.stride_h && p.kernel_w >= p.stride_w;
}

int64_t s2d_phase_image_length(const conv2d_params& p) {
  return static_cast<int64_t>(p.in_channels) * p.stride_h * p.stride_w * phase_height(p) * phase_width(p);
}

void s2d_split_image(const conv2d_params& p, const float* image, int c0, int c1, int y0, int y1, float* dst) {
  const int sh = p.stride_h, sw = p.stride_w, width = phase_width(p);
  const int64_t in_plane = static_cast<int64_t>(p.in_height) * p.in_width;
  const int64_t phase_plane = static_cast<int64_t>(phase_height(p)) * width;
  for (int rx = 0; rx < sw; ++rx) {
    // columns x whose input column sw*x + rx - pad_left is inside the input
    const int first = rx - p.pad_left;
    int lo = first >= 0 ? 0 : (-first + sw - 1) / sw;
    int hi = first >= p.in_width ? 0 : (p.in_width - 1 - first) / sw + 1;
    if (lo > width) lo = width;
    if (hi > width) hi = width;
    if (hi < lo) hi = lo;
    for (int c = c0; c < c1; ++c)
      for (int ry = 0; ry < sh; ++ry)
        for (int y = y0; y < y1; ++y) {
          const int ih = sh * y + ry - p.pad_top;
          float* __restrict o = dst + ((static_cast<int64_t>(c) * sh + ry) * sw + rx) * phase_plane +
                                static_cast<int64_t>(y) * width;
          if (ih < 0 || ih >= p.in_height) {
            std::memset(o, 0, sizeof(float) * width);
            continue;
          }
          const float* __restrict row = image + c * in_plane + static_cast<int64_t>(ih) * p.in_width + first;
          for (int x = 0; x < lo; ++x) o[x] = 0.0f;
          // constant strides so the loop compiles to a fixed shuffle: 4 = AlexNet conv1, 2 = common
          if (sw == 4) {
            for (int x = lo; x < hi; ++x) o[x] = row[4 * x];
          } else if (sw == 2) {
            for (int x = lo; x < hi; ++x) o[x] = row[2 * x];
          } else {
            for (int x = lo; x < hi; ++x) o[x] = row[static_cast<int64_t>(sw) * x];
          }
          for (int x = hi; x < width; ++x) o[x] = 0.0f;
        }
  }
}

int s2d_phase_height(const conv2d_params& p) { return phase_height(p); }

void s2d_b_offsets(const conv2d_params& p, int64_t* offsets) {
  const int sh = p.stride_h, sw = p.stride_w, width = phase_width(p);
  const int64_t plane = static_cast<int64_t>(phase_height(p)) * width;
  int64_t k = 0;
  for (int c = 0; c < p.in_channels / p.groups; ++c)
    for (int ki = 0; ki < p.kernel_h; ++ki)
      for (int kj = 0; kj < p.kernel_w; ++kj)
        offsets[k++] = ((static_cast<int64_t>(c) * sh + ki % sh) * sw + kj % sw) * plane +
                       static_cast<int64_t>(ki / sh) * width + kj / sw;
}

void s2d_pack_b(const void* ctx, int k0, int kc, int64_t col0, int cols, int nr, float* dst) {
  const s2d_b_source& src = *static_cast<const s2d_b_source*>(ctx);
  const conv2d_params& p = *src.p;
  const int width = phase_width(p);
  const int64_t spatial = static_cast<int64_t>(p.out_height) * p.out_width;
  // a run per output row the panel touches (at most nr <= 64): where it starts in the phase planes
  int64_t run_base[64];
  int run_length[64], run_j0[64], run_count = 0;
  for (int j = 0; j < cols;) {
    const int64_t col = col0 + j, image = col / spatial, s = col % spatial;
    const int oh = static_cast<int>(s / p.out_width), ow = static_cast<int>(s % p.out_width);
    const int length = cols - j < p.out_width - ow ? cols - j : p.out_width - ow;
    run_base[run_count] = (image - src.first_image) * src.image_length + static_cast<int64_t>(oh) * width + ow;
    run_length[run_count] = length;
    run_j0[run_count++] = j;
    j += length;
  }
  const int64_t* offsets = src.offsets + k0;
  if (cols == nr && run_count <= 2) {  // conv1 (55 wide): every full panel
    const float* a = src.phases + run_base[0];
    const float* b = run_count == 2 ? src.phases + run_base[1] - run_length[0] : a;
    const int split = run_count == 2 ? run_length[0] : nr;
    if (nr == 16) return copy_two_runs<16>(a, b, split, kc, offsets, dst);
    if (nr == 8) return copy_two_runs<8>(a, b, split, kc, offsets, dst);
    if (nr == 32) return copy_two_runs<32>(a, b, split, kc, offsets, dst);
  }
  for (int q = 0; q < kc; ++q) {
    float* __restrict row = dst + static_cast<size_t>(q) * nr;
    for (int r = 0; r < run_count; ++r) {
      const float* __restrict s = src.phases + run_base[r] + offsets[q];
      float* __restrict o = row + run_j0[r];
      for (int j = 0; j < run_length[r]; ++j) o[j] = s[j];
    }
    for (int j = cols; j < nr; ++j) row[j] = 0.0f;
  }
}

conv2d_params s2d_rewrite(const conv2d_params& p) {
  conv2d_params q = p;
  q.in_channels = p.in_channels * p.stride_h * p.stride_w;
  q.kernel_h = (p.kernel_h + p.stride_h - 1) / p.stride_h;
  q.kernel_w = (p.kernel_w + p.stride_w - 1) / p.stride_w;
  q.in_height = phase_height(p);
  q.in_width = phase_width(p);
  q.stride_h = q.stride_w = 1;
  q.pad_top = q.pad_left = q.pad_bottom = q.pad_right = 0;
  return q;
}

size_t s2d_winograd_weight_length(const conv2d_params& p) {
  if (p.stride_h == 1 && p.stride_w == 1) return 0;
  return winograd_weight_length(s2d_rewrite(p));
}

// w' of the rewrite (s2d_winograd_pack_weights), out_channels x in_per_group * stride_h * stride_w * kq_h * kq_w
static void rewrite_weights(const conv2d_params& p, const float* weight, float* w) {
  const conv2d_params q = s2d_rewrite(p);
  const int in_per_group = p.in_channels / p.groups, sh = p.stride_h, sw = p.stride_w;
  const int64_t k = static_cast<int64_t>(in_per_group) * p.kernel_h * p.kernel_w;
  const int64_t k_rewritten = static_cast<int64_t>(in_per_group) * sh * sw * q.kernel_h * q.kernel_w;
  for (int64_t oc = 0; oc < p.out_channels; ++oc)
    for (int c = 0; c < in_per_group; ++c)
      for (int ry = 0; ry < sh; ++ry)
        for (int rx = 0; rx < sw; ++rx)
          for (int ky = 0; ky < q.kernel_h; ++ky)
            for (int kx = 0; kx < q.kernel_w; ++kx) {
              const int ki = sh * ky + ry, kj = sw * kx + rx;
              const int64_t phase = (static_cast<int64_t>(c) * sh + ry) * sw + rx;
              w[oc * k_rewritten + (phase * q.kernel_h + ky) * q.kernel_w + kx] =
                  ki < p.kernel_h && kj < p.kernel_w ? weight[oc * k + (c * p.kernel_h + ki) * p.kernel_w + kj] : 0.0f;
            }
}

static size_t rewritten_length(const conv2d_params& p) {
  const conv2d_params q = s2d_rewrite(p);
  return static_cast<size_t>(p.out_channels) * (p.in_channels / p.groups) * p.stride_h * p.stride_w * q.kernel_h * q.kernel_w;
}

void s2d_winograd_pack_weights(const conv2d_params& p, const float* weight, float* packed, thread_pool& pool) {
  aligned_buffer rewritten(rewritten_length(p));
  rewrite_weights(p, weight, rewritten.data());
  winograd_pack_weights(s2d_rewrite(p), rewritten.data(), packed, pool);
}

size_t s2d_winograd_bf16_bytes(const conv2d_params& p) {
  if (p.stride_h == 1 && p.stride_w == 1) return 0;
  return winograd_bf16_bytes(s2d_rewrite(p));
}

void s2d_winograd_bf16_pack(const conv2d_params& p, const float* weight, void* packed, thread_pool& pool) {
  aligned_buffer rewritten(rewritten_length(p));
  rewrite_weights(p, weight, rewritten.data());
  winograd_bf16_pack(s2d_rewrite(p), rewritten.data(), packed, pool);
}

// The rule of the stride-1 convs, applied to the rewrite (>= 16 channels per group each way). Measured on
// conv1 (48 phase channels -> 96 or 64): 1.5-1.9x faster than the GEMM over the phases at batch 1 and 32
// (docs/performance.md, round 4); fewer phase channels were not measured, and keep the GEMM.
bool s2d_winograd_pays(const conv2d_params& p) { return winograd_pays(s2d_rewrite(p)); }

// the phases of a chunk of images, then `winograd(chunk's rewrite, phases, out, runner)`: fp32 or bf16
template <class Winograd>
static int s2d_forward_with(const conv2d_params& p, const float* in, float* out, thread_pool& pool, Winograd winograd) {
  const conv2d_params q = s2d_rewrite(p);
  const int64_t image_length = s2d_phase_image_length(p);
  const int64_t in_image = static_cast<int64_t>(p.in_channels) * p.in_height * p.in_width;
  const int64_t out_image = static_cast<int64_t>(p.out_channels) * p.out_height * p.out_width;
  // a few images at a time, ~1 MiB of phases (about one conv1 image), so they are still in the caches
  // when Winograd's input transform reads them
  int64_t chunk = S2D_CHUNK_FLOATS / image_length;
  if (chunk < 1) chunk = 1;
  // images [n0, n1): the phases of a chunk (split over runner's threads), then Winograd on runner
  const auto run_images = [&](int64_t n0, int64_t n1, thread_pool& runner) {
    thread_local aligned_buffer workspace;
    const int64_t most = n1 - n0 < chunk ? n1 - n0 : chunk;
    float* phases = workspace.reserve(static_cast<size_t>(most * image_length));
    for (int64_t i0 = n0; i0 < n1; i0 += most) {
      const int64_t count = i0 + most <= n1 ? most : n1 - i0;
      runner.run([&](int ith, int nth) {
        int64_t begin, end;
        split_range(count * p.in_channels, ith, nth, &begin, &end);
        for (int64_t job = begin; job < end; ++job) {
          const int64_t image = job / p.in_channels;
          const int c = static_cast<int>(job % p.in_channels);
          s2d_split_image(p, in + (i0 + image) * in_image, c, c + 1, 0, q.in_height, phases + image * image_length);
        }
      });
      conv2d_params chunk_q = q;
      chunk_q.batch = static_cast<int>(count);
      const int status = winograd(chunk_q, phases, out + i0 * out_image, runner);
      if (status != KERNEL_OK) return status;
    }
    return static_cast<int>(KERNEL_OK);
  };
  // Winograd runs three pool jobs per ~128 tiles (one conv1 image), and a thread the OS takes away
  // stalls every one of them: with whole images per thread instead (each on a pool of its own, so
  // no barrier), only the images left over after an even split share the threads.
  const int threads = pool.size();
  const int64_t own = threads > 1 ? p.batch / threads * threads : 0;
  std::atomic<int> status{KERNEL_OK};
  if (own > 0) {
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(own, ith, nth, &begin, &end);
      thread_local thread_pool solo(1);
      const int mine = run_images(begin, end, solo);
      if (mine != KERNEL_OK) status.store(mine);
    });
  }
  if (status.load() == KERNEL_OK && own < p.batch) return run_images(own, p.batch, pool);
  return status.load();
}

int s2d_winograd_forward(const conv2d_params& p, const float* in, const float* packed, const float* bias, float* out,
                         thread_pool& pool) {
  return s2d_forward_with(p, in, out, pool, [&](const conv2d_params& q, const float* phases, float* o, thread_pool& runner) {
    return winograd_forward(q, phases, packed, bias, o, runner);
  });
}

int s2d_winograd_bf16_forward(const conv2d_params& p, const float* in, const void* packed, const float* bias, float* out,
                              thread_pool& pool) {
  return s2d_forward_with(p, in, out, pool, [&](const conv2d_params& q, const float* phases, float* o, thread_pool& runner) {
    return winograd_bf16_forward(q, phases, packed, bias, o, runner);
  });
}

}  // namespace alexnet
