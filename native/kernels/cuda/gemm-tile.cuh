// The one GEMM body behind conv2d (implicit GEMM: the im2col matrix is never stored) and linear:
//   C[m, n] = sum_k A(m, k) * B(k, n), per group g (blockIdx.z),
// where a Problem says how to read A and B and where C goes (with bias and ReLU fused in):
//   int m, n, k;                       sizes of one group's GEMM
//   static constexpr bool b_k_fastest; true when B(k, n) is contiguous along k (linear weights)
//   float a(int g, int m, int k) const;  float b(int g, int k, int n) const;
//   void store(int g, int m, int n, float acc) const;
// Two bodies: exact fp32 FMA on CUDA cores (4x4 outputs per thread), and tensor cores through wmma
// with TF32 or BF16 operands and fp32 accumulation. Both use 64x64 output tiles, 16-deep k slices,
// 256 threads; out-of-range elements are loaded as 0, so any m, n, k works.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <algorithm>

#include "kernels/cuda/cuda-kernels.h"

namespace alexnet {
namespace cuda_gemm {

constexpr int TILE_M = 64, TILE_N = 64, TILE_K = 16, THREADS = 256;
// grid limits: blockIdx.y and blockIdx.z are at most 65535; larger counts loop inside the kernel
constexpr int MAX_GRID_YZ = 65535;

// Loads the k0 slice of A (as As[k][m]) and B (as Bs[k][n]) of the tile at (m0, n0), converting
// each value with `convert` (identity, TF32 rounding or BF16).
template <class Problem, class AStore, class BStore>
__device__ __forceinline__ void load_tiles(const Problem& prob, int g, int m0, int n0, int k0, AStore a_store,
                                           BStore b_store) {
  for (int i = threadIdx.x; i < TILE_M * TILE_K; i += THREADS) {
    // k fastest: A rows (weights OIHW, linear inputs) are contiguous along k
    const int mm = i / TILE_K, kk = i % TILE_K;
    const int m = m0 + mm, k = k0 + kk;
    a_store(mm, kk, (m < prob.m && k < prob.k) ? prob.a(g, m, k) : 0.0f);
  }
  for (int i = threadIdx.x; i < TILE_K * TILE_N; i += THREADS) {
    int kk, nn;
    if constexpr (Problem::b_k_fastest) {
      kk = i % TILE_K;
      nn = i / TILE_K;
    } else {
      nn = i % TILE_N;
      kk = i / TILE_N;
    }
    const int n = n0 + nn, k = k0 + kk;
    b_store(kk, nn, (n < prob.n && k < prob.k) ? prob.b(g, k, n) : 0.0f);
  }
}

template <class Problem>
__global__ void __launch_bounds__(THREADS) gemm_fp32_kernel(Problem prob, int groups, int tiles_m) {
  __shared__ __align__(16) float as[TILE_K][TILE_M + 4];
  __shared__ __align__(16) float bs[TILE_K][TILE_N + 4];
  const int n0 = blockIdx.x * TILE_N;
  // each thread owns a 4x4 block of the tile: rows tm..tm+3, columns tn..tn+3
  const int tm = (threadIdx.x / 16) * 4, tn = (threadIdx.x % 16) * 4;
  for (int g = blockIdx.z; g < groups; g += gridDim.z) {
    for (int tile_m = blockIdx.y; tile_m < tiles_m; tile_m += gridDim.y) {
      const int m0 = tile_m * TILE_M;
      float acc[4][4] = {};
      for (int k0 = 0; k0 < prob.k; k0 += TILE_K) {
        load_tiles(prob, g, m0, n0, k0, [&](int mm, int kk, float v) { as[kk][mm] = v; },
                   [&](int kk, int nn, float v) { bs[kk][nn] = v; });
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TILE_K; ++kk) {
          const float4 a4 = *reinterpret_cast<const float4*>(&as[kk][tm]);
          const float4 b4 = *reinterpret_cast<const float4*>(&bs[kk][tn]);
          const float av[4] = {a4.x, a4.y, a4.z, a4.w}, bv[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
          for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int m = m0 + tm + i, n = n0 + tn + j;
          if (m < prob.m && n < prob.n) prob.store(g, m, n, acc[i][j]);
        }
    }
  }
}

// Tensor-core body. Element: float (operands rounded to TF32, wmma k = 8) or __nv_bfloat16 (k = 16).
// 8 warps; warp w computes rows (w / 2) * 16 .. +16 and columns (w % 2) * 32 .. +32 of the tile.
// Row strides (TILE_K + 8, TILE_N + 8, TILE_N + 4) keep every fragment pointer 32-byte aligned, as
// wmma::load_matrix_sync / store_matrix_sync require.
template <class Element>
struct wmma_traits;

template <>
struct wmma_traits<float> {
  static constexpr int K = 8;
  using operand = nvcuda::wmma::precision::tf32;
  __device__ static float convert(float v) { return nvcuda::wmma::__float_to_tf32(v); }
};

template <>
struct wmma_traits<__nv_bfloat16> {
  static constexpr int K = 16;
  using operand = __nv_bfloat16;
  __device__ static __nv_bfloat16 convert(float v) { return __float2bfloat16_rn(v); }
};

template <class Problem, class Element>
__global__ void __launch_bounds__(THREADS) gemm_wmma_kernel(Problem prob, int groups, int tiles_m) {
  namespace wmma = nvcuda::wmma;
  using traits = wmma_traits<Element>;
  constexpr int LDA = TILE_K + 8, LDB = TILE_N + 8, LDC = TILE_N + 4;
  __shared__ __align__(32) Element as[TILE_M][LDA];
  __shared__ __align__(32) Element bs[TILE_K][LDB];
  __shared__ __align__(32) float cs[TILE_M][LDC];
  const int warp = threadIdx.x / 32;
  const int wm = (warp / 2) * 16, wn = (warp % 2) * 32;
  const int n0 = blockIdx.x * TILE_N;
  for (int g = blockIdx.z; g < groups; g += gridDim.z) {
    for (int tile_m = blockIdx.y; tile_m < tiles_m; tile_m += gridDim.y) {
      const int m0 = tile_m * TILE_M;
      wmma::fragment<wmma::accumulator, 16, 16, traits::K, float> acc[2];
      wmma::fill_fragment(acc[0], 0.0f);
      wmma::fill_fragment(acc[1], 0.0f);
      for (int k0 = 0; k0 < prob.k; k0 += TILE_K) {
        load_tiles(prob, g, m0, n0, k0, [&](int mm, int kk, float v) { as[mm][kk] = traits::convert(v); },
                   [&](int kk, int nn, float v) { bs[kk][nn] = traits::convert(v); });
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TILE_K; kk += traits::K) {
          wmma::fragment<wmma::matrix_a, 16, 16, traits::K, typename traits::operand, wmma::row_major> a;
          wmma::load_matrix_sync(a, &as[wm][kk], LDA);
#pragma unroll
          for (int f = 0; f < 2; ++f) {
            wmma::fragment<wmma::matrix_b, 16, 16, traits::K, typename traits::operand, wmma::row_major> b;
            wmma::load_matrix_sync(b, &bs[kk][wn + f * 16], LDB);
            wmma::mma_sync(acc[f], a, b, acc[f]);
          }
        }
        __syncthreads();
      }
      wmma::store_matrix_sync(&cs[wm][wn], acc[0], LDC, wmma::mem_row_major);
      wmma::store_matrix_sync(&cs[wm][wn + 16], acc[1], LDC, wmma::mem_row_major);
      __syncthreads();
      for (int i = threadIdx.x; i < TILE_M * TILE_N; i += THREADS) {
        const int mm = i / TILE_N, nn = i % TILE_N;
        const int m = m0 + mm, n = n0 + nn;
        if (m < prob.m && n < prob.n) prob.store(g, m, n, cs[mm][nn]);
      }
      __syncthreads();  // cs is rewritten by the next tile
    }
  }
}

// Launches the body for `precision` on `stream`; returns the launch status.
template <class Problem>
cudaError_t gemm_launch(const Problem& prob, int groups, cuda_precision precision, cudaStream_t stream) {
  if (prob.m <= 0 || prob.n <= 0 || groups <= 0) return cudaSuccess;
  const int tiles_m = (prob.m + TILE_M - 1) / TILE_M;
  const dim3 grid((prob.n + TILE_N - 1) / TILE_N, std::min(tiles_m, MAX_GRID_YZ), std::min(groups, MAX_GRID_YZ));
  switch (precision) {
    case cuda_precision::tf32:
      gemm_wmma_kernel<Problem, float><<<grid, THREADS, 0, stream>>>(prob, groups, tiles_m);
      break;
    case cuda_precision::bf16:
      gemm_wmma_kernel<Problem, __nv_bfloat16><<<grid, THREADS, 0, stream>>>(prob, groups, tiles_m);
      break;
    default:
      gemm_fp32_kernel<Problem><<<grid, THREADS, 0, stream>>>(prob, groups, tiles_m);
      break;
  }
  return cudaGetLastError();
}

}  // namespace cuda_gemm
}  // namespace alexnet
