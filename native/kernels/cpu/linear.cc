// linear (fully connected): out[rows, out] = in[rows, in] x weight[out, in]^T + bias, one GEMM.
#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"

namespace alexnet {

int linear_forward_cpu(const linear_params& p, const float* in, const float* weight, const float* bias,
                       float* out, thread_pool& pool) {
  gemm_params gp;
  gp.m = p.rows;
  gp.n = p.out_features;
  gp.k = p.in_features;
  gp.a = in;
  gp.lda = p.in_features;
  gp.b = weight;  // [out, in] = B^T
  gp.ldb = p.in_features;
  gp.trans_b = true;
  gp.c = out;
  gp.ldc = p.out_features;
  if (bias) {
    gp.bias = bias;
    gp.bias_kind = gemm_bias::per_col;
  }
  gp.relu = p.relu;
  return gemm_cpu(gp, pool);
}

}  // namespace alexnet
