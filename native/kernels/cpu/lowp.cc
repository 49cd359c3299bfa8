// Reduced-precision linear: packing bf16 and int8 weights (kernels.h LOWP_PANEL layout), the input's
// conversion (bf16 pairs, or u8 with a per-tensor scale and zero point), the per-ISA panels kernels
// (lowp-body.inc) split over the threads, and the epilogues, compiled here once so that every ISA turns
// the same sums into the same outputs.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/lowp-internal.h"
#include "kernels/cpu/thread-pool.h"
#include "kernels/kernels.h"

namespace alexnet {

lowp_isa_kernel lowp_kernel_current() {
  switch (cpu_isa_current()) {
#ifdef ALEXNET_HAVE_AVX512_VNNI
    case cpu_isa::avx512_vnni: {
      lowp_isa_kernel k = lowp_kernel_avx512_vnni();
      if (!cpu_features().avx512_bf16) {  // VNNI without BF16 (Cascade Lake, Ice Lake): widen bf16 in registers
        const lowp_isa_kernel plain = lowp_kernel_avx512();
        k.bf16 = plain.bf16;
        k.bf16_gather = plain.bf16_gather;
        k.bf16_name = plain.bf16_name;
      }
      return k;
    }
#endif
#ifdef ALEXNET_HAVE_AVX512
    case cpu_isa::avx512: return lowp_kernel_avx512();
#endif
#ifdef ALEXNET_HAVE_AVX2_VNNI
    case cpu_isa::avx2_vnni: return lowp_kernel_avx2_vnni();
#endif
#ifdef ALEXNET_HAVE_AVX2
    case cpu_isa::avx2: return lowp_kernel_avx2();
#endif
    default: return lowp_kernel_portable();
  }
}

namespace {

int panel_count(int out_features) { return (out_features + LOWP_PANEL - 1) / LOWP_PANEL; }
int k_steps(lowp_type type, int in_features) { return lowp_k_steps(type, in_features); }
inline uint16_t float_to_bf16(float x) { return lowp_float_to_bf16(x); }

// the packed byte of weight (j, kk) of an int8 panel layout (or the uint16 index for bf16)
inline size_t int8_index(int steps, int j, int kk) {
  return (static_cast<size_t>(j / LOWP_PANEL) * steps + kk / 4) * 64 + (j % LOWP_PANEL) * 4 + kk % 4;
}
inline size_t bf16_index(int steps, int j, int kk) {
  return (static_cast<size_t>(j / LOWP_PANEL) * steps + kk / 2) * 32 + (j % LOWP_PANEL) * 2 + kk % 2;
}

void int8_epilogue(const lowp_run& r, int row0, int rows, int col0, int cols, const void* sums_v, int ld) {
  const int32_t* sums = static_cast<const int32_t*>(sums_v);
  for (int i = 0; i < rows; ++i) {
    const int32_t* s = sums + static_cast<size_t>(i) * ld;
    if (r.out_i32) {
      std::memcpy(r.out_i32 + static_cast<size_t>(row0 + i) * r.out_features + col0, s, sizeof(int32_t) * cols);
      continue;
    }
    float* out = r.out + static_cast<size_t>(row0 + i) * r.out_features + col0;
    for (int j = 0; j < cols; ++j) {
      const int32_t centered = s[j] - r.act.zero_point * r.w_sums[col0 + j];
      float v = static_cast<float>(centered) * (r.act.scale * r.w_scales[col0 + j]);
      if (r.bias) v += r.bias[col0 + j];
      out[j] = r.relu && v < 0.0f ? 0.0f : v;
    }
  }
}

void bf16_epilogue(const lowp_run& r, int row0, int rows, int col0, int cols, const void* sums_v, int ld) {
  const float* sums = static_cast<const float*>(sums_v);
  for (int i = 0; i < rows; ++i) {
    const float* s = sums + static_cast<size_t>(i) * ld;
    float* out = r.out + static_cast<size_t>(row0 + i) * r.out_features + col0;
    for (int j = 0; j < cols; ++j) {
      float v = s[j];
      if (r.bias) v += r.bias[col0 + j];
      out[j] = r.relu && v < 0.0f ? 0.0f : v;
    }
  }
}

// panels over the threads, in groups of 4 claimed one at a time
void run_panels(lowp_panels_fn fn, const lowp_run& r, thread_pool& pool) {
  // tasks of 4 panels (lowp-body.inc: a tile's streams, and the group a block of rows passes over), handed
  // out one at a time (thread_pool::run_tasks): fc6 at batch 1 is 64 tasks of 590 kB of int8 weights
  constexpr int TASK_PANELS = 4;
  const int panels = panel_count(r.out_features);
  pool.run_tasks((panels + TASK_PANELS - 1) / TASK_PANELS, [&](int64_t task) {
    const int panel0 = static_cast<int>(task) * TASK_PANELS;
    fn(r, panel0, std::min(panel0 + TASK_PANELS, panels));
  });
}

// the caller's scratch for the converted input (kept between calls, per calling thread)
// A run of rows x out_features over the packed weights (in_features deep), with the precision's epilogue
// and, for int8, the scales and sums the layout holds after the panels; the caller sets the input and output
lowp_run lowp_run_of(lowp_type type, int rows, int out_features, int in_features, const void* packed) {
  lowp_run r;
  r.rows = rows;
  r.out_features = out_features;
  r.steps = k_steps(type, in_features);
  r.packed = packed;
  r.epilogue = type == lowp_type::int8 ? int8_epilogue : bf16_epilogue;
  if (type == lowp_type::int8) {
    const lowp_layout l = lowp_packed_layout(type, out_features, in_features);
    r.w_scales = reinterpret_cast<const float*>(static_cast<const uint8_t*>(packed) + l.scales_offset);
    r.w_sums = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(packed) + l.sums_offset);
  }
  return r;
}

// a linear layer's run: p.rows x p.out_features into out (+ bias, relu); the caller sets the input
lowp_run linear_run_of(lowp_type type, const linear_params& p, const void* packed, const float* bias, float* out) {
  lowp_run r = lowp_run_of(type, p.rows, p.out_features, p.in_features, packed);
  r.out = out;
  r.bias = bias;
  r.relu = p.relu;
  return r;
}

uint8_t* input_scratch(size_t bytes) {
  thread_local aligned_buffer scratch;
  return reinterpret_cast<uint8_t*>(scratch.reserve((bytes + 3) / 4 + 16));
}

}  // namespace

