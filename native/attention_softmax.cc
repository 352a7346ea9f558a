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
    int64_t b_live = -1;
    LiveKeys lk;
    for (int64_t r = begin; r < end; r++) {
      const int64_t q = r % queries, h = (r / queries) % heads, b = r / (queries * heads);
      if (b != b_live) lk = live_keys(mask ? mask + b * keys : nullptr, keys), b_live = b;
      attention_softmax_row(scores + r * keys, bias ? bias + (h * queries + q) * keys : nullptr, mask ? mask + b * keys : nullptr,
                            lk, causal, q, keys, out + r * keys, row.data(), live.data());
    }
  });
}

void op::attentionSoftmaxGrad(const float* dy, const float* probs, float* dx, int64_t rows, int64_t keys) {
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(keys, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) softmax_grad_row(dy + r * keys, probs + r * keys, dx + r * keys, keys);
  });
}

}  // namespace df
