// The OpenBLAS kernel, compiled only when the build found OpenBLAS (DF_HAVE_OPENBLAS). OpenBLAS
// runs single-threaded, except for the large single GEMMs that the driver in gemm.cc hands to its
// own threads; either way the count is ours (DEEPFUSION_THREADS). The two pools never compete:
// ours sleeps while OpenBLAS's run (else its workers would poll on the cores for their spin time),
// and OpenBLAS's sleep ~0.4 ms after (the loader sets OPENBLAS_THREAD_TIMEOUT; by default they
// would spin for ~0.1 s into our next kernels).
#include "gemm.h"
#include "pool.h"

#ifdef DF_HAVE_OPENBLAS
#include <cblas.h>

#include <cstring>
#include <string>
#include <vector>

namespace df {
namespace {

void cblas(const Gemm& g) {
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, g.a,
              static_cast<int>(g.lda), g.b, static_cast<int>(g.ldb), g.beta, g.c, static_cast<int>(g.ldc));
}

// OpenBLAS cuts a long k into blocks and adds each block's product to C in turn, so where the
// blocks end decides the rounding. Its serial and threaded drivers cut alike, blocks of GEMM_Q,
// except a last stretch r between Q and 2Q: the serial driver halves it rounded up to the unroll,
// the threaded one takes (r+1)/2. The same GEMM on 1 and 2 threads could then round differently.
struct KBlocking {
  int64_t q, unroll;
};

// The next block of `left` remaining k as OpenBLAS's serial or threaded driver cuts it.
int64_t next_block(int64_t left, const KBlocking& b, bool threaded) {
  if (left >= 2 * b.q) return b.q;
  if (left <= b.q) return left;
  return threaded ? (left + 1) / 2 : (left / 2 + b.unroll - 1) / b.unroll * b.unroll;
}

bool drivers_agree(int64_t k, const KBlocking& b) {
  for (int64_t done = 0; done < k;) {
    const int64_t serial = next_block(k - done, b, false);
    if (serial != next_block(k - done, b, true)) return false;
    done += serial;
  }
  return true;
}

// The next chunk of `left` remaining k: the serial driver's block when the blocking is known;
// else 256, then 128, then the rest, which both drivers cut alike on every core whose Q is ≥ 128.
int64_t next_chunk(int64_t left, const KBlocking* b) {
  if (b) return next_block(left, *b, false);
  return left >= 256 ? 256 : left > 128 ? 128 : left;
}

// Hands OpenBLAS k one chunk per call, each accumulated into C in order.
void cblas_in_chunks(const Gemm& g, const KBlocking* b) {
  Gemm chunk = g;
  for (int64_t k0 = 0; k0 < g.k; k0 += chunk.k) {
    chunk.k = next_chunk(g.k - k0, b);
    chunk.a = g.trans_a ? g.a + k0 * g.lda : g.a + k0;
    chunk.b = g.trans_b ? g.b + k0 : g.b + k0 * g.ldb;
    chunk.beta = k0 == 0 ? g.beta : 1.f;
    cblas(chunk);
  }
}

// The probes' operands: values in [-0.5, 0.5) that follow no pattern a kernel could round alike by luck.
float probe_value(int64_t i, int64_t step, int64_t modulus) {
  return static_cast<float>((i * step) % modulus) / static_cast<float>(modulus) - 0.5f;
}

// Q and the unroll are build parameters of OpenBLAS per core, not in its API. The addon knows
// SkylakeX's sgemm blocking (Q 448, unroll 16 in OpenBLAS 0.3.21) and checks it once: a probe
// product cut as assumed must give the bits of one call. Elsewhere, or if the check fails, it
// falls back to fixed chunks.
const KBlocking* known_blocking() {
  static const KBlocking skylakex{448, 16};
  static const KBlocking* known = []() -> const KBlocking* {
    if (std::strcmp(openblas_get_corename(), "SkylakeX") != 0) return nullptr;
    const int64_t n = 64, k = 1000;  // 1000 = 448 + 288 + 264: a split the serial driver rounds
    std::vector<float> a(n * k), b(k * n), whole(n * n), cut(n * n);
    for (int64_t i = 0; i < n * k; i++) {
      a[i] = probe_value(i, 7919, 1013);
      b[i] = probe_value(i, 104729, 1019);
    }
    const Gemm g{false, false, n, n, k, a.data(), k, b.data(), n, whole.data(), n, 0.f};
    cblas(g);
    Gemm h = g;
    h.c = cut.data();
    cblas_in_chunks(h, &skylakex);
    return std::memcmp(whole.data(), cut.data(), whole.size() * sizeof(float)) == 0 ? &skylakex : nullptr;
  }();
  return known;
}

// Every GEMM gets the same k blocks on any thread count. With the blocking known, OpenBLAS takes
// k whole when that is one block, or when both drivers cut it alike and the product is too large
// for OpenBLAS's small-matrix kernels (they sum k unblocked); else it gets the serial driver's
// blocks one call each. Whole calls save the thread wake-ups and C passes of extra calls: on a
// d512 T5 step's GEMMs, 3-17% per product (C microbench, 2 threads).
void cblas_fixed_k_order(const Gemm& g) {
  const KBlocking* b = known_blocking();
  if (!b) return cblas_in_chunks(g, nullptr);
  const double macs = static_cast<double>(g.m) * g.n * g.k;
  if (g.k <= b->q || (macs >= kLibraryMacs && drivers_agree(g.k, *b))) return cblas(g);
  cblas_in_chunks(g, b);
}

// Whether OpenBLAS's threaded driver gives the bits of the serial one on products like a T5 step's.
// It cuts k alike wherever cblas_fixed_k_order hands it k (above), but how it splits and edges the
// rest is the core type's: under OPENBLAS_CORETYPE=Haswell on a Zen 5, even a product whose k is one
// block (32×8192×128) differed on 2 threads in a third of its elements. Checked once, on two
// threads; where it differs, gemm.cc tiles every product across our own pool instead.
bool check_threaded_driver() {
  struct Shape { bool ta, tb; int64_t m, n, k; };
  const Shape shapes[] = {{false, true, 32, 8192, 128}, {false, false, 64, 1024, 300}, {true, true, 96, 768, 300},
                          {true, false, 100, 200, 2000}};
  for (const Shape& s : shapes) {
    std::vector<float> a(s.m * s.k), b(s.k * s.n), serial(s.m * s.n), threaded(s.m * s.n);
    for (size_t i = 0; i < a.size(); i++) a[i] = probe_value(static_cast<int64_t>(i), 7919, 1013);
    for (size_t i = 0; i < b.size(); i++) b[i] = probe_value(static_cast<int64_t>(i), 104729, 1019);
    Gemm g{s.ta, s.tb, s.m, s.n, s.k, a.data(), s.ta ? s.m : s.k, b.data(), s.tb ? s.k : s.n, serial.data(), s.n, 0.f};
    cblas_fixed_k_order(g);
    g.c = threaded.data();
    openblas_set_num_threads(2);
    cblas_fixed_k_order(g);
    openblas_set_num_threads(1);
    if (std::memcmp(serial.data(), threaded.data(), serial.size() * sizeof(float)) != 0) return false;
  }
  return true;
}

// Whether OpenBLAS sums an element of C alike wherever it sits in C. A fused model's replicas sit side
// by side in its products, and their gradients must come out equal to the last bit (docs/dynamics.md);
// under OPENBLAS_CORETYPE=Haswell on a Zen 5, rows 6–15 of every 16 and columns 8–55 of 64 rounded
// differently from the rest. Checked once on a product whose rows of A are all equal and whose
// columns of B are too, so every element of C is the same sum; where it is not, gemm.cc keeps the
// portable kernel as its default.
bool check_position_free() {
  const int64_t m = 64, n = 64, k = 32;
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (int64_t i = 0; i < m; i++) {
    for (int64_t p = 0; p < k; p++) a[i * k + p] = probe_value(p, 7919, 1013);
  }
  for (int64_t p = 0; p < k; p++) {
    for (int64_t j = 0; j < n; j++) b[p * n + j] = probe_value(p, 104729, 1019);
  }
  cblas(Gemm{false, false, m, n, k, a.data(), k, b.data(), n, c.data(), n, 0.f});
  for (const float x : c) {
    if (std::memcmp(&x, c.data(), sizeof x) != 0) return false;
  }
  return true;
}

bool threads_agree = false, position_free = false;  // set once, by gemm_openblas()

}  // namespace