lowp_layout lowp_packed_layout(lowp_type type, int out_features, int in_features) {
  lowp_layout l{0, 0, 0, 0};
  if (type == lowp_type::fp32) {
    l.panel_bytes = l.total_bytes = static_cast<size_t>(out_features) * in_features * 4;
    return l;
  }
  l.panel_bytes = static_cast<size_t>(panel_count(out_features)) * k_steps(type, in_features) * 64;
  l.scales_offset = l.sums_offset = l.total_bytes = l.panel_bytes;
  if (type == lowp_type::int8) {
    l.sums_offset = l.scales_offset + static_cast<size_t>(out_features) * 4;
    l.total_bytes = l.sums_offset + static_cast<size_t>(out_features) * 4;
  }
  return l;
}

void bf16_pack_cpu(int out_features, int in_features, const float* weight, uint16_t* packed, thread_pool& pool) {
  const int steps = k_steps(lowp_type::bf16, in_features);
  const int panels = panel_count(out_features);
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(panels, ith, nth, &begin, &end);
    for (int64_t panel = begin; panel < end; ++panel) {
      std::memset(packed + static_cast<size_t>(panel) * steps * 32, 0, static_cast<size_t>(steps) * 64);
      for (int jj = 0; jj < LOWP_PANEL; ++jj) {
        const int j = static_cast<int>(panel) * LOWP_PANEL + jj;
        if (j >= out_features) break;
        const float* row = weight + static_cast<size_t>(j) * in_features;
        for (int kk = 0; kk < in_features; ++kk) packed[bf16_index(steps, j, kk)] = float_to_bf16(row[kk]);
      }
    }
  });
}

