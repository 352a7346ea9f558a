// DfAttentionScores / DfAttentionContext: the two attention products straight on the
// [B, T, H·dk] projections, as GEMMs over (batch, head) with a row stride of H·dk. This replaces
// splitting heads (reshape + transpose of q, k, v) and merging them back (transpose + reshape):
// four copies forward and four backward per attention, and the copies autodiff keeps.
#include "gemm.h"
#include "ops.h"

namespace df {

// out[b, h, i, j] = Σ_d q[b, i, h·dk + d] · k[b, j, h·dk + d]
void op::attentionScores(const float* q, const float* k, float* out, int64_t batch, int64_t heads, int64_t tq,
                         int64_t tk, int64_t dk, bool bf16) {
  const int64_t width = heads * dk;
  const Gemm g{false, true, tq, tk, dk, q, width, k, width, out, tk, 0.f, bf16};
  gemm_batch(g, batch * heads, [&](int64_t i, Gemm* item) {
    const int64_t b = i / heads, h = i % heads;
    item->a = q + b * tq * width + h * dk;
    item->b = k + b * tk * width + h * dk;
    item->c = out + i * tq * tk;
  });
}

// p = [B, H, rows, cols]:
//   out[b, r, h·dk + d] = Σ_c p[b, h, r, c] · x[b, c, h·dk + d]       (x [B, cols, H·dk])
//   transposeP: out[b, c, h·dk + d] = Σ_r p[b, h, r, c] · x[b, r, h·dk + d]   (x [B, rows, H·dk])
void op::attentionContext(const float* p, const float* x, float* out, int64_t batch, int64_t heads, int64_t rows,
                          int64_t cols, int64_t dk, bool tp, bool bf16) {
  const int64_t width = heads * dk;
  const int64_t m = tp ? cols : rows, k = tp ? rows : cols;
  const Gemm g{tp, false, m, dk, k, p, cols, x, width, out, width, 0.f, bf16};
  gemm_batch(g, batch * heads, [&](int64_t i, Gemm* item) {
    const int64_t b = i / heads, h = i % heads;
    item->a = p + i * rows * cols;
    item->b = x + b * k * width + h * dk;
    item->c = out + b * m * width + h * dk;
  });
}

}  // namespace df
