// Plain C++ kernel API. napi.h is never included below this line: the napi/ layer checks every
// argument and hands these functions plain pointers and dims that are already known to be valid.
//
// All tensors are fp32, NCHW, densely packed. Every *_forward_cpu function returns a status
// (KERNEL_OK or a kernel_status) and splits its work over the thread pool it is given; the pieces
// that run on each thread take (ith, nth) and pick their own share of the work.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alexnet {

class thread_pool;

enum kernel_status : int {
  KERNEL_OK = 0,
  KERNEL_BAD_SHAPE = 1,  // dims that the napi layer should have rejected
};

// ---------------------------------------------------------------------------------------------
// Instruction sets. The GEMM (and so conv2d and linear) is compiled once per ISA; the one in use is
// the best the CPU supports, or the one forced by ALEXNET_CLI_ISA / cpu_set_isa(). The -vnni sets add
// the dot-product instructions of the reduced-precision kernels (lowp.cc): avx2-vnni = AVX2 + AVX-VNNI
// (vpdpbusd on ymm), avx512-vnni = AVX-512 + AVX512_VNNI (vpdpbusd on zmm, and vdpbf16ps where the CPU
// also has AVX512_BF16). Their fp32 kernels are those of avx2 / avx512 (cpu_isa_base).
enum class cpu_isa : int { portable = 0, avx2 = 1, avx512 = 2, avx2_vnni = 3, avx512_vnni = 4 };
// every kernel set, best first
constexpr cpu_isa CPU_ISAS_BEST_FIRST[] = {cpu_isa::avx512_vnni, cpu_isa::avx512, cpu_isa::avx2_vnni, cpu_isa::avx2,
                                           cpu_isa::portable};
// the fp32 kernel set of an ISA (avx512-vnni -> avx512, avx2-vnni -> avx2)
inline cpu_isa cpu_isa_base(cpu_isa isa) {
  return isa == cpu_isa::avx512_vnni ? cpu_isa::avx512 : isa == cpu_isa::avx2_vnni ? cpu_isa::avx2 : isa;
}

struct cpu_feature_report {
  bool avx2 = false;     // cpuid leaf 7 EBX bit 5
  bool fma = false;      // cpuid leaf 1 ECX bit 12
  bool avx512f = false;  // cpuid leaf 7 EBX bit 16
  bool os_avx = false;   // XCR0 saves YMM state
  bool os_avx512 = false;  // XCR0 saves ZMM/opmask state
  bool avx512_vnni = false;  // cpuid leaf 7 ECX bit 11
  bool avx512_bf16 = false;  // cpuid leaf 7 subleaf 1 EAX bit 5
  bool avx_vnni = false;     // cpuid leaf 7 subleaf 1 EAX bit 4
};

const cpu_feature_report& cpu_features();
const char* cpu_isa_name(cpu_isa isa);
// false for names other than "avx512-vnni", "avx512", "avx2-vnni", "avx2", "portable"
bool cpu_isa_parse(const char* name, cpu_isa* isa);
bool cpu_isa_compiled(cpu_isa isa);
// compiled in, and the CPU and OS can run it
bool cpu_isa_supported(cpu_isa isa);
cpu_isa cpu_isa_best();
cpu_isa cpu_isa_current();
// returns false (and changes nothing) when the ISA is not supported
bool cpu_set_isa(cpu_isa isa);

// ---------------------------------------------------------------------------------------------
// GEMM: C[m,n] = op(A)[m,k] * op(B)[k,n] (+ bias) (ReLU), row-major with leading dimensions.
// op(A) = A (m x k, lda) or A^T when trans_a (A stored k x m); same for B (trans_b: B stored n x k).
enum class gemm_bias : int { none = 0, per_row = 1, per_col = 2 };

struct gemm_params {
  int m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int lda = 0;
  bool trans_a = false;
  const float* b = nullptr;
  int ldb = 0;
  bool trans_b = false;
  float* c = nullptr;
  int ldc = 0;
  const float* bias = nullptr;  // m values (per_row) or n values (per_col)
  gemm_bias bias_kind = gemm_bias::none;
  bool relu = false;
  // A later step adds pre-packed operands here (weights packed once at load, per ISA panel
  // layout), so conv2d/linear can skip packing the constant operand on every call.
};