bool openblas_threads_agree() { return gemm_openblas() && threads_agree; }
bool openblas_position_free() { return gemm_openblas() && position_free; }

// Only ever called outside the pool's jobs, so no single-threaded call is running meanwhile to
// see the thread count raised.
void gemm_openblas_threaded(const Gemm& g, int threads) {
  pool_sleep();
  openblas_set_num_threads(threads);
  cblas_fixed_k_order(g);
  openblas_set_num_threads(1);
}

GemmKernel gemm_openblas() {
  static const GemmKernel kernel = [] {
    openblas_set_num_threads(1);
    // Probed here, before any GEMM can raise the count (the addon calls this as it loads).
    known_blocking();
    threads_agree = check_threaded_driver();
    position_free = check_position_free();
    return cblas_fixed_k_order;
  }();
  return kernel;
}

const char* openblas_info() {
  const KBlocking* b = known_blocking();
  static const std::string info = std::string(openblas_get_config()) + " core=" + openblas_get_corename() +
                                  (b ? " k-blocks=own(Q" + std::to_string(b->q) + ")" : " k-blocks=fixed(256)") +
                                  (openblas_threads_agree() ? "" : " threads=ours") +
                                  (openblas_position_free() ? "" : " rounds-by-position");
  return info.c_str();
}

}  // namespace df
#else
namespace df {
GemmKernel gemm_openblas() { return nullptr; }
void gemm_openblas_threaded(const Gemm&, int) {}
bool openblas_threads_agree() { return false; }
bool openblas_position_free() { return false; }
const char* openblas_info() { return ""; }
}  // namespace df
#endif
