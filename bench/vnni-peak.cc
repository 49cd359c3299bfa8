// The int8 dot-product peak of this CPU: a register-only loop of 24 independent vpdpbusd zmm (AVX512-VNNI) on
// 1 and 2 threads, as GMAC/s (64 multiply-adds per instruction), best of 5 runs each. What the int8 convs'
// GMAC/s (profile's Eff. GFLOP/s / 2) compare against. Each instruction is an asm statement of its own on a
// different accumulator ("+v"), so the compiler can neither merge nor drop them.
// Build and run: g++ -O2 -mavx512f -mavx512vnni -pthread bench/vnni-peak.cc -o /tmp/vnni-peak && /tmp/vnni-peak
#include <immintrin.h>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#define ACC24(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

static double run(long iters) {
  __m512i a = _mm512_set1_epi32(0x01010101), b = _mm512_set1_epi32(0x01010101);
  // 24 named accumulators (an array would live in memory: a 64-byte store per instruction, half the rate)
#define DECL(k) __m512i acc##k = _mm512_setzero_si512();
  ACC24(DECL)
#undef DECL
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < iters; ++i) {
#define DP(k) asm volatile("vpdpbusd %1, %2, %0" : "+v"(acc##k) : "v"(a), "v"(b));
    ACC24(DP)
#undef DP
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int sink = 0;
#define SUM(k) sink += _mm512_reduce_add_epi32(acc##k);
  ACC24(SUM)
#undef SUM
  if (sink == 42) std::puts("");
  return static_cast<double>(iters) * 24 * 64 / s / 1e9;  // GMAC/s
}

int main() {
  const long iters = 20'000'000;
  for (int threads : {1, 2}) {
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      std::vector<double> rates(threads);
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { rates[t] = run(iters); });
      for (auto& t : pool) t.join();
      double total = 0;
      for (double r : rates) total += r;
      if (total > best) best = total;
    }
    std::printf("%d thread(s): %.0f GMAC/s (vpdpbusd zmm, best of 5)\n", threads, best);
  }
}