int gemm_cpu(const gemm_params& p, thread_pool& pool);

// ---------------------------------------------------------------------------------------------
// conv2d: weight OIHW [out_channels, in_channels/groups, kernel_h, kernel_w], bias [out_channels]
// or null; output [batch, out_channels, out_height, out_width]. Pads may be asymmetric.
struct conv2d_params {
  int batch, in_channels, in_height, in_width;
  int out_channels, kernel_h, kernel_w, stride_h, stride_w;
  int pad_top, pad_left, pad_bottom, pad_right;
  int groups, out_height, out_width;
  bool relu;
};

int conv2d_forward_cpu(const conv2d_params& p, const float* in, const float* weight, const float* bias,
                       float* out, thread_pool& pool);

// Packed conv weights (packConv, once at load), the same for every ISA: per group, the OIHW rows in
// panels of CONV_PANEL_ROWS output channels, each k-major over in_channels/groups * kernel_h * kernel_w
// (rows past out_channels/groups are 0); with `winograd`, followed by the Winograd-domain weights where
// Winograd applies: 3x3 and 5x5 stride-1 convs, and strided convs whose space-to-depth rewrite is one
// (conv1: 11x11/4 -> 3x3 over 48 phase channels). F(4,3): 4x, F(4,5): 2.56x the plain size.
// Only out/in channels, kernel, stride and groups of p matter.
constexpr int CONV_PANEL_ROWS = 6;
size_t conv_packed_length(const conv2d_params& p, bool winograd);
void conv_pack_cpu(const conv2d_params& p, const float* weight, float* packed, bool winograd, thread_pool& pool);
// the OIHW weights back (exact)
void conv_unpack_cpu(const conv2d_params& p, const float* packed, float* weight, thread_pool& pool);
// conv2d with packed weights: same result as conv2d_forward_cpu (up to rounding when Winograd runs);
// `winograd`: whether conv_pack_cpu packed the Winograd-domain weights (else the GEMM path runs)
int conv2d_packed_forward_cpu(const conv2d_params& p, const float* in, const float* packed, bool winograd,
                              const float* bias, float* out, thread_pool& pool);

// ---------------------------------------------------------------------------------------------
// pool2d: windows are clipped to the input; a window with no input element yields 0.
// avg with count_include_pad divides by the window clipped to the padded input (torch/ONNX),
// otherwise by the number of input elements in the window.
struct pool2d_params {
  int batch, channels, in_height, in_width;
  int kernel_h, kernel_w, stride_h, stride_w;
  int pad_top, pad_left, pad_bottom, pad_right;
  int out_height, out_width;
};

int max_pool2d_forward_cpu(const pool2d_params& p, const float* in, float* out, thread_pool& pool);
int avg_pool2d_forward_cpu(const pool2d_params& p, bool count_include_pad, const float* in, float* out,
                           thread_pool& pool);

// ---------------------------------------------------------------------------------------------
// LRN across channels (ONNX LRN, Caffe ACROSS_CHANNELS): the window of channel c is
// c - floor((size-1)/2) .. c + ceil((size-1)/2) clipped to the channels;
// y = x / (k + alpha/size * sum x^2)^beta.
struct lrn_params {
  int batch, channels, height, width, size;
  float alpha, beta, k;
};

int lrn_forward_cpu(const lrn_params& p, const float* in, float* out, thread_pool& pool);

// ---------------------------------------------------------------------------------------------
// linear: out[rows, out_features] = in[rows, in_features] x weight[out_features, in_features]^T + bias
struct linear_params {
  int rows, in_features, out_features;
  bool relu;
};

int linear_forward_cpu(const linear_params& p, const float* in, const float* weight, const float* bias,
                       float* out, thread_pool& pool);

