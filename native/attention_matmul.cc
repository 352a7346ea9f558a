// DfAttentionScores / DfAttentionContext: the two attention products straight on the
// [B, T, H·dk] projections, as GEMMs over (batch, head) with a row stride of H·dk. This replaces
// splitting heads (reshape + transpose of q, k, v) and merging them back (transpose + reshape):
// four copies forward and four backward per attention, and the copies autodiff keeps.
#include "gemm.h"
#include "napi_util.h"

namespace df {
namespace {

// attentionScores(q, k, out, batch, heads, queries, keys, dk):
// out[b, h, i, j] = Σ_d q[b, i, h·dk + d] · k[b, j, h·dk + d]
Napi::Value AttentionScores(const Napi::CallbackInfo& info) {
  const float* q = f32(info, 0);
  const float* k = f32(info, 1);
  float* out = f32(info, 2);
  const int64_t batch = int_arg(info, 3), heads = int_arg(info, 4), tq = int_arg(info, 5), tk = int_arg(info, 6);
  const int64_t dk = int_arg(info, 7), width = heads * dk;
  const Gemm g{false, true, tq, tk, dk, q, width, k, width, out, tk, 0.f};
  gemm_batch(g, batch * heads, [&](int64_t i, Gemm* item) {
    const int64_t b = i / heads, h = i % heads;
    item->a = q + b * tq * width + h * dk;
    item->b = k + b * tk * width + h * dk;
    item->c = out + i * tq * tk;
  });
  return info.Env().Undefined();
}

// attentionContext(p, x, out, batch, heads, rows, cols, dk, transposeP), p = [B, H, rows, cols]:
//   out[b, r, h·dk + d] = Σ_c p[b, h, r, c] · x[b, c, h·dk + d]       (x [B, cols, H·dk])
//   transposeP: out[b, c, h·dk + d] = Σ_r p[b, h, r, c] · x[b, r, h·dk + d]   (x [B, rows, H·dk])
Napi::Value AttentionContext(const Napi::CallbackInfo& info) {
  const float* p = f32(info, 0);
  const float* x = f32(info, 1);
  float* out = f32(info, 2);
  const int64_t batch = int_arg(info, 3), heads = int_arg(info, 4), rows = int_arg(info, 5), cols = int_arg(info, 6);
  const int64_t dk = int_arg(info, 7), width = heads * dk;
  const bool tp = bool_arg(info, 8);
  const int64_t m = tp ? cols : rows, k = tp ? rows : cols;
  const Gemm g{tp, false, m, dk, k, p, cols, x, width, out, width, 0.f};
  gemm_batch(g, batch * heads, [&](int64_t i, Gemm* item) {
    const int64_t b = i / heads, h = i % heads;
    item->a = p + i * rows * cols;
    item->b = x + b * k * width + h * dk;
    item->c = out + b * m * width + h * dk;
  });
  return info.Env().Undefined();
}

}  // namespace

void register_attention_matmul(Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "attentionScores", AttentionScores);
  export_fn(env, exports, "attentionContext", AttentionContext);
}

}  // namespace df
