// conv2d as an implicit GEMM per group: C[oc, n] = W[oc, k] x im2col[k, n] with
// k = (ic, ki, kj) over one group's input channels and n = (image, oh, ow) over the whole batch.
// The im2col matrix is never stored: B(k, n) reads the input pixel (zero in the padding).
#include <cstring>

#include "kernels/cuda/gemm-tile.cuh"

namespace alexnet {
namespace {

struct conv2d_problem {
  int m, n, k;  // out channels per group, batch * out_h * out_w, in channels per group * kh * kw
  static constexpr bool b_k_fastest = false;
  const float* in;
  const float* weight;
  const float* bias;
  float* out;
  int in_channels, in_height, in_width, out_channels;
  int in_per_group, kernel_h, kernel_w, kernel_area;
  int stride_h, stride_w, pad_top, pad_left;
  int out_width, out_area;
  bool relu;

  __device__ float a(int g, int m, int k) const { return weight[(static_cast<size_t>(g) * this->m + m) * this->k + k]; }

  __device__ float b(int g, int k, int n) const {
    const int ic = g * in_per_group + k / kernel_area;
    const int r = k % kernel_area;
    const int image = n / out_area, pixel = n % out_area;
    const int ih = (pixel / out_width) * stride_h - pad_top + r / kernel_w;
    const int iw = (pixel % out_width) * stride_w - pad_left + r % kernel_w;
    if (ih < 0 || ih >= in_height || iw < 0 || iw >= in_width) return 0.0f;
    return in[((static_cast<size_t>(image) * in_channels + ic) * in_height + ih) * in_width + iw];
  }

  __device__ void store(int g, int m, int n, float acc) const {
    const int oc = g * this->m + m;
    if (bias) acc += bias[oc];
    if (relu) acc = fmaxf(acc, 0.0f);
    const int image = n / out_area, pixel = n % out_area;
    out[(static_cast<size_t>(image) * out_channels + oc) * out_area + pixel] = acc;
  }
};

}  // namespace

const char* cuda_precision_name(cuda_precision precision) {
  switch (precision) {
    case cuda_precision::tf32: return "tf32";
    case cuda_precision::bf16: return "bf16";
    default: return "fp32";
  }
}

bool cuda_precision_parse(const char* name, cuda_precision* precision) {
  for (cuda_precision p : {cuda_precision::fp32, cuda_precision::tf32, cuda_precision::bf16})
    if (std::strcmp(name, cuda_precision_name(p)) == 0) {
      *precision = p;
      return true;
    }
  return false;
}

cudaError_t conv2d_forward_cuda(const conv2d_params& p, const float* in, const float* weight, const float* bias,
                                float* out, cuda_precision precision, cudaStream_t stream) {
  conv2d_problem prob{};
  prob.in_per_group = p.in_channels / p.groups;
  prob.m = p.out_channels / p.groups;
  prob.n = p.batch * p.out_height * p.out_width;
  prob.k = prob.in_per_group * p.kernel_h * p.kernel_w;
  prob.in = in;
  prob.weight = weight;
  prob.bias = bias;
  prob.out = out;
  prob.in_channels = p.in_channels;
  prob.in_height = p.in_height;
  prob.in_width = p.in_width;
  prob.out_channels = p.out_channels;
  prob.kernel_h = p.kernel_h;
  prob.kernel_w = p.kernel_w;
  prob.kernel_area = p.kernel_h * p.kernel_w;
  prob.stride_h = p.stride_h;
  prob.stride_w = p.stride_w;
  prob.pad_top = p.pad_top;
  prob.pad_left = p.pad_left;
  prob.out_width = p.out_width;
  prob.out_area = p.out_height * p.out_width;
  prob.relu = p.relu;
  return cuda_gemm::gemm_launch(prob, p.groups, precision, stream);
}

}  // namespace alexnet
