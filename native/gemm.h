// Single-precision GEMM on row-major matrices: C = op(A)·op(B) + beta·C, op = optional transpose.
// Two serial kernels exist (OpenBLAS, when the build found it, and the portable blocked one);
// the driver splits a GEMM or a batch of them across the thread pool and calls the active
// kernel on each block, so both kernels run under the same thread count.
#pragma once
#include <cstdint>

namespace df {

struct Gemm {
  bool trans_a, trans_b;
  int64_t m, n, k;
  const float* a; int64_t lda;
  const float* b; int64_t ldb;
  float* c; int64_t ldc;
  float beta;  // 0: C is overwritten and never read (it may hold garbage)
};

using GemmKernel = void (*)(const Gemm& g);

/** The portable blocked kernel (always built). */
void gemm_portable(const Gemm& g);
/** cblas_sgemm, single-threaded; null when built without OpenBLAS. */
GemmKernel gemm_openblas();

/** Selects the kernel by name ("openblas" | "portable"); false when it is not built in. */
bool gemm_select(const char* name);
const char* gemm_selected();
/** The BLAS library's own description (OpenBLAS config and core), or "" for the portable kernel. */
const char* gemm_library_info();

/** One GEMM, split across the pool when large enough. */
void gemm(const Gemm& g);

/**
 * `batch` GEMMs that share shapes; operand i uses A + (i % batch_a)·stride_a and
 * B + (i % batch_b)·stride_b (tfjs's broadcasting rule), C + i·stride_c.
 */
void gemm_batched(const Gemm& g, int64_t batch, int64_t batch_a, int64_t stride_a, int64_t batch_b,
                  int64_t stride_b, int64_t stride_c);

}  // namespace df
