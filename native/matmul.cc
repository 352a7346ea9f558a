// BatchMatMul: C[i] = op(A[i % batchA]) · op(B[i % batchB]) for contiguous rank-3 operands.
#include "gemm.h"
#include "ops.h"

namespace df {

void op::matmul(const float* a, const float* b, float* c, int64_t batch, int64_t batch_a, int64_t batch_b, int64_t m,
                int64_t n, int64_t k, bool ta, bool tb, bool bf16) {
  const Gemm g{ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, c, n, 0.f, bf16};
  gemm_batch(g, batch, [&](int64_t i, Gemm* item) {
    item->a = a + (i % batch_a) * m * k;
    item->b = b + (i % batch_b) * k * n;
    item->c = c + i * m * n;
  });
}

}  // namespace df
