// The machine's arithmetic peak, the denominator of MFU: float32 fused multiply-adds and bf16
// dot products (vdpbf16ps) from registers alone, on every thread of the pool at once. Enough
// independent accumulators hide the instructions' latency, so the loop is bound by how many
// vector instructions the core issues per cycle. Each thread times itself in its own CPU time,
// so a thread the OS preempts (on a shared machine) does not lower the peak.
#include <time.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "ops.h"
#include "pool.h"
#include "simd.h"
#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

namespace df {
namespace {

double thread_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

constexpr int kAccumulators = 16;
constexpr int64_t kChunk = 1 << 20;  // iterations between clock reads

// FLOPs per second of one thread: rounds of kChunk iterations until `seconds` of CPU time.
template <class Round>
double rate(double seconds, double flops_per_round, const Round& round) {
  const double t0 = thread_cpu_seconds();
  double flops = 0, elapsed = 0;
  do {
    round();
    flops += flops_per_round;
    elapsed = thread_cpu_seconds() - t0;
  } while (elapsed < seconds);
  return flops / elapsed;
}

double fp32_rate(double seconds) {
  vfloat acc[kAccumulators];
  for (int i = 0; i < kAccumulators; i++) acc[i] = vsplat(0.001f * static_cast<float>(i));
  vfloat a = vsplat(0.999f), b = vsplat(1e-4f);
  const double r = rate(seconds, 2.0 * kVecWidth * kAccumulators * kChunk, [&] {
    for (int64_t it = 0; it < kChunk; it++) {
#pragma GCC unroll 16
      for (int i = 0; i < kAccumulators; i++) acc[i] = acc[i] * a + b;
      __asm__ volatile("" : "+x"(a));  // a is opaque: the loop cannot be folded
    }
  });
  float sink = 0;
  for (int i = 0; i < kAccumulators; i++) sink += acc[i][0];
  __asm__ volatile("" : : "x"(sink));
  return r;
}

double bf16_rate(double seconds) {
#if defined(__AVX512BF16__)
  __m512 acc[kAccumulators];
  for (int i = 0; i < kAccumulators; i++) acc[i] = _mm512_setzero_ps();
  __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3a80);
  // 16 lanes × 2 products, a multiply and an add each.
  const double r = rate(seconds, 64.0 * kAccumulators * kChunk, [&] {
    for (int64_t it = 0; it < kChunk; it++) {
#pragma GCC unroll 16
      for (int i = 0; i < kAccumulators; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
      __asm__ volatile("" : "+v"(x));
    }
  });
  float sink = 0;
  for (int i = 0; i < kAccumulators; i++) sink += _mm512_reduce_add_ps(acc[i]);
  __asm__ volatile("" : : "x"(sink));
  return r;
#else
  (void)seconds;
  throw std::invalid_argument("bf16 dot products need AVX512-BF16, which this build lacks");
#endif
}

}  // namespace

double op::peakGflops(const std::string& kind, double seconds) {
  if (kind != "fp32" && kind != "bf16") throw std::invalid_argument("kind must be \"fp32\" or \"bf16\", got \"" + kind + "\"");
  if (kind == "bf16") bf16_rate(0);  // throws where the build has no bf16 instructions
  const int threads = pool_threads();
  std::vector<double> rates(threads, 0.0);
  struct Ctx { const std::string* kind; double seconds; double* rates; } ctx{&kind, seconds, rates.data()};
  pool_run(threads, [](void* p, int64_t t) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    c.rates[t] = *c.kind == "fp32" ? fp32_rate(c.seconds) : bf16_rate(c.seconds);
  }, &ctx);
  double total = 0;
  for (double r : rates) total += r;
  return total / 1e9;
}

}  // namespace df
