// DfAdamW: one AdamW step of a parameter in a single pass (see src/engine/fused/adamw.ts).
#include <array>
#include <cmath>

#include "napi_util.h"
#include "pool.h"
#include "simd.h"

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
  // One update of a float or of a vector of them: the scalar ends and the vector body of a range
  // must round alike, since where a range starts depends on the thread count.
  auto update = [&](auto grad, auto m_old, auto v_old, auto p_old) {
    const auto gi = grad * grad_scale;
    const auto mi = fb1 * m_old + gb1 * gi;
    const auto vi = fb2 * v_old + gb2 * gi * gi;
    return std::array{mi, vi, p_old * decay - step_size * mi / (vsqrt(vi) * inv_sqrt_c2 + feps)};
  };
  parallel_for(n, 1 << 15, [&](int64_t begin, int64_t end) {
    auto scalar = [&](int64_t j) {
      const auto [mi, vi, pi] = update(g[j], m[j], v[j], p[j]);
      m2[j] = mi;
      v2[j] = vi;
      p2[j] = pi;
    };
    int64_t i = begin;
    // Streaming stores need aligned vectors: peel up to p2's alignment; m2 and v2 (pool arrays of
    // the same size) then usually share it. If not, the same vectors are stored plainly.
    for (; i < end && !stream_aligned(p2 + i); i++) scalar(i);
    const bool stream = stream_aligned(m2 + i) && stream_aligned(v2 + i);
    for (; i + kVecWidth <= end; i += kVecWidth) {
      const auto [mi, vi, pi] = update(vload(g + i), vload(m + i), vload(v + i), vload(p + i));
      if (stream) {
        vstream(m2 + i, mi);
        vstream(v2 + i, vi);
        vstream(p2 + i, pi);
      } else {
        vstore(m2 + i, mi);
        vstore(v2 + i, vi);
        vstore(p2 + i, pi);
      }
    }
    if (stream) stream_fence();
    for (; i < end; i++) scalar(i);
  });
  return info.Env().Undefined();
}

}  // namespace

void register_adamw(Napi::Env env, Napi::Object exports) { export_fn(env, exports, "adamw", AdamW); }

}  // namespace df
