// DfCrossEntropy(Grad): mean over counted rows of −log softmax(logits)[label], labels = −100
// ignored. Per-row losses are summed in row order in double, so the result does not depend on
// the thread count.
#include <vector>

#include "ops.h"
#include "pool.h"
#include "softmax.h"

namespace df {
namespace {

constexpr int32_t kIgnore = -100;

}  // namespace

// The mean loss; the caller has checked that every label is −100 or in [0, vocab).
double op::crossEntropy(const float* logits, const int32_t* labels, int64_t rows, int64_t vocab) {
  std::vector<double> losses(static_cast<size_t>(rows), 0.0);
  parallel_for(rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> e(static_cast<size_t>(vocab));
    for (int64_t r = begin; r < end; r++) {
      if (labels[r] == kIgnore) continue;
      const float* x = logits + r * vocab;
      const float m = row_max(x, vocab);
      for (int64_t v = 0; v < vocab; v++) e[v] = vexp(x[v] - m);
      losses[r] = std::log(static_cast<double>(row_sum(e.data(), vocab))) + m - x[labels[r]];
    }
  });
  double total = 0.0;
  int64_t count = 0;
  for (int64_t r = 0; r < rows; r++) {
    if (labels[r] == kIgnore) continue;
    total += losses[r];
    count++;
  }
  return total / static_cast<double>(count);
}

void op::crossEntropyGrad(double d_loss_arg, const float* logits, const int32_t* labels, float* dx, int64_t rows,
                          int64_t vocab) {
  const float d_loss = static_cast<float>(d_loss_arg);
  int64_t count = 0;
  for (int64_t r = 0; r < rows; r++) count += labels[r] != kIgnore;
  const float scale = d_loss / static_cast<float>(count);
  parallel_for(rows, 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      float* y = dx + r * vocab;
      if (labels[r] == kIgnore) {
        for (int64_t v = 0; v < vocab; v++) y[v] = 0.f;
        continue;
      }
      softmax_row(logits + r * vocab, y, vocab);
      for (int64_t v = 0; v < vocab; v++) y[v] *= scale;
      y[labels[r]] -= scale;
    }
  });
}

}  // namespace df
