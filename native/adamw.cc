// DfAdamW: one AdamW step of a parameter in a single pass (see src/engine/fused/adamw.ts).
#include <array>
#include <cmath>

#include "ops.h"
#include "pool.h"
#include "simd.h"

namespace df {

void op::adamw(const float* p, int64_t n, const float* g, const float* m, const float* v, float* p2, float* m2, float* v2,
               double lr, double b1, double b2, double eps, double wd, double step, double grad_scale_arg) {
  const float grad_scale = static_cast<float>(grad_scale_arg);
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
}

}  // namespace df
