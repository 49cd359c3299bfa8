// conv2d as im2col + GEMM per image and group: out_g[oc, oh*ow] = W_g[oc, ic*kh*kw] x col_g + bias.
// A 1x1 stride-1 unpadded convolution multiplies the input directly.
#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"

namespace alexnet {
namespace {

// col[(c*kh + ki)*kw + kj][oh*out_w + ow] = in[c][oh*stride_h - pad_top + ki][ow*stride_w - pad_left + kj], 0 outside
void im2col_rows(const conv2d_params& p, const float* in, float* col, int64_t row_begin, int64_t row_end) {
  const int64_t spatial = static_cast<int64_t>(p.out_height) * p.out_width;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int kj = static_cast<int>(row % p.kernel_w);
    const int ki = static_cast<int>((row / p.kernel_w) % p.kernel_h);
    const int64_t c = row / (static_cast<int64_t>(p.kernel_w) * p.kernel_h);
    const float* plane = in + c * p.in_height * p.in_width;
    float* dst = col + row * spatial;
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
  aligned_buffer col;
  if (!direct) col.reserve(static_cast<size_t>(k_per_group * p.groups * spatial));

  for (int n = 0; n < p.batch; ++n) {
    const float* image = in + n * in_image;
    const float* b_matrix = image;
    if (!direct) {
      const int64_t rows = k_per_group * p.groups;
      pool.run([&](int ith, int nth) {
        int64_t begin, end;
        split_range(rows, ith, nth, &begin, &end);
        im2col_rows(p, image, col.data(), begin, end);
      });
      b_matrix = col.data();
    }
    for (int g = 0; g < p.groups; ++g) {
      gemm_params gp;
      gp.m = out_per_group;
      gp.n = static_cast<int>(spatial);
      gp.k = static_cast<int>(k_per_group);
      gp.a = weight + static_cast<int64_t>(g) * out_per_group * k_per_group;
      gp.lda = static_cast<int>(k_per_group);
      gp.b = b_matrix + static_cast<int64_t>(g) * k_per_group * spatial;
      gp.ldb = static_cast<int>(spatial);
      gp.c = out + n * out_image + static_cast<int64_t>(g) * out_per_group * spatial;
      gp.ldc = static_cast<int>(spatial);
      if (bias) {
        gp.bias = bias + static_cast<int64_t>(g) * out_per_group;
        gp.bias_kind = gemm_bias::per_row;
      }
      gp.relu = p.relu;
      const int status = gemm_cpu(gp, pool);
      if (status != KERNEL_OK) return status;
    }
  }
  return KERNEL_OK;
}

}  // namespace alexnet
