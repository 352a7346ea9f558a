// The OpenBLAS kernel, compiled only when the build found OpenBLAS (DF_HAVE_OPENBLAS). OpenBLAS
// runs single-threaded: the driver in gemm.cc splits work across our own pool, so one thread
// count (DEEPFUSION_THREADS) governs every kernel and no second pool competes for the cores.
#include "gemm.h"

#ifdef DF_HAVE_OPENBLAS
#include <cblas.h>

#include <string>

namespace df {
namespace {

void gemm_cblas(const Gemm& g) {
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), 1.0f, g.a,
              static_cast<int>(g.lda), g.b, static_cast<int>(g.ldb), g.beta, g.c, static_cast<int>(g.ldc));
}

}  // namespace

GemmKernel gemm_openblas() {
  static const GemmKernel kernel = [] {
    openblas_set_num_threads(1);
    return gemm_cblas;
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
const char* openblas_info() { return ""; }
}  // namespace df
#endif