// Packed linear weights, the same for every ISA (so setIsa() after loading is harmless) and the same
// size as [out_features, in_features]: panels of LINEAR_PANEL output features, each k-major, so both
// the batch-1 GEMV and the batched kernel stream the weights once, contiguously:
//   packed[panel*LINEAR_PANEL*in + k*width + j] = weight[panel*LINEAR_PANEL + j][k], j < width,
// width = LINEAR_PANEL except for the last panel (out_features % LINEAR_PANEL when not 0).
constexpr int LINEAR_PANEL = 16;

// packs `weight` in place (scratch of LINEAR_PANEL * in_features floats per thread)
void linear_pack_cpu(int out_features, int in_features, float* weight, thread_pool& pool);
// the inverse (for reading packed parameters back)
void linear_unpack_cpu(int out_features, int in_features, const float* packed, float* weight, thread_pool& pool);
// linear with packed weights: same result as linear_forward_cpu on the unpacked weights
int linear_packed_forward_cpu(const linear_params& p, const float* in, const float* packed, const float* bias,
                              float* out, thread_pool& pool);

// ---------------------------------------------------------------------------------------------
// Reduced precision linear (lowp.cc; per-ISA kernels in lowp-*.cc around lowp-body.inc). The weights
// [out_features, in_features] are packed once, the same for every ISA, in panels of LOWP_PANEL output
// features (the last panel padded with zero weights); one k step of a panel is one 64-byte line:
//   bf16: 2 k x 16 features, packed[(panel * steps + k / 2) * 32 + j * 2 + k % 2]   (vdpbf16ps pairs)
//   int8: 4 k x 16 features, packed[(panel * steps + k / 4) * 64 + j * 4 + k % 4]   (vpdpbusd quads)
// with k past in_features zero. An int8 weight tensor holds after the panels (64-byte aligned) the
// out_features per-feature scales (float) and then the out_features sums of each feature's int8
// weights (int32, for the activations' zero point).
constexpr int LOWP_PANEL = 16;
enum class lowp_type : int { fp32 = 0, bf16 = 1, int8 = 2 };

struct lowp_layout {
  size_t panel_bytes;   // packed weights
  size_t scales_offset; // bytes from the start (int8 only)
  size_t sums_offset;   // bytes from the start (int8 only)
  size_t total_bytes;
};
lowp_layout lowp_packed_layout(lowp_type type, int out_features, int in_features);

// bf16 weights: each rounded to nearest even (NaN kept)
void bf16_pack_cpu(int out_features, int in_features, const float* weight, uint16_t* packed, thread_pool& pool);
// int8 weights, symmetric per output feature: scale = max |w| / 127 (1 for an all-zero row),
// q = round-half-even(w / scale), so q is in [-127, 127]
void int8_pack_cpu(int out_features, int in_features, const float* weight, void* packed, thread_pool& pool);
// the same from weights already quantized (q in [-127, 127]) and their scales
void int8_pack_quantized_cpu(int out_features, int in_features, const int8_t* q, const float* scales, void* packed,
                             thread_pool& pool);
// the same for rows [row0, row0 + rows) only (q_rows holds just those; scales all out_features): row0 a multiple
// of LOWP_PANEL and rows too unless they end at out_features, so a large layer is packed a few panels at a time
void int8_pack_quantized_rows_cpu(int out_features, int in_features, int row0, int rows, const int8_t* q_rows,
                                  const float* scales, void* packed, thread_pool& pool);
// the quantized weights and scales back (exact), or for bf16 the rounded weights as floats
void lowp_unpack_cpu(lowp_type type, int out_features, int in_features, const void* packed, float* weight);

// bf16 linear: out = bf16(in) x bf16(W)^T + bias (ReLU), products summed in fp32
int bf16_linear_forward_cpu(const linear_params& p, const float* in, const void* packed, const float* bias, float* out,
                            thread_pool& pool);

