// DfAttentionSoftmax(Grad): softmax(scores + bias + mask) over keys for scores [B, H, Tq, Tk],
// bias [H, Tq, Tk] (shared by the batch), a key padding mask [B, Tk] (1 attend, 0 pad) and a
// causal flag, row by row as attention_softmax_row (softmax.h) computes it.
#include <vector>

#include "ops.h"
#include "pool.h"
#include "softmax.h"

namespace df {

void op::attentionSoftmax(const float* scores, const float* bias, const float* mask, float* out, int64_t batch,
                          int64_t heads, int64_t queries, int64_t keys, bool causal) {
  const int64_t rows = batch * heads * queries;
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(keys, 1)), [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(keys));
    std::vector<int32_t> live(static_cast<size_t>(keys));
    // The chunk's rows, a (batch, head) at a time.
    for (int64_t r = begin; r < end;) {
      const int64_t q = r % queries, h = (r / queries) % heads, b = r / (queries * heads);
      const int64_t rows = std::min(end - r, queries - q);
      const float* m = mask ? mask + b * keys : nullptr;
      attention_softmax_rows(scores + r * keys, bias ? bias + (h * queries + q) * keys : nullptr, m, live_keys(m, keys), causal, q, rows,
                             keys, out + r * keys, row.data(), live.data());
      r += rows;
    }
  });
}

void op::attentionSoftmaxGrad(const float* dy, const float* probs, float* dx, int64_t rows, int64_t keys) {
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(keys, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) softmax_grad_row(dy + r * keys, probs + r * keys, dx + r * keys, keys);
  });
}

}  // namespace df
