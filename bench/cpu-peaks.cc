// This CPU's ceilings for the reduced-precision kernels, on 1 and 2 threads, best of 5 runs each:
//   - int8: a register-only loop of 24 independent vpdpbusd zmm (AVX512-VNNI), 64 multiply-adds each;
//   - bf16: the same with vdpbf16ps zmm (AVX512-BF16), 32 multiply-adds each;
//   - memory: a plain AVX-512 read of a 256 MB buffer (what the fc layers stream at batch 1).
// What profile's per-layer rates (Eff. GFLOP/s / 2 = GMAC/s) and bench/precision.js's GB/s compare against.
// Each instruction is an asm statement of its own on a named accumulator ("+v"): the compiler can neither merge
// nor drop them, and (unlike an array of accumulators, which GCC stores after every instruction) they stay in
// registers.
// Build and run: g++ -O2 -mavx512f -mavx512vnni -mavx512bf16 -pthread bench/cpu-peaks.cc -o /tmp/cpu-peaks && /tmp/cpu-peaks
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#define ACC24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

// GMAC/s of `instruction` ("vpdpbusd" or "vdpbf16ps"), `macs` multiply-adds each
#define PEAK_LOOP(NAME, INSTRUCTION, MACS)                                          \
  static double NAME(long iters) {                                                  \
    __m512i a = _mm512_set1_epi32(0x01010101), b = _mm512_set1_epi32(0x01010101);   \
    ACC24(DECL)                                                                     \
    const auto t0 = std::chrono::steady_clock::now();                               \
    for (long i = 0; i < iters; ++i) {                                              \
      ACC24(STEP_##NAME)                                                            \
    }                                                                               \
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); \
    int sink = 0;                                                                   \
    ACC24(SUM)                                                                      \
    if (sink == 42) std::puts("");                                                  \
    return static_cast<double>(iters) * 24 * (MACS) / s / 1e9;                      \
  }
#define DECL(k) __m512i acc##k = _mm512_setzero_si512();
#define SUM(k) sink += _mm512_reduce_add_epi32(acc##k);
#define STEP_int8_peak(k) asm volatile("vpdpbusd %1, %2, %0" : "+v"(acc##k) : "v"(a), "v"(b));
#define STEP_bf16_peak(k) asm volatile("vdpbf16ps %1, %2, %0" : "+v"(acc##k) : "v"(a), "v"(b));
PEAK_LOOP(int8_peak, vpdpbusd, 64)
PEAK_LOOP(bf16_peak, vdpbf16ps, 32)

// GB/s reading [begin, end) of `data` once
static double read_rate(const uint8_t* data, size_t begin, size_t end) {
  __m512i acc = _mm512_setzero_si512();
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = begin; i < end; i += 256) {
    acc = _mm512_add_epi32(acc, _mm512_load_si512(data + i));
    acc = _mm512_add_epi32(acc, _mm512_load_si512(data + i + 64));
    acc = _mm512_add_epi32(acc, _mm512_load_si512(data + i + 128));
    acc = _mm512_add_epi32(acc, _mm512_load_si512(data + i + 192));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (_mm512_reduce_add_epi32(acc) == 42) std::puts("");
  return static_cast<double>(end - begin) / s / 1e9;
}

// the best of 5 runs of fn(thread, threads) summed over `threads` threads started together
static double best_of_5(int threads, const std::function<double(int, int)>& fn) {
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<double> rates(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { rates[t] = fn(t, threads); });
    for (auto& t : pool) t.join();
    double total = 0;
    for (double r : rates) total += r;
    if (total > best) best = total;
  }
  return best;
}

int main() {
  const long iters = 20'000'000;
  const size_t bytes = size_t{256} << 20;
  auto* data = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
  std::memset(data, 1, bytes);
  for (int threads : {1, 2}) {
    std::printf("%d thread(s): vpdpbusd %.0f GMAC/s, vdpbf16ps %.0f GMAC/s, read %.1f GB/s (best of 5)\n", threads,
                best_of_5(threads, [&](int, int) { return int8_peak(iters); }),
                best_of_5(threads, [&](int, int) { return bf16_peak(iters); }),
                best_of_5(threads, [&](int t, int n) { return read_rate(data, bytes / n * t, bytes / n * (t + 1)); }));
  }
  std::free(data);
}
