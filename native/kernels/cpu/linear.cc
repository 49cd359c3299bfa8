// linear (fully connected): out[rows, out] = in[rows, in] x weight[out, in]^T + bias, one GEMM; the
// packed-weight variant (kernels.h LINEAR_PANEL layout, per-ISA kernels in linear-body.inc) with its
// in-place packing; and the machine's measured peaks (FMA rate, read and copy bandwidth).
#include <atomic>
#include <chrono>
#include <cstring>

#include "kernels/cpu/aligned-buffer.h"
#include "kernels/cpu/linear-internal.h"
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

namespace {

linear_isa_kernel linear_kernel_current() {
  switch (cpu_isa_base(cpu_isa_current())) {
#ifdef ALEXNET_HAVE_AVX512
    case cpu_isa::avx512: return linear_kernel_avx512();
#endif
#ifdef ALEXNET_HAVE_AVX2
    case cpu_isa::avx2: return linear_kernel_avx2();
#endif
    default: return linear_kernel_portable();
  }
}

int64_t panel_count(int out_features) { return (out_features + LINEAR_PANEL - 1) / LINEAR_PANEL; }

// a panel's rows [panel*LINEAR_PANEL, +width) occupy the same floats before and after packing
void panel_extent(int out_features, int in_features, int64_t panel, size_t* offset, int* width) {
  const int64_t col0 = panel * LINEAR_PANEL;
  *width = static_cast<int>(out_features - col0 < LINEAR_PANEL ? out_features - col0 : LINEAR_PANEL);
  *offset = static_cast<size_t>(col0) * in_features;
}

}  // namespace

void linear_pack_cpu(int out_features, int in_features, float* weight, thread_pool& pool) {
  const int64_t panels = panel_count(out_features);
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(panels, ith, nth, &begin, &end);
    aligned_buffer rows(static_cast<size_t>(LINEAR_PANEL) * in_features);
    for (int64_t panel = begin; panel < end; ++panel) {
      size_t offset;
      int width;
      panel_extent(out_features, in_features, panel, &offset, &width);
      float* region = weight + offset;
      std::memcpy(rows.data(), region, sizeof(float) * width * static_cast<size_t>(in_features));
      for (int j = 0; j < width; ++j) {
        const float* src = rows.data() + static_cast<size_t>(j) * in_features;
        for (int k = 0; k < in_features; ++k) region[static_cast<size_t>(k) * width + j] = src[k];
      }
    }
  });
}

void linear_unpack_cpu(int out_features, int in_features, const float* packed, float* weight, thread_pool& pool) {
  const int64_t panels = panel_count(out_features);
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(panels, ith, nth, &begin, &end);
    for (int64_t panel = begin; panel < end; ++panel) {
      size_t offset;
      int width;
      panel_extent(out_features, in_features, panel, &offset, &width);
      for (int j = 0; j < width; ++j)
        for (int k = 0; k < in_features; ++k)
          weight[offset + static_cast<size_t>(j) * in_features + k] = packed[offset + static_cast<size_t>(k) * width + j];
    }
  });
}

int linear_packed_forward_cpu(const linear_params& p, const float* in, const float* packed, const float* bias,
                              float* out, thread_pool& pool) {
  if (p.rows <= 0 || p.in_features <= 0 || p.out_features <= 0) return KERNEL_BAD_SHAPE;
  const linear_isa_kernel kern = linear_kernel_current();
  const int64_t panels = panel_count(p.out_features);
  pool.run([&](int ith, int nth) {
    // contiguous panels per thread: at batch 1 each thread reads one contiguous stream of weights
    int64_t begin, end;
    split_range(panels, ith, nth, &begin, &end);
    if (begin >= end) return;
    thread_local aligned_buffer x_pack;
    float* xp = p.rows > LINEAR_STREAM_MAX_ROWS ? x_pack.reserve(linear_x_pack_floats(p.rows)) : nullptr;
    kern.panels(p, in, packed, bias, out, static_cast<int>(begin), static_cast<int>(end), xp);
  });
  return KERNEL_OK;
}

double cpu_peak_gflops(thread_pool& pool) {
  const linear_isa_kernel kern = linear_kernel_current();
  // about 10 ms per thread at 100 GFLOP/s; the best of 5 (other processes only ever slow a run down)
  constexpr long ITERATIONS = 4000000;
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    const auto start = std::chrono::steady_clock::now();
    double macs = 0;
    std::atomic<int64_t> total_macs{0};
    pool.run([&](int, int) { total_macs.fetch_add(static_cast<int64_t>(kern.peak_loop(ITERATIONS))); });
    macs = static_cast<double>(total_macs.load());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double gflops = 2 * macs / seconds / 1e9;
    if (gflops > best) best = gflops;
  }
  return best;
}

memory_bandwidth cpu_memory_bandwidth(size_t bytes, thread_pool& pool) {
  const linear_isa_kernel kern = linear_kernel_current();
  const size_t count = bytes / sizeof(float) / 2 / LINEAR_PANEL * LINEAR_PANEL;  // source and destination
  aligned_buffer source(count), destination(count);
  // first touch on the threads that read it (and no page faults in the timed passes)
  pool.run([&](int ith, int nth) {
    int64_t begin, end;
    split_range(static_cast<int64_t>(count), ith, nth, &begin, &end);
    for (int64_t i = begin; i < end; ++i) source.data()[i] = static_cast<float>(i & 7);
    std::memset(destination.data() + begin, 0, static_cast<size_t>(end - begin) * sizeof(float));
  });
  memory_bandwidth best{0, 0};
  std::atomic<int> sink{0};
  for (int run = 0; run < 3; ++run) {
    auto start = std::chrono::steady_clock::now();
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(static_cast<int64_t>(count / LINEAR_PANEL), ith, nth, &begin, &end);
      const float sum = kern.stream_read(source.data() + begin * LINEAR_PANEL, static_cast<size_t>(end - begin) * LINEAR_PANEL);
      if (sum == -1.0f) sink.fetch_add(1);  // keeps the reads
    });
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double read = static_cast<double>(count) * sizeof(float) / seconds / 1e9;
    start = std::chrono::steady_clock::now();
    pool.run([&](int ith, int nth) {
      int64_t begin, end;
      split_range(static_cast<int64_t>(count), ith, nth, &begin, &end);
      std::memcpy(destination.data() + begin, source.data() + begin, static_cast<size_t>(end - begin) * sizeof(float));
    });
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double copy = 2.0 * static_cast<double>(count) * sizeof(float) / seconds / 1e9;  // read + write
    if (read > best.read_gbps) best.read_gbps = read;
    if (copy > best.copy_gbps) best.copy_gbps = copy;
  }
  return best;
}

}  // namespace alexnet
