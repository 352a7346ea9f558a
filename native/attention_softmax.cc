// DfAttentionSoftmax(Grad): softmax(scores + bias + mask) over keys for scores [B, H, Tq, Tk],
// bias [H, Tq, Tk] (shared by the batch), a key padding mask [B, Tk] (1 attend, 0 pad) and a
// causal flag. Masked keys get probability exactly 0 whenever the row has an unmasked key, which
// is what adding −1e9 gives in exact arithmetic; a fully masked row is the softmax of
// scores + bias (the −1e9 shift cancels), as the float64 reference computes.
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
    for (int64_t r = begin; r < end; r++) {
      const int64_t q = r % queries, h = (r / queries) % heads, b = r / (queries * heads);
      const float* s = scores + r * keys;
      const float* br = bias ? bias + (h * queries + q) * keys : nullptr;
      const float* mr = mask ? mask + b * keys : nullptr;
      float* y = out + r * keys;
      int64_t n = 0;
      for (int64_t k = 0; k < keys; k++) {
        const bool masked = (mr && mr[k] == 0.f) || (causal && k > q);
        if (!masked) live[n++] = static_cast<int32_t>(k);
      }
      if (n == keys || n == 0) {
        for (int64_t k = 0; k < keys; k++) row[k] = br ? s[k] + br[k] : s[k];
        softmax_row(row.data(), y, keys);
        continue;
      }
      for (int64_t j = 0; j < n; j++) row[j] = br ? s[live[j]] + br[live[j]] : s[live[j]];
      softmax_row(row.data(), row.data(), n);
      for (int64_t k = 0; k < keys; k++) y[k] = 0.f;
      for (int64_t j = 0; j < n; j++) y[live[j]] = row[j];
    }
  });
}

void op::attentionSoftmaxGrad(const float* dy, const float* probs, float* dx, int64_t rows, int64_t keys) {
  parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(keys, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) softmax_grad_row(dy + r * keys, probs + r * keys, dx + r * keys, keys);
  });
}

}  // namespace df
