// DfAttention(Grad): T5 attention for one (batch, head) at a time, from the [B, T, H·dk]
// projections: scores q·kᵀ, the masked softmax with the position bias, and the context P·v.
// The scores and, backward, dP and dS live only in a per-thread buffer the size of one head's
// [Tq, Tk] (it stays in L2); only the probabilities, which the backward pass needs, reach memory.
// Unfused, each of those [B, H, Tq, Tk] arrays is written once and read twice or three times.
//
// The arithmetic is the unfused kernels' (the same serial GEMM per head, attention_softmax_rows
// and softmax_grad_row from softmax.h, the bias gradient summed over the batch in order in
// double), so every output is the same bits as DfAttentionScores, DfAttentionSoftmax,
// DfAttentionContext and the batch sum give, on any thread count.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "gemm.h"
#include "ops.h"
#include "pool.h"
#include "simd.h"
#include "softmax.h"

namespace df {
namespace {

// The head's [n, dk] slice of a [B, n, H·dk] projection.
inline const float* slice(const float* x, int64_t b, int64_t h, int64_t n, int64_t width, int64_t dk) {
  return x + b * n * width + h * dk;
}
inline float* slice(float* x, int64_t b, int64_t h, int64_t n, int64_t width, int64_t dk) {
  return x + b * n * width + h * dk;
}

// Per-thread scratch of one head's [Tq, Tk] and two rows.
struct Scratch {
  std::vector<float> tile, row;
  std::vector<int32_t> live;
  void fit(int64_t tq, int64_t tk) {
    if (static_cast<int64_t>(tile.size()) < tq * tk) tile.resize(static_cast<size_t>(tq * tk));
    if (static_cast<int64_t>(row.size()) < tk) row.resize(static_cast<size_t>(tk)), live.resize(static_cast<size_t>(tk));
  }
};

// A head's product g with C at the head's [rows, dk] slice of a [B, rows, H·dk] output, float32
// or (out16) bf16.
Gemm into(Gemm g, float* out, uint16_t* out16, int64_t b, int64_t h, int64_t rows, int64_t width, int64_t dk) {
  if (out16) g.c16 = out16 + b * rows * width + h * dk;
  else g.c = slice(out, b, h, rows, width, dk);
  return g;
}

Scratch& scratch(int64_t tq, int64_t tk) {
  thread_local Scratch s;
  s.fit(tq, tk);
  return s;
}

}  // namespace

// With out16 the context is stored in bf16 (for the output projection's products only), rounded
// by the product's own stores as the bf16 GEMM rounds its operands.
void op::attention(const float* q, const float* k, const float* v, const float* bias, const float* mask, float* probs,
                   float* out, uint16_t* out16, int64_t batch, int64_t heads, int64_t tq, int64_t tk, int64_t dk, bool causal,
                   bool bf16) {
  if ((out && out16) || (batch * tq * heads * dk > 0 && !out && !out16)) {
    throw std::invalid_argument("give one output, out or outBf16");
  }
  if (out16 && !bf16) throw std::invalid_argument("a bf16 output needs bf16 products");
  const int64_t width = heads * dk, area = tq * tk;
  parallel_for(batch * heads, 1, [&](int64_t begin, int64_t end) {
    Scratch& s = scratch(tq, tk);
    float* tile = s.tile.data();
    for (int64_t i = begin; i < end; i++) {
      const int64_t b = i / heads, h = i % heads;
      gemm_serial({false, true, tq, tk, dk, slice(q, b, h, tq, width, dk), width, slice(k, b, h, tk, width, dk), width, tile, tk,
                   0.f, bf16});
      const LiveKeys lk = live_keys(mask ? mask + b * tk : nullptr, tk);
      attention_softmax_rows(tile, bias ? bias + h * area : nullptr, mask ? mask + b * tk : nullptr, lk, causal, 0, tq, tk, tile,
                             s.row.data(), s.live.data());
      // The context reads the probabilities from the tile (in cache); memory gets them with
      // streaming stores, for the backward pass (no read of the lines they overwrite).
      gemm_serial(into({false, false, tq, dk, tk, tile, tk, slice(v, b, h, tk, width, dk), width, nullptr, width, 0.f, bf16}, out,
                       out16, b, h, tq, width, dk));
      store_streaming(tile, probs + i * area, area);
    }
    stream_fence();
  });
}

// With bf16 outputs (q, k and v came from linear layers, whose gradient products alone read dq,
// dk and dv) each head's three gradients are stored rounded, as the context is.
void op::attentionGrad(const float* d_out, const float* q, const float* k, const float* v, const float* probs, float* dq,
                       float* dk_out, float* dv, uint16_t* dq16, uint16_t* dk16, uint16_t* dv16, float* d_bias, int64_t batch,
                       int64_t heads, int64_t tq, int64_t tk, int64_t dk, bool bf16) {
  const bool f32 = dq && dk_out && dv, half = dq16 && dk16 && dv16;
  if (batch * heads * dk * std::max(tq, tk) > 0 && f32 == half) {
    throw std::invalid_argument("give dQ, dK and dV, or all three in bf16");
  }
  if (half && !bf16) throw std::invalid_argument("bf16 outputs need bf16 products");
  const int64_t width = heads * dk, area = tq * tk;
  // One (batch, head): dP = dOut·vᵀ, dS = P ⊙ (dP − Σ dP·P) in place, then the three products.
  // Returns dS (in the thread's tile) for the bias gradient.
  auto head = [&](Scratch& s, int64_t b, int64_t h) -> const float* {
    float* ds = s.tile.data();
    const float* p = probs + (b * heads + h) * area;
    const float* dy = slice(d_out, b, h, tq, width, dk);
    gemm_serial({false, true, tq, tk, dk, dy, width, slice(v, b, h, tk, width, dk), width, ds, tk, 0.f, bf16});
    for (int64_t r = 0; r < tq; r++) softmax_grad_row(ds + r * tk, p + r * tk, ds + r * tk, tk);
    gemm_serial(into({false, false, tq, dk, tk, ds, tk, slice(k, b, h, tk, width, dk), width, nullptr, width, 0.f, bf16}, dq, dq16,
                     b, h, tq, width, dk));
    gemm_serial(into({true, false, tk, dk, tq, ds, tk, slice(q, b, h, tq, width, dk), width, nullptr, width, 0.f, bf16}, dk_out,
                     dk16, b, h, tk, width, dk));
    gemm_serial(into({true, false, tk, dk, tq, p, tk, dy, width, nullptr, width, 0.f, bf16}, dv, dv16, b, h, tk, width, dk));
    return ds;
  };
  if (!d_bias) {
    parallel_for(batch * heads, 1, [&](int64_t begin, int64_t end) {
      Scratch& s = scratch(tq, tk);
      for (int64_t i = begin; i < end; i++) head(s, i / heads, i % heads);
    });
    return;
  }
  // With a bias, a task is one head, through the batch in order: its gradient sums dS over the
  // batch in double, in order, as the column sum of the unfused path (reduce.cc) does.
  parallel_for(heads, 1, [&](int64_t begin, int64_t end) {
    Scratch& s = scratch(tq, tk);
    std::vector<double> acc(static_cast<size_t>(area));
    for (int64_t h = begin; h < end; h++) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t b = 0; b < batch; b++) {
        const float* ds = head(s, b, h);
        for (int64_t j = 0; j < area; j++) acc[j] += ds[j];
      }
      float* y = d_bias + h * area;
      for (int64_t j = 0; j < area; j++) y[j] = static_cast<float>(acc[j]);
    }
  });
}

}  // namespace df