namespace {

// panels, scales and sums from a function giving feature j's scale and int8 weights
template <class Quantize>
void int8_pack_with(int out_features, int in_features, void* packed, thread_pool& pool, Quantize quantize, int panel0 = 0,
                    int panel1 = -1) {
  const lowp_layout l = lowp_packed_layout(lowp_type::int8, out_features, in_features);
  int8_t* panels_out = static_cast<int8_t*>(packed);
  float* scales = reinterpret_cast<float*>(static_cast<uint8_t*>(packed) + l.scales_offset);
  int32_t* sums = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(packed) + l.sums_offset);
  const int steps = k_steps(lowp_type::int8, in_features);
  if (panel1 < 0) panel1 = panel_count(out_features);
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(panel1 - panel0, ith, nth, &begin, &end);
    begin += panel0;
    end += panel0;
    aligned_buffer row_buffer((static_cast<size_t>(in_features) + 3) / 4);
    int8_t* q = reinterpret_cast<int8_t*>(row_buffer.data());
    for (int64_t panel = begin; panel < end; ++panel) {
      std::memset(panels_out + static_cast<size_t>(panel) * steps * 64, 0, static_cast<size_t>(steps) * 64);
      for (int jj = 0; jj < LOWP_PANEL; ++jj) {
        const int j = static_cast<int>(panel) * LOWP_PANEL + jj;
        if (j >= out_features) break;
        scales[j] = quantize(j, q);
        int32_t sum = 0;
        for (int kk = 0; kk < in_features; ++kk) {
          panels_out[int8_index(steps, j, kk)] = q[kk];
          sum += q[kk];
        }
        sums[j] = sum;
      }
    }
  });
}

}  // namespace

void int8_pack_cpu(int out_features, int in_features, const float* weight, void* packed, thread_pool& pool) {
  int8_pack_with(out_features, in_features, packed, pool, [&](int j, int8_t* q) {
    const float* row = weight + static_cast<size_t>(j) * in_features;
    float max_abs = 0.0f;
    for (int kk = 0; kk < in_features; ++kk) max_abs = std::fmax(max_abs, std::fabs(row[kk]));
    const float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
    for (int kk = 0; kk < in_features; ++kk) {
      const float v = std::nearbyint(row[kk] / scale);  // the default rounding mode: half to even
      q[kk] = static_cast<int8_t>(v > 127.0f ? 127 : v < -127.0f ? -127 : static_cast<int>(v));
    }
    return scale;
  });
}

void int8_pack_quantized_cpu(int out_features, int in_features, const int8_t* q_in, const float* scales, void* packed,
                             thread_pool& pool) {
  int8_pack_with(out_features, in_features, packed, pool, [&](int j, int8_t* q) {
    std::memcpy(q, q_in + static_cast<size_t>(j) * in_features, static_cast<size_t>(in_features));
    return scales[j];
  });
}

void int8_pack_quantized_rows_cpu(int out_features, int in_features, int row0, int rows, const int8_t* q_rows,
                                  const float* scales, void* packed, thread_pool& pool) {
  const int panel0 = row0 / LOWP_PANEL, panel1 = std::min(panel_count(out_features), (row0 + rows + LOWP_PANEL - 1) / LOWP_PANEL);
  int8_pack_with(
      out_features, in_features, packed, pool,
      [&](int j, int8_t* q) {
        std::memcpy(q, q_rows + static_cast<size_t>(j - row0) * in_features, static_cast<size_t>(in_features));
        return scales[j];
      },
      panel0, panel1);
}

void lowp_unpack_cpu(lowp_type type, int out_features, int in_features, const void* packed, float* weight) {
  if (type == lowp_type::bf16) {
    const uint16_t* p = static_cast<const uint16_t*>(packed);
    const int steps = k_steps(type, in_features);
    for (int j = 0; j < out_features; ++j)
      for (int kk = 0; kk < in_features; ++kk) {
        const uint32_t bits = static_cast<uint32_t>(p[bf16_index(steps, j, kk)]) << 16;
        std::memcpy(weight + static_cast<size_t>(j) * in_features + kk, &bits, 4);
      }
    return;
  }
  // int8: the quantized weights as floats times nothing; the scales are read from the layout by the caller
  const int8_t* p = static_cast<const int8_t*>(packed);
  const int steps = k_steps(type, in_features);
  for (int j = 0; j < out_features; ++j)
    for (int kk = 0; kk < in_features; ++kk)
      weight[static_cast<size_t>(j) * in_features + kk] = p[int8_index(steps, j, kk)];
}

