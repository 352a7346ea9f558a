#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "pool.h"

namespace df {

const char* openblas_info();

namespace {

// OpenBLAS by default, unless its core type rounds an element of C by where it sits: it stays
// selectable (DEEPFUSION_GEMM=openblas), but fused replicas would no longer train alike.
GemmKernel& active() {
  static GemmKernel kernel = openblas_position_free() ? gemm_openblas() : gemm_portable;
  return kernel;
}

// Below this many multiply-adds a GEMM runs on the calling thread: waking the pool costs more.
constexpr double kParallelMacs = 1 << 17;

// C = beta·C when there is nothing to multiply (k = 0): BLAS rejects lda = 0.
void scale_c(const Gemm& g) {
  if (g.c16) {
    for (int64_t i = 0; i < g.m; i++) std::memset(g.c16 + i * g.ldc, 0, sizeof(uint16_t) * g.n);
    return;
  }
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

const char* gemm_library_info() { return gemm_openblas() ? openblas_info() : ""; }

namespace {

// How a GEMM is cut into tiles of C: a function of its shape only, never of the thread count.
// OpenBLAS's kernels round an element of C differently depending on the width of the block it
// is computed in (its small-matrix and edge kernels; measured on the Cooperlake/SkylakeX
// kernels), so tiles that followed the thread count made results depend on it
// (docs/architecture.md#determinism). Tiles stay ≥ kMinTile on a side (multiples of 16), so
// packing each tile's panels costs little next to its multiply; there are up to kTiles of them,
// several per thread on small machines, so a thread the OS preempts (the machine is shared)
// holds up one small tile, not half the product.
struct Tiles {
  int64_t tm, tn;
  int64_t rows(const Gemm& g) const { return (g.m + tm - 1) / tm; }
  int64_t cols(const Gemm& g) const { return (g.n + tn - 1) / tn; }
  int64_t count(const Gemm& g) const { return rows(g) * cols(g); }
};

Tiles tiles_of(const Gemm& g) {
  constexpr int64_t kMinTile = 128, kTiles = 8, kSmallBlocks = 4;
  Tiles t{g.m, g.n};
  while (t.count(g) < kTiles) {
    const bool rows = t.tm >= t.tn ? t.tm >= 2 * kMinTile : t.tn < 2 * kMinTile;
    int64_t& side = rows ? t.tm : t.tn;
    if (side < 2 * kMinTile) break;
    side = (side / 2 + 15) / 16 * 16;
  }
  if (t.count(g) == 1) {
    // Too small to tile by kMinTile but big enough to share: a few blocks of the longer side.
    if (g.m >= g.n) t.tm = std::max<int64_t>(16, (g.m / kSmallBlocks + 15) / 16 * 16);
    else t.tn = std::max<int64_t>(16, (g.n / kSmallBlocks + 15) / 16 * 16);
  }
  return t;
}

void run_tile(const Gemm& g, const Tiles& t, int64_t i) {
  const int64_t r0 = (i / t.cols(g)) * t.tm, c0 = (i % t.cols(g)) * t.tn;
  run_serial(block(g, r0, std::min(g.m, r0 + t.tm), c0, std::min(g.n, c0 + t.tn)));
}

bool library_sized(const Gemm& g) {
  return active() != gemm_portable && static_cast<double>(g.m) * g.n * g.k >= kLibraryMacs && openblas_threads_agree();
}

// The GEMM on the calling thread, cut exactly as gemm() cuts it on any number of threads. bf16
// products are not cut: their kernel sums every element in the same order whatever the rows and
// threads (native/gemm_bf16.cc), and cutting would pack B once per tile.
void gemm_inline(const Gemm& g) {
  if (g.bf16 || static_cast<double>(g.m) * g.n * g.k < kParallelMacs || library_sized(g)) return run_serial(g);
  const Tiles t = tiles_of(g);
  for (int64_t i = 0; i < t.count(g); i++) run_tile(g, t, i);
}

}  // namespace

void require_bf16(const char* what) {
  if (!gemm_bf16_built()) throw std::invalid_argument(std::string(what) + " need AVX512-BF16, which this build lacks");
}

// What the float32 kernels cannot do: bf16 products, operands or C stored in bf16. (Only the bf16
// kernel's GEMMs carry bf16 operands, and it is never cut into block()s.)
void check_kernel(const Gemm& g) {
  if (g.bf16) require_bf16("bf16 products");
  if (!g.bf16 && (g.a16 || g.b16 || g.c16)) throw std::invalid_argument("operands stored in bf16 need bf16 products");
}

void gemm_serial(const Gemm& g) {
  check_kernel(g);
  run_serial(g);
}

void gemm(const Gemm& g) {
  check_kernel(g);
  const int threads = pool_in_job() ? 1 : pool_threads();
  if (threads == 1 || static_cast<double>(g.m) * g.n * g.k < kParallelMacs) return gemm_inline(g);
  if (g.bf16) return g.k > 0 && g.m > 0 && g.n > 0 ? gemm_bf16_parallel(g) : run_serial(g);
  // OpenBLAS's serial and threaded drivers give the same bits here (gemm_openblas.cc checks).
  if (library_sized(g)) return gemm_openblas_threaded(g, threads);
  struct Ctx { const Gemm* g; Tiles t; } ctx{&g, tiles_of(g)};
  pool_run(ctx.t.count(g), [](void* p, int64_t i) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    run_tile(*c.g, c.t, i);
  }, &ctx);
}

void gemm_each(const Gemm& g, int64_t count, GemmItem item, const void* ctx) {
  check_kernel(g);
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
    for (int64_t i = begin; i < end; i++) gemm_inline(at(i));
  });
}

}  // namespace df