// activations as u8: q = clamp(round-half-even(x * (1 / scale)) + zero_point, 0, 255), all in fp32
struct int8_act_quant {
  float scale;      // 0: dynamic, from the input's min and max at each call (int8_dynamic_quant)
  int zero_point;
};
// per-tensor scale over min(min x, 0) .. max(max x, 0): scale = (max - min) / 255, zero_point =
// round(-min / scale) (0 after a ReLU); all zero inputs give scale 1, zero point 0
int8_act_quant int8_dynamic_quant(const float* in, size_t count, thread_pool& pool);
// int8 linear: out = (sum_k u8(in) * q - zero_point * sum_k q) * (act.scale * w_scale) + bias (ReLU); the
// int32 sums are the same on every ISA, and so is the output (the epilogue is compiled once, in lowp.cc).
// `act_used` (may be null) gets the activation quantization that ran.
int int8_linear_forward_cpu(const linear_params& p, const float* in, int8_act_quant act, const void* packed,
                            const float* bias, float* out, int8_act_quant* act_used, thread_pool& pool);
// the int32 sums alone: c[m, n] = a[m, k] (u8) x q[n, k]^T for weights packed by int8_pack_*
int int8_gemm_i32_cpu(int m, int n, int k, const uint8_t* a, const void* packed, int32_t* c, thread_pool& pool);
// a linear's weights as loaded: plain or packed fp32 (linear_pack_cpu), or packed bf16 / int8 (with the
// int8 activations' static quantization, scale 0 for dynamic)
struct linear_weights {
  const void* data = nullptr;
  bool packed = false;
  lowp_type precision = lowp_type::fp32;
  int8_act_quant act{0, 0};
};
// the kernel for those weights
int linear_weights_forward_cpu(const linear_params& p, const float* in, const linear_weights& w, const float* bias,
                               float* out, thread_pool& pool);
// the kernel the current ISA runs for a precision ("avx512-vnni vpdpbusd", ...), for profiles
const char* lowp_kernel_name(lowp_type type);

// Reduced-precision conv2d (lowp-conv.cc): im2col of the input converted once per call to bf16, or to u8
// with a per-tensor scale and zero point, into the lowp linear's panels kernels; the epilogue (bias, ReLU,
// int8 dequantization) writes the fp32 NCHW output. The weights are packed once, per group, as the lowp
// linear layout of [out_channels / groups, kernel_h * kernel_w * in_channels / groups] with k in patch
// order (ky, kx, c), each group's block 64-byte aligned, groups one after another. Only out/in channels,
// kernel and groups of p matter to the packing.
size_t conv_lowp_packed_bytes(lowp_type type, const conv2d_params& p);
// bf16: each weight rounded to nearest even; int8: symmetric per output channel as int8_pack_cpu
void conv_lowp_pack_cpu(lowp_type type, const conv2d_params& p, const float* weight, void* packed, thread_pool& pool);
// int8 weights already quantized (OIHW, q in [-127, 127]) and their out_channels scales
void conv_int8_pack_quantized_cpu(const conv2d_params& p, const int8_t* q, const float* scales, void* packed,
                                  thread_pool& pool);
// bf16 conv weights as packConv holds them: the direct panels above (conv_lowp_packed_bytes), then with
// `winograd`, where Winograd applies (3x3 or 5x5, stride 1), its Winograd-domain weights U = G g G^T (the fp32
// path's, in double) rounded to bf16, one LOWP_PANEL panel layout per group and tile position
size_t conv_bf16_packed_bytes(const conv2d_params& p, bool winograd);
void conv_bf16_pack_cpu(const conv2d_params& p, const float* weight, void* packed, bool winograd, thread_pool& pool);
// bf16 conv2d with those weights: Winograd where they hold it and ALEXNET_CLI_WINOGRAD / winograd_pays say
// (the transforms in fp32, the GEMMs on bf16 U and V, summed in fp32), else conv2d_lowp_forward_cpu
int conv2d_bf16_packed_forward_cpu(const conv2d_params& p, const float* in, const void* packed, bool winograd,
                                   const float* bias, float* out, thread_pool& pool);