int bf16_linear_forward_cpu(const linear_params& p, const float* in, const void* packed, const float* bias, float* out,
                            thread_pool& pool) {
  if (p.rows <= 0 || p.in_features <= 0 || p.out_features <= 0) return KERNEL_BAD_SHAPE;
  const int steps = k_steps(lowp_type::bf16, p.in_features);
  uint16_t* a = reinterpret_cast<uint16_t*>(input_scratch(static_cast<size_t>(p.rows) * steps * 4));
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(p.rows, ith, nth, &begin, &end);
    for (int64_t row = begin; row < end; ++row) {
      const float* x = in + static_cast<size_t>(row) * p.in_features;
      uint16_t* dst = a + static_cast<size_t>(row) * steps * 2;
      for (int kk = 0; kk < p.in_features; ++kk) dst[kk] = float_to_bf16(x[kk]);
      if (p.in_features % 2) dst[p.in_features] = 0;
    }
  });
  lowp_run r = linear_run_of(lowp_type::bf16, p, packed, bias, out);
  r.a = a;
  run_panels(lowp_kernel_current().bf16, r, pool);
  return KERNEL_OK;
}

int8_act_quant int8_dynamic_quant(const float* in, size_t count, thread_pool& pool) {
  const int threads = pool.size();
  aligned_buffer extremes(static_cast<size_t>(threads) * 2);
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(static_cast<int64_t>(count), ith, nth, &begin, &end);
    float lo = 0.0f, hi = 0.0f;
    // plain compares (fminf/fmaxf are libm calls in the baseline build); a NaN is skipped as fmin/fmax would.
    // SSE2 minps(x, lo) is x < lo ? x : lo, the same rule, four lanes at a time (the scalar loop does not
    // vectorize: a float min reduction needs -ffast-math); the lanes are folded with the same compares.
#ifdef __SSE2__
    if (end - begin >= 16) {
      __m128 vlo = _mm_setzero_ps(), vhi = _mm_setzero_ps();
      for (; begin + 4 <= end; begin += 4) {
        const __m128 x = _mm_loadu_ps(in + begin);
        vlo = _mm_min_ps(x, vlo);
        vhi = _mm_max_ps(x, vhi);
      }
      alignas(16) float l[4], h[4];
      _mm_store_ps(l, vlo);
      _mm_store_ps(h, vhi);
      for (int j = 0; j < 4; ++j) {
        lo = l[j] < lo ? l[j] : lo;
        hi = h[j] > hi ? h[j] : hi;
      }
    }
#endif
    for (int64_t i = begin; i < end; ++i) {
      lo = in[i] < lo ? in[i] : lo;
      hi = in[i] > hi ? in[i] : hi;
    }
    extremes.data()[2 * ith] = lo;
    extremes.data()[2 * ith + 1] = hi;
  });
  float lo = 0.0f, hi = 0.0f;
  for (int t = 0; t < threads; ++t) {
    lo = std::fmin(lo, extremes.data()[2 * t]);
    hi = std::fmax(hi, extremes.data()[2 * t + 1]);
  }
  if (!(hi > lo) || !std::isfinite(hi - lo)) return int8_act_quant{1.0f, 0};
  const float scale = (hi - lo) / 255.0f;
  const float zero = std::nearbyint(-lo / scale);
  return int8_act_quant{scale, zero > 255.0f ? 255 : static_cast<int>(zero)};
}

namespace {

// u8 rows of steps * 4 bytes, zero past in_features (the padded weights are zero there too)
uint8_t* quantize_input(const linear_params& p, const float* in, int8_act_quant act, int steps, thread_pool& pool) {
  uint8_t* a = input_scratch(static_cast<size_t>(p.rows) * steps * 4);
  const float inverse = 1.0f / act.scale;
  const float zero = static_cast<float>(act.zero_point);
  pool.run([&](int ith, int nth) {
    // rows split over the threads, or at batch 1 the features
    const int64_t total = static_cast<int64_t>(p.rows) * p.in_features;
    int64_t begin, end;
    split_range(total, ith, nth, &begin, &end);
    // the range [begin, end) of the flat input, one row's run at a time
    for (int64_t i = begin; i < end;) {
      const int64_t row = i / p.in_features, kk = i % p.in_features;
      const int64_t run = std::min<int64_t>(end - i, p.in_features - kk);
      lowp_quantize_u8_row(in + i, a + static_cast<size_t>(row) * steps * 4 + kk, static_cast<size_t>(run), inverse, zero);
      i += run;
    }
    if (ith == 0)
      for (int row = 0; row < p.rows; ++row)
        for (int kk = p.in_features; kk < steps * 4; ++kk) a[static_cast<size_t>(row) * steps * 4 + kk] = 0;
  });
  return a;
}

}  // namespace

