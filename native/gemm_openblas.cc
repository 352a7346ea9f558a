// The OpenBLAS kernel, compiled only when the build found OpenBLAS (DF_HAVE_OPENBLAS). OpenBLAS
// runs single-threaded, except for the large single GEMMs that the driver in gemm.cc hands to its
// own threads; either way the count is ours (DEEPFUSION_THREADS). The two pools never compete:
// ours sleeps while OpenBLAS's run (else its workers would poll on the cores for their spin time),
// and OpenBLAS's sleep right after (the loader sets OPENBLAS_THREAD_TIMEOUT; by default they
// would spin for ~0.1 s into our next kernel).
#include "gemm.h"
#include "pool.h"

#ifdef DF_HAVE_OPENBLAS
#include <cblas.h>

#include <string>

namespace df {
namespace {

void cblas(const Gemm& g) {
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, g.a,
              static_cast<int>(g.lda), g.b, static_cast<int>(g.ldb), g.beta, g.c, static_cast<int>(g.ldc));
}

// OpenBLAS's serial and threaded drivers split a long k into blocks of its GEMM_Q but halve a
// remainder between Q and 2Q differently ((r+1)/2 vs r/2 rounded up to the unroll), and each
// block's sum is added to C in turn: the same GEMM on 1 and 2 threads could round differently.
// Handing it k in chunks of 256, then 128, then the rest, each accumulated into C in order, fixes
// the summation for every thread count on every core whose Q is at least 128 (all x86 kernels;
// SkylakeX's Q is 256, so there this is exactly its own blocking and costs nothing).
void cblas_in_k_chunks(const Gemm& g) {
  Gemm chunk = g;
  for (int64_t k0 = 0; k0 < g.k; k0 += chunk.k) {
    const int64_t left = g.k - k0;
    chunk.k = left >= 256 ? 256 : left > 128 ? 128 : left;
    chunk.a = g.trans_a ? g.a + k0 * g.lda : g.a + k0;
    chunk.b = g.trans_b ? g.b + k0 : g.b + k0 * g.ldb;
    chunk.beta = k0 == 0 ? g.beta : 1.f;
    cblas(chunk);
  }
}

}  // namespace

// Only ever called outside the pool's jobs, so no single-threaded call is running meanwhile to
// see the thread count raised.
void gemm_openblas_threaded(const Gemm& g, int threads) {
  pool_sleep();
  openblas_set_num_threads(threads);
  cblas_in_k_chunks(g);
  openblas_set_num_threads(1);
}

GemmKernel gemm_openblas() {
  static const GemmKernel kernel = [] {
    openblas_set_num_threads(1);
    return cblas_in_k_chunks;
  }();
  return kernel;
}

const char* openblas_info() {
  static const std::string info = std::string(openblas_get_config()) + " core=" + openblas_get_corename();
  return info.c_str();
}

}  // namespace df
#else
namespace df {
GemmKernel gemm_openblas() { return nullptr; }
void gemm_openblas_threaded(const Gemm&, int) {}
const char* openblas_info() { return ""; }
}  // namespace df
#endif