// OIHW weights back: bf16 rounded, or int8 q * scale
void conv_lowp_unpack_cpu(lowp_type type, const conv2d_params& p, const void* packed, float* weight);
// the out_channels per-channel scales of int8 conv weights
void conv_int8_scales(const conv2d_params& p, const void* packed, float* scales);
// out = conv(bf16(in), bf16(W)) + bias, or for int8 per output channel (sum u8(in) * q - zero_point * sum q) *
// (act.scale * w_scale) + bias, then ReLU; act.scale 0: dynamic (int8_dynamic_quant of this input).
// `act_used` (may be null) gets the activation quantization that ran.
int conv2d_lowp_forward_cpu(const conv2d_params& p, const float* in, lowp_type type, const void* packed,
                            int8_act_quant act, const float* bias, float* out, int8_act_quant* act_used,
                            thread_pool& pool);

// The int8 chain (activations kept as u8 between int8 layers with static scales, as ONNX Runtime's QDQ
// graphs run): a u8 activation is lowp_quantize_u8 of the fp32 value the unchained layers would have
// written, so every chained output equals quantizing the unchained one (max pooling commutes with the
// monotonic quantization; an empty window gives the zero point, the quantized 0).
// int8 conv2d whose input is either fp32 NCHW (`in_u8` null: quantized with act as above) or u8 NHWC
// [batch][h][w][c] already quantized with act (static; groups 1), and whose output is fp32 NCHW (`out`) or
// u8 NHWC [batch][out_h][out_w][out_channels] (`out_u8`, when not null), the epilogue's fp32 value
// requantized with `out_act` (static).
int conv2d_int8_chain_forward_cpu(const conv2d_params& p, const float* in, const uint8_t* in_u8, const void* packed,
                                  int8_act_quant act, const float* bias, float* out, uint8_t* out_u8,
                                  int8_act_quant out_act, thread_pool& pool);
// max pooling of u8 NHWC [batch][h][w][c]: the output u8 NHWC, or (`nchw_out`) u8 NCHW, the order a
// following flatten + linear reads
int max_pool2d_u8_forward_cpu(const pool2d_params& p, const uint8_t* in, uint8_t* out, bool nchw_out, thread_pool& pool);
// int8 linear whose input rows are u8 already quantized with act (static)
int int8_linear_u8_forward_cpu(const linear_params& p, const uint8_t* in, int8_act_quant act, const void* packed,
                               const float* bias, float* out, thread_pool& pool);

// fp32 GFLOP/s of a register-only FMA loop of the current ISA on `threads` threads of the pool
// (the machine's attainable peak, for % of peak in profiles and benchmarks)
double cpu_peak_gflops(thread_pool& pool);

// best of 3 passes over `bytes` of fresh memory on all threads of the pool: a read-only stream with the
// batch-1 linear kernel's access pattern, and memcpy (bytes read + written)
struct memory_bandwidth {
  double read_gbps, copy_gbps;
};
memory_bandwidth cpu_memory_bandwidth(size_t bytes, thread_pool& pool);

// softmax over each row of [rows, cols] (max subtracted first); in == out allowed
struct softmax_params {
  int rows, cols;
};

int softmax_forward_cpu(const softmax_params& p, const float* in, float* out, thread_pool& pool);

// torch AdaptiveAvgPool2d: window i is [floor(i*in/out), ceil((i+1)*in/out))
struct adaptive_avgpool_params {
  int batch, channels, in_height, in_width, out_height, out_width;
};

int adaptive_avgpool2d_forward_cpu(const adaptive_avgpool_params& p, const float* in, float* out,
                                   thread_pool& pool);

// elementwise max(x, 0); in == out allowed
int relu_forward_cpu(size_t length, const float* in, float* out, thread_pool& pool);

// splits [0, total) into nth nearly equal contiguous ranges; range ith is [*begin, *end)
inline void split_range(int64_t total, int ith, int nth, int64_t* begin, int64_t* end) {
  const int64_t base = total / nth, extra = total % nth;
  *begin = ith * base + (ith < extra ? ith : extra);
  *end = *begin + base + (ith < extra ? 1 : 0);
}

}  // namespace alexnet
