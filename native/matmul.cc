// BatchMatMul: C[i] = op(A[i % batchA]) · op(B[i % batchB]) for contiguous rank-3 operands.
#include <stdexcept>

#include "gemm.h"
#include "ops.h"

namespace df {

void op::matmul(const float* a, const float* b, float* c, int64_t batch, int64_t batch_a, int64_t batch_b, int64_t m,
                int64_t n, int64_t k, bool ta, bool tb, bool bf16, const uint16_t* a16, const uint16_t* b16) {
  // An empty typed array arrives as a null pointer, so only an operand with elements must be given.
  const bool need_a = batch_a * m * k > 0, need_b = batch_b * k * n > 0;
  if ((a && a16) || (b && b16) || (need_a && !a && !a16) || (need_b && !b && !b16)) {
    throw std::invalid_argument("give each operand once, as a or aBf16 and b or bBf16");
  }
  if ((a16 || b16) && !bf16) throw std::invalid_argument("an operand stored in bf16 needs bf16 products");
  if (b16 && tb) throw std::invalid_argument("a B stored in bf16 cannot be transposed");
  Gemm g{ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, c, n, 0.f, bf16};
  g.a16 = a16;
  g.b16 = b16;
  gemm_batch(g, batch, [&](int64_t i, Gemm* item) {
    if (a16) item->a16 = a16 + (i % batch_a) * m * k;
    else item->a = a ? a + (i % batch_a) * m * k : nullptr;
    if (b16) item->b16 = b16 + (i % batch_b) * k * n;
    else item->b = b ? b + (i % batch_b) * k * n : nullptr;
    item->c = c + i * m * n;
  });
}

}  // namespace df
