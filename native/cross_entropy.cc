// DfCrossEntropy(Grad): mean over counted rows of −log softmax(logits)[label], labels = −100
// ignored. Per-row losses are summed in row order in double, so the result does not depend on
// the thread count.
#include <vector>

#include "napi_util.h"
#include "pool.h"
#include "softmax.h"

namespace df {
namespace {

constexpr int32_t kIgnore = -100;

// crossEntropy(logits, labels, rows, vocab) → mean loss; the caller has checked that every label
// is −100 or in [0, vocab).
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  const float* logits = f32(info, 0);
  const int32_t* labels = i32(info, 1);
  const int64_t rows = int_arg(info, 2), vocab = int_arg(info, 3);
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
  return Napi::Number::New(info.Env(), total / static_cast<double>(count));
}

// crossEntropyGrad(dLoss, logits, labels, dx, rows, vocab)
Napi::Value CrossEntropyGrad(const Napi::CallbackInfo& info) {
  const float d_loss = static_cast<float>(num_arg(info, 0));
  const float* logits = f32(info, 1);
  const int32_t* labels = i32(info, 2);
  float* dx = f32(info, 3);
  const int64_t rows = int_arg(info, 4), vocab = int_arg(info, 5);
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
  return info.Env().Undefined();
}

}  // namespace

void register_cross_entropy(Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "crossEntropy", CrossEntropy);
  export_fn(env, exports, "crossEntropyGrad", CrossEntropyGrad);
}

}  // namespace df
