// linear: out[rows, out_features] = in[rows, in_features] x weight[out_features, in_features]^T
// (+ bias, ReLU fused), the GEMM of gemm-tile.cuh with A = input rows and B(k, n) = weight[n, k].
#include "kernels/cuda/gemm-tile.cuh"

namespace alexnet {
namespace {

struct linear_problem {
  int m, n, k;  // rows, out_features, in_features
  static constexpr bool b_k_fastest = true;
  const float* in;
  const float* weight;
  const float* bias;
  float* out;
  bool relu;

  __device__ float a(int, int m, int k) const { return in[static_cast<size_t>(m) * this->k + k]; }
  __device__ float b(int, int k, int n) const { return weight[static_cast<size_t>(n) * this->k + k]; }
  __device__ void store(int, int m, int n, float acc) const {
    if (bias) acc += bias[n];
    if (relu) acc = fmaxf(acc, 0.0f);
    out[static_cast<size_t>(m) * this->n + n] = acc;
  }
};

}  // namespace

cudaError_t linear_forward_cuda(const linear_params& p, const float* in, const float* weight, const float* bias,
                                float* out, cuda_precision precision, cudaStream_t stream) {
  const linear_problem prob{p.rows, p.out_features, p.in_features, in, weight, bias, out, p.relu};
  return cuda_gemm::gemm_launch(prob, 1, precision, stream);
}

}  // namespace alexnet
