// Run-time ISA selection: cpuid says what the CPU has, xgetbv says whether the OS saves the wider
// register state (a CPU with AVX-512 under an OS that does not enable it must not run AVX-512 code).
#include <atomic>
#include <cstring>

#include "kernels/kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#define ALEXNET_X86 1
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace alexnet {
namespace {

#ifdef ALEXNET_X86
void cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
#if defined(_MSC_VER)
  int r[4];
  __cpuidex(r, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) regs[i] = static_cast<unsigned>(r[i]);
#else
  __cpuid_count(leaf, subleaf, regs[0], regs[1], regs[2], regs[3]);
#endif
}

uint64_t read_xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
#endif
}
#endif

struct isa_caps {
  cpu_feature_report report;
  bool run_avx2 = false;
  bool run_avx512 = false;  // F + BW + VL + DQ, as gemm-avx512.cc is compiled with all four
  bool run_avx2_vnni = false;
  bool run_avx512_vnni = false;
};

isa_caps detect() {
  isa_caps caps;
#ifdef ALEXNET_X86
  unsigned r0[4];
  cpuid(0, 0, r0);
  const unsigned max_leaf = r0[0];
  if (max_leaf < 1) return caps;
  unsigned r1[4];
  cpuid(1, 0, r1);
  const bool osxsave = (r1[2] >> 27) & 1, avx = (r1[2] >> 28) & 1;
  caps.report.fma = (r1[2] >> 12) & 1;
  unsigned r7[4] = {0, 0, 0, 0}, r7s1[4] = {0, 0, 0, 0};
  if (max_leaf >= 7) cpuid(7, 0, r7);
  if (max_leaf >= 7 && r7[0] >= 1) cpuid(7, 1, r7s1);
  caps.report.avx512_vnni = (r7[2] >> 11) & 1;
  caps.report.avx512_bf16 = (r7s1[0] >> 5) & 1;
  caps.report.avx_vnni = (r7s1[0] >> 4) & 1;
  caps.report.avx2 = (r7[1] >> 5) & 1;
  caps.report.avx512f = (r7[1] >> 16) & 1;
  const bool avx512dq = (r7[1] >> 17) & 1, avx512bw = (r7[1] >> 30) & 1, avx512vl = (r7[1] >> 31) & 1;
  if (osxsave) {
    const uint64_t xcr0 = read_xcr0();
    caps.report.os_avx = (xcr0 & 0x6) == 0x6;            // SSE and AVX (YMM) state
    caps.report.os_avx512 = (xcr0 & 0xE6) == 0xE6;       // plus opmask, ZMM0-15 high, ZMM16-31
  }
  caps.run_avx2 = avx && caps.report.os_avx && caps.report.avx2 && caps.report.fma;
  caps.run_avx512 = caps.run_avx2 && caps.report.os_avx512 && caps.report.avx512f && avx512dq && avx512bw &&
                    avx512vl;
  caps.run_avx2_vnni = caps.run_avx2 && caps.report.avx_vnni;
  caps.run_avx512_vnni = caps.run_avx512 && caps.report.avx512_vnni;
#endif
  return caps;
}

const isa_caps& caps() {
  static const isa_caps detected = detect();
  return detected;
}

std::atomic<int>& current_isa() {
  static std::atomic<int> isa{static_cast<int>(cpu_isa_best())};
  return isa;
}

}  // namespace

const cpu_feature_report& cpu_features() { return caps().report; }

const char* cpu_isa_name(cpu_isa isa) {
  switch (isa) {
    case cpu_isa::avx512_vnni: return "avx512-vnni";
    case cpu_isa::avx2_vnni: return "avx2-vnni";
    case cpu_isa::avx512: return "avx512";
    case cpu_isa::avx2: return "avx2";
    default: return "portable";
  }
}

bool cpu_isa_parse(const char* name, cpu_isa* isa) {
  if (std::strcmp(name, "avx512-vnni") == 0) *isa = cpu_isa::avx512_vnni;
  else if (std::strcmp(name, "avx2-vnni") == 0) *isa = cpu_isa::avx2_vnni;
  else if (std::strcmp(name, "avx512") == 0) *isa = cpu_isa::avx512;
  else if (std::strcmp(name, "avx2") == 0) *isa = cpu_isa::avx2;
  else if (std::strcmp(name, "portable") == 0) *isa = cpu_isa::portable;
  else return false;
  return true;
}

bool cpu_isa_compiled(cpu_isa isa) {
  switch (isa) {
#ifdef ALEXNET_HAVE_AVX512_VNNI
    case cpu_isa::avx512_vnni: return true;
#endif
#ifdef ALEXNET_HAVE_AVX2_VNNI
    case cpu_isa::avx2_vnni: return true;
#endif
#ifdef ALEXNET_HAVE_AVX512
    case cpu_isa::avx512: return true;
#endif
#ifdef ALEXNET_HAVE_AVX2
    case cpu_isa::avx2: return true;
#endif
    case cpu_isa::portable: return true;
    default: return false;
  }
}

bool cpu_isa_supported(cpu_isa isa) {
  if (!cpu_isa_compiled(isa)) return false;
  switch (isa) {
    case cpu_isa::avx512_vnni: return caps().run_avx512_vnni;
    case cpu_isa::avx2_vnni: return caps().run_avx2_vnni;
    case cpu_isa::avx512: return caps().run_avx512;
    case cpu_isa::avx2: return caps().run_avx2;
    default: return true;
  }
}

cpu_isa cpu_isa_best() {
  for (cpu_isa isa : CPU_ISAS_BEST_FIRST)
    if (cpu_isa_supported(isa)) return isa;
  return cpu_isa::portable;
}

cpu_isa cpu_isa_current() { return static_cast<cpu_isa>(current_isa().load(std::memory_order_relaxed)); }

bool cpu_set_isa(cpu_isa isa) {
  if (!cpu_isa_supported(isa)) return false;
  current_isa().store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

}  // namespace alexnet
