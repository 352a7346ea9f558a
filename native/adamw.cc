// DfAdamW: one AdamW step of a parameter in a single pass (see src/engine/fused/adamw.ts).
#include <cmath>

#include "napi_util.h"
#include "pool.h"

namespace df {
namespace {

// adamw(param, grad, m, v, outParam, outM, outV, lr, beta1, beta2, eps, weightDecay, step, gradScale)
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  const float* p = f32(info, 0);
  const float* g = f32(info, 1);
  const float* m = f32(info, 2);
  const float* v = f32(info, 3);
  float* p2 = f32(info, 4);
  float* m2 = f32(info, 5);
  float* v2 = f32(info, 6);
  const double lr = num_arg(info, 7), b1 = num_arg(info, 8), b2 = num_arg(info, 9), eps = num_arg(info, 10);
  const double wd = num_arg(info, 11), step = num_arg(info, 12);
  const float grad_scale = static_cast<float>(num_arg(info, 13));
  const int64_t n = static_cast<int64_t>(info[0].As<Napi::Float32Array>().ElementLength());
  // Bias corrections folded into two constants: p' = p·decay − step_size·m'/(sqrt(v')·inv_sqrt_c2 + ε).
  const float decay = static_cast<float>(1.0 - lr * wd);
  const float step_size = static_cast<float>(lr / (1.0 - std::pow(b1, step)));
  const float inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(b2, step)));
  const float fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float gb1 = static_cast<float>(1.0 - b1), gb2 = static_cast<float>(1.0 - b2), feps = static_cast<float>(eps);
  parallel_for(n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float gi = g[i] * grad_scale;
      const float mi = fb1 * m[i] + gb1 * gi;
      const float vi = fb2 * v[i] + gb2 * gi * gi;
      m2[i] = mi;
      v2[i] = vi;
      p2[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) * inv_sqrt_c2 + feps);
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void register_adamw(Napi::Env env, Napi::Object exports) { export_fn(env, exports, "adamw", AdamW); }

}  // namespace df
