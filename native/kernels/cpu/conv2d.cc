// conv2d as im2col + GEMM per chunk of images and group: out_g[oc, oh*ow] = W_g[oc, ic*kh*kw] x col_g + bias.
// Small feature maps (13x13 in conv3-5) put several images side by side in one GEMM (n = images * oh*ow),
// so the weights are packed once per chunk instead of once per image and the threads split wider
// blocks; the result is then scattered back to NCHW. A 1x1 stride-1 unpadded convolution multiplies the
// input directly.
#include <cstring>

#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"

namespace alexnet {
namespace {

// col[(c*kh + ki)*kw + kj][oh*out_w + ow] = in[c][oh*stride_h - pad_top + ki][ow*stride_w - pad_left + kj], 0 outside
// GEMM columns worth batching images for: below this, packing the weights and syncing threads per
// image costs a noticeable share (measured with bench/run.ts on the seed conv3-5)
constexpr int64_t CONV_TARGET_COLUMNS = 1024;

// rows of col have leading dimension ld (>= out_height * out_width)
void im2col_rows(const conv2d_params& p, const float* in, float* col, int64_t ld, int64_t row_begin, int64_t row_end) {
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int kj = static_cast<int>(row % p.kernel_w);
    const int ki = static_cast<int>((row / p.kernel_w) % p.kernel_h);
    const int64_t c = row / (static_cast<int64_t>(p.kernel_w) * p.kernel_h);
    const float* plane = in + c * p.in_height * p.in_width;
    float* dst = col + row * ld;
    for (int oh = 0; oh < p.out_height; ++oh) {
      const int ih = oh * p.stride_h - p.pad_top + ki;
      float* dst_row = dst + static_cast<int64_t>(oh) * p.out_width;
      if (ih < 0 || ih >= p.in_height) {
        for (int ow = 0; ow < p.out_width; ++ow) dst_row[ow] = 0.0f;
        continue;
      }
      const float* src_row = plane + static_cast<int64_t>(ih) * p.in_width;
      const int iw0 = kj - p.pad_left;
      if (p.stride_w == 1) {
        for (int ow = 0; ow < p.out_width; ++ow) {
          const int iw = iw0 + ow;
          dst_row[ow] = (iw >= 0 && iw < p.in_width) ? src_row[iw] : 0.0f;
        }
      } else {
        for (int ow = 0; ow < p.out_width; ++ow) {
          const int iw = iw0 + ow * p.stride_w;
          dst_row[ow] = (iw >= 0 && iw < p.in_width) ? src_row[iw] : 0.0f;
        }
      }
    }
  }
}

}  // namespace

int conv2d_forward_cpu(const conv2d_params& p, const float* in, const float* weight, const float* bias,
                       float* out, thread_pool& pool) {
  if (p.groups <= 0 || p.in_channels % p.groups != 0 || p.out_channels % p.groups != 0) return KERNEL_BAD_SHAPE;
  const int in_per_group = p.in_channels / p.groups, out_per_group = p.out_channels / p.groups;
  const int64_t spatial = static_cast<int64_t>(p.out_height) * p.out_width;
  const int64_t k_per_group = static_cast<int64_t>(in_per_group) * p.kernel_h * p.kernel_w;
  const int64_t in_image = static_cast<int64_t>(p.in_channels) * p.in_height * p.in_width;
  const int64_t out_image = static_cast<int64_t>(p.out_channels) * spatial;
  const bool direct = p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_top == 0 &&
                      p.pad_left == 0 && p.pad_bottom == 0 && p.pad_right == 0 && p.out_height == p.in_height &&
                      p.out_width == p.in_width;
  // chunk images side by side when their feature maps are small
  int64_t chunk = direct ? 1 : (CONV_TARGET_COLUMNS + spatial - 1) / spatial;
  if (chunk > p.batch) chunk = p.batch;
  const int64_t rows = k_per_group * p.groups;
  // workspaces kept per calling thread (kernels run on libuv's few worker threads): no page faults per call
  thread_local aligned_buffer col, chunk_out;
  if (!direct) col.reserve(static_cast<size_t>(rows * chunk * spatial));
  if (chunk > 1) chunk_out.reserve(static_cast<size_t>(p.out_channels * chunk * spatial));
  // the pool's threads must see the caller's buffers, not their own thread_local ones
  float* const col_data = col.data();
  float* const chunk_data = chunk_out.data();

  for (int64_t n0 = 0; n0 < p.batch; n0 += chunk) {
    const int64_t count = n0 + chunk <= p.batch ? chunk : p.batch - n0;
    const int64_t ld = count * spatial;
    const float* b_matrix = in + n0 * in_image;
    if (!direct) {
      pool.run([&](int ith, int nth) {
        int64_t begin, end;
        split_range(rows * count, ith, nth, &begin, &end);
        // ranges of (image, row) pairs, image-major
        for (int64_t i = begin / rows; i < count && i * rows < end; ++i) {
          const int64_t r0 = begin > i * rows ? begin - i * rows : 0;
          const int64_t r1 = end < (i + 1) * rows ? end - i * rows : rows;
          im2col_rows(p, in + (n0 + i) * in_image, col_data + i * spatial, ld, r0, r1);
        }
      });
      b_matrix = col_data;
    }
    float* c_matrix = chunk > 1 ? chunk_data : out + n0 * out_image;
    for (int g = 0; g < p.groups; ++g) {
      gemm_params gp;
      gp.m = out_per_group;
      gp.n = static_cast<int>(ld);
      gp.k = static_cast<int>(k_per_group);
      gp.a = weight + static_cast<int64_t>(g) * out_per_group * k_per_group;
      gp.lda = static_cast<int>(k_per_group);
      gp.b = b_matrix + static_cast<int64_t>(g) * k_per_group * ld;
      gp.ldb = static_cast<int>(ld);
      gp.c = c_matrix + static_cast<int64_t>(g) * out_per_group * ld;
      gp.ldc = static_cast<int>(ld);
      if (bias) {
        gp.bias = bias + static_cast<int64_t>(g) * out_per_group;
        gp.bias_kind = gemm_bias::per_row;
      }
      gp.relu = p.relu;
      const int status = gemm_cpu(gp, pool);
      if (status != KERNEL_OK) return status;
    }
    if (chunk > 1) {
      // [oc][image * spatial] -> [image][oc][spatial]
      pool.run([&](int ith, int nth) {
        int64_t begin, end;
        split_range(count * p.out_channels, ith, nth, &begin, &end);
        for (int64_t row = begin; row < end; ++row) {
          const int64_t i = row / p.out_channels, oc = row % p.out_channels;
          std::memcpy(out + (n0 + i) * out_image + oc * spatial, chunk_data + oc * ld + i * spatial,
                      static_cast<size_t>(spatial) * sizeof(float));
        }
      });
    }
  }
  return KERNEL_OK;
}

}  // namespace alexnet
