// Single-precision GEMM on row-major matrices: C = op(A)·op(B) + beta·C, op = optional transpose.
// Two serial kernels exist (OpenBLAS, when the build found it, and the portable blocked one);
// the driver splits a GEMM or a batch of them across the thread pool and calls the active
// kernel on each block, so both kernels run under the same thread count. A GEMM marked bf16 runs
// on the bf16 kernel instead (gemm_bf16.cc): products of bf16-rounded A and B, summed in float32.
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
  bool bf16 = false;  // products in bf16 (gemm_bf16_built() must hold), sums in float32
  // A or B stored in bf16 (an activation or gradient only products read), used in place of a or
  // b with the same leading dimension: bf16 products only, and B not transposed (a linear layer's
  // weight is the Bᵀ; its input is A, or B in its weight gradient; an output's gradient A or Aᵀ).
  const uint16_t* a16 = nullptr;
  const uint16_t* b16 = nullptr;
  // C stored in bf16 instead of c (rounded as to_bf16 rounds): bf16 products, k <= 2048, beta 0.
  uint16_t* c16 = nullptr;
};

using GemmKernel = void (*)(const Gemm& g);

// From this many multiply-adds, OpenBLAS's own threads take a whole GEMM: they share each packed
// panel of B, where our tiles each pack their own; a d512 T5 step spends ~15% less time in GEMMs.
// Their split is static, though, so a core the OS takes away stalls the whole GEMM
// (docs/performance.md). Pool tiles are always smaller than this.
constexpr double kLibraryMacs = 1 << 24;

/** The portable blocked kernel (always built). */
void gemm_portable(const Gemm& g);
/** cblas_sgemm, single-threaded; null when built without OpenBLAS. */
GemmKernel gemm_openblas();
/** cblas_sgemm on `threads` of OpenBLAS's own threads (k > 0); only when gemm_openblas() is built. */
void gemm_openblas_threaded(const Gemm& g, int threads);
/** Whether gemm_openblas_threaded gives gemm_openblas's bits (checked once); false without OpenBLAS. */
bool openblas_threads_agree();
/** Whether OpenBLAS sums an element of C alike wherever it sits (checked once); false without it. */
bool openblas_position_free();

/** Whether the bf16 kernel (gemm_bf16.cc) is built: the compiler targets AVX512-BF16. */
bool gemm_bf16_built();
/** Throws unless gemm_bf16_built(): `what` (plural, e.g. "bf16 products") needs AVX512-BF16. */
void require_bf16(const char* what);
/**
 * y = x rounded to bf16 as the bf16 kernel rounds its operands while packing them (the same
 * instruction), so a product of y gives the bits a product of x gives. Needs gemm_bf16_built().
 */
void to_bf16(const float* x, uint16_t* y, int64_t n);
/** The bf16 kernel on the calling thread alone. */
void gemm_bf16_serial(const Gemm& g);
/** The bf16 kernel across the pool, B's packed panels shared (call outside pool jobs). */
void gemm_bf16_parallel(const Gemm& g);

/** Selects the kernel by name ("openblas" | "portable"); false when it is not built in. */
bool gemm_select(const char* name);
const char* gemm_selected();
/** OpenBLAS's own description (config and core) and what the addon found it does, or "" without it. */
const char* gemm_library_info();

/** One GEMM, split across the pool when large enough. */
void gemm(const Gemm& g);

/** One GEMM on the calling thread (inside a pool job): the kernel a batch item of gemm_each runs. */
void gemm_serial(const Gemm& g);

/** Sets the operand pointers of item i of a batch (shapes and leading dimensions stay g's). */
using GemmItem = void (*)(const void* ctx, int64_t i, Gemm* item);

/**
 * `count` GEMMs of g's shapes whose operands `item` places: in parallel over items when there
 * are enough of them, else one after another, each split across the pool.
 */
void gemm_each(const Gemm& g, int64_t count, GemmItem item, const void* ctx);

template <class F>
void gemm_batch(const Gemm& g, int64_t count, const F& place) {
  gemm_each(g, count, [](const void* c, int64_t i, Gemm* item) { (*static_cast<const F*>(c))(i, item); }, &place);
}

}  // namespace df
