#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "pool.h"

namespace df {

const char* openblas_info();

namespace {

GemmKernel& active() {
  static GemmKernel kernel = gemm_openblas() ? gemm_openblas() : gemm_portable;
  return kernel;
}

// Below this many multiply-adds a GEMM runs on the calling thread: waking the pool costs more.
constexpr double kParallelMacs = 1 << 17;

// C = beta·C when there is nothing to multiply (k = 0): BLAS rejects lda = 0.
void scale_c(const Gemm& g) {
  for (int64_t i = 0; i < g.m; i++) {
    float* row = g.c + i * g.ldc;
    if (g.beta == 0.f) std::memset(row, 0, sizeof(float) * g.n);
    else for (int64_t j = 0; j < g.n; j++) row[j] *= g.beta;
  }
}

void run_serial(const Gemm& g) {
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) return scale_c(g);
  if (g.bf16) return gemm_bf16_serial(g);
  active()(g);
}

// The rows [r0, r1) and columns [c0, c1) of C as a GEMM of their own.
Gemm block(const Gemm& g, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  Gemm s = g;
  s.m = r1 - r0;
  s.n = c1 - c0;
  s.a = g.trans_a ? g.a + r0 : g.a + r0 * g.lda;
  s.b = g.trans_b ? g.b + c0 * g.ldb : g.b + c0;
  s.c = g.c + r0 * g.ldc + c0;
  return s;
}

}  // namespace

bool gemm_select(const char* name) {
  if (std::strcmp(name, "portable") == 0) {
    active() = gemm_portable;
    return true;
  }
  if (std::strcmp(name, "openblas") == 0 && gemm_openblas()) {
    active() = gemm_openblas();
    return true;
  }
  return false;
}

const char* gemm_selected() { return active() == gemm_portable ? "portable" : "openblas"; }

const char* gemm_library_info() { return active() == gemm_portable ? "" : openblas_info(); }

void gemm_serial(const Gemm& g) {
  if (g.bf16 && !gemm_bf16_built()) throw std::invalid_argument("bf16 products need AVX512-BF16, which this build lacks");
  run_serial(g);
}

void gemm(const Gemm& g) {
  if (g.bf16 && !gemm_bf16_built()) throw std::invalid_argument("bf16 products need AVX512-BF16, which this build lacks");
  const int threads = pool_in_job() ? 1 : pool_threads();
  const double macs = static_cast<double>(g.m) * g.n * g.k;
  if (threads == 1 || macs < kParallelMacs) return run_serial(g);
  if (g.bf16) return g.k > 0 && g.m > 0 && g.n > 0 ? gemm_bf16_parallel(g) : run_serial(g);
  if (!g.bf16 && active() != gemm_portable && macs >= kLibraryMacs) return gemm_openblas_threaded(g, threads);
  // Tiles of C, several per thread: a thread the OS preempts (the machine is shared) then holds
  // up one small tile, not half the product. Tiles stay ≥ kMinTile on a side (multiples of 16),
  // so packing each tile's panels costs little next to its multiply.
  constexpr int64_t kMinTile = 128;
  const int64_t target = static_cast<int64_t>(threads) * 4;
  int64_t tm = g.m, tn = g.n;
  auto count = [&] { return ((g.m + tm - 1) / tm) * ((g.n + tn - 1) / tn); };
  while (count() < target) {
    const bool rows = tm >= tn ? tm >= 2 * kMinTile : tn < 2 * kMinTile;
    int64_t& side = rows ? tm : tn;
    if (side < 2 * kMinTile) break;
    side = (side / 2 + 15) / 16 * 16;
  }
  if (count() == 1) {
    // Too small to tile by kMinTile but big enough to share: one block per thread.
    if (g.m >= g.n) tm = std::max<int64_t>(16, (g.m / threads + 15) / 16 * 16);
    else tn = std::max<int64_t>(16, (g.n / threads + 15) / 16 * 16);
  }
  struct Ctx { const Gemm* g; int64_t tm, tn, cols; } ctx{&g, tm, tn, (g.n + tn - 1) / tn};
  pool_run(count(), [](void* p, int64_t t) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    const Gemm& g = *c.g;
    const int64_t r0 = (t / c.cols) * c.tm, c0 = (t % c.cols) * c.tn;
    run_serial(block(g, r0, std::min(g.m, r0 + c.tm), c0, std::min(g.n, c0 + c.tn)));
  }, &ctx);
}

void gemm_each(const Gemm& g, int64_t count, GemmItem item, const void* ctx) {
  if (g.bf16 && !gemm_bf16_built()) throw std::invalid_argument("bf16 products need AVX512-BF16, which this build lacks");
  auto at = [&](int64_t i) {
    Gemm s = g;
    item(ctx, i, &s);
    return s;
  };
  const int threads = pool_in_job() ? 1 : pool_threads();
  if (count == 1 || threads == 1 || count < threads) {
    for (int64_t i = 0; i < count; i++) gemm(at(i));
    return;
  }
  parallel_for(count, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) run_serial(at(i));
  });
}

}  // namespace df