int int8_linear_forward_cpu(const linear_params& p, const float* in, int8_act_quant act, const void* packed,
                            const float* bias, float* out, int8_act_quant* act_used, thread_pool& pool) {
  if (p.rows <= 0 || p.in_features <= 0 || p.out_features <= 0) return KERNEL_BAD_SHAPE;
  if (!(act.scale > 0.0f)) act = int8_dynamic_quant(in, static_cast<size_t>(p.rows) * p.in_features, pool);
  if (act_used) *act_used = act;
  lowp_run r = linear_run_of(lowp_type::int8, p, packed, bias, out);
  r.a = quantize_input(p, in, act, r.steps, pool);
  r.act = act;
  run_panels(lowp_kernel_current().int8, r, pool);
  return KERNEL_OK;
}

int int8_linear_u8_forward_cpu(const linear_params& p, const uint8_t* in, int8_act_quant act, const void* packed,
                               const float* bias, float* out, thread_pool& pool) {
  if (p.rows <= 0 || p.in_features <= 0 || p.out_features <= 0 || !(act.scale > 0.0f)) return KERNEL_BAD_SHAPE;
  lowp_run r = linear_run_of(lowp_type::int8, p, packed, bias, out);
  const size_t lda = static_cast<size_t>(r.steps) * 4;
  if (lda == static_cast<size_t>(p.in_features)) {
    r.a = in;  // rows already a whole number of k steps apart
  } else {
    uint8_t* a = input_scratch(static_cast<size_t>(p.rows) * lda);
    for (int row = 0; row < p.rows; ++row) {
      std::memcpy(a + row * lda, in + static_cast<size_t>(row) * p.in_features, static_cast<size_t>(p.in_features));
      std::memset(a + row * lda + p.in_features, 0, lda - p.in_features);
    }
    r.a = a;
  }
  r.act = act;
  run_panels(lowp_kernel_current().int8, r, pool);
  return KERNEL_OK;
}

int int8_gemm_i32_cpu(int m, int n, int k, const uint8_t* a, const void* packed, int32_t* c, thread_pool& pool) {
  if (m <= 0 || n <= 0 || k <= 0) return KERNEL_BAD_SHAPE;
  lowp_run r = lowp_run_of(lowp_type::int8, m, n, k, packed);
  uint8_t* padded = input_scratch(static_cast<size_t>(m) * r.steps * 4);
  for (int row = 0; row < m; ++row) {
    std::memcpy(padded + static_cast<size_t>(row) * r.steps * 4, a + static_cast<size_t>(row) * k, static_cast<size_t>(k));
    std::memset(padded + static_cast<size_t>(row) * r.steps * 4 + k, 0, static_cast<size_t>(r.steps * 4 - k));
  }
  r.a = padded;
  r.out_i32 = c;
  run_panels(lowp_kernel_current().int8, r, pool);
  return KERNEL_OK;
}

int linear_weights_forward_cpu(const linear_params& p, const float* in, const linear_weights& w, const float* bias,
                               float* out, thread_pool& pool) {
  switch (w.precision) {
    case lowp_type::bf16: return bf16_linear_forward_cpu(p, in, w.data, bias, out, pool);
    case lowp_type::int8: return int8_linear_forward_cpu(p, in, w.act, w.data, bias, out, nullptr, pool);
    default:
      return w.packed ? linear_packed_forward_cpu(p, in, static_cast<const float*>(w.data), bias, out, pool)
                      : linear_forward_cpu(p, in, static_cast<const float*>(w.data), bias, out, pool);
  }
}

const char* lowp_kernel_name(lowp_type type) {
  const lowp_isa_kernel k = lowp_kernel_current();
  return type == lowp_type::int8 ? k.int8_name : type == lowp_type::bf16 ? k.bf16_name : "fp32";
}

}  // namespace alexnet
