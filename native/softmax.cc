// Softmax over the last axis (tfjs's Softmax kernel).
#include "napi_util.h"
#include "pool.h"
#include "softmax.h"

namespace df {
namespace {

// softmax(logits, out, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  float* y = f32(info, 1);
  const int64_t rows = int_arg(info, 2), cols = int_arg(info, 3);
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) softmax_row(x + r * cols, y + r * cols, cols);
  });
  return info.Env().Undefined();
}

}  // namespace

void register_softmax(Napi::Env env, Napi::Object exports) { export_fn(env, exports, "softmax", Softmax); }

}  // namespace df
