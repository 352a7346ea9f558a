// Row softmax shared by the Softmax, attention and cross-entropy kernels.
#pragma once
#include <cmath>

#include "simd.h"
#include "vmath.h"

namespace df {

/** y = softmax(x) over one row; returns log Σ exp(x) (for cross-entropy). y may alias x. */
inline float softmax_row(const float* x, float* y, int64_t n) {
  const float m = row_max(x, n);
  for (int64_t i = 0; i < n; i++) y[i] = vexp(x[i] - m);
  const float s = row_sum(y, n);
  const float inv = 1.f / s;
  for (int64_t i = 0; i < n; i++) y[i] *= inv;
  return m + std::log(s);
}

/** dx = y ⊙ (dy − Σ dy·y) over one row: the softmax gradient from its output. */
inline void softmax_grad_row(const float* dy, const float* y, float* dx, int64_t n) {
  const float dot = row_dot(dy, y, n);
  for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

}  // namespace df
