// Row softmax shared by the Softmax, attention and cross-entropy kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

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

/**
 * One row of T5's attention softmax: y = softmax(s + bias + mask) over `keys`, where the mask
 * drops keys whose padding mask is 0 or that lie after query `q` (causal). Masked keys get exactly
 * 0 when the row has an unmasked key (what adding −1e9 gives in exact arithmetic); a fully
 * masked row is the softmax of s + bias. `row` and `live` hold `keys` elements of scratch.
 */
inline void attention_softmax_row(const float* s, const float* bias, const float* mask, bool causal, int64_t q, int64_t keys,
                                  float* y, float* row, int32_t* live) {
  // The live keys: all, a prefix (causal, or padding at the end), or a scattered set.
  int64_t n = causal ? std::min(q + 1, keys) : keys;
  bool prefix = true;
  if (mask) {
    int64_t m = 0;
    for (int64_t k = 0; k < n; k++) {
      if (mask[k] != 0.f) {
        prefix = prefix && m == k;
        live[m++] = static_cast<int32_t>(k);
      }
    }
    n = m;
  }
  if (n == keys || n == 0) {
    for (int64_t k = 0; k < keys; k++) row[k] = bias ? s[k] + bias[k] : s[k];
    softmax_row(row, y, keys);
    return;
  }
  if (prefix) {
    for (int64_t k = 0; k < n; k++) row[k] = bias ? s[k] + bias[k] : s[k];
    softmax_row(row, y, n);
  } else {
    for (int64_t j = 0; j < n; j++) row[j] = bias ? s[live[j]] + bias[live[j]] : s[live[j]];
    softmax_row(row, row, n);
    for (int64_t k = 0; k < keys; k++) y[k] = 0.f;
    for (int64_t j = 0; j < n; j++) y[live[j]] = row[j];
    return;
  }
  for (int64_t k = n; k < keys; k++) y[k] = 0.f;
}

/** dx = y ⊙ (dy − Σ dy·y) over one row: the softmax gradient from its output. */
inline void softmax_grad_row(const float* dy, const float* y, float* dx, int64_t n) {
  const float dot = row_dot(dy, y, n);
  for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

}  // namespace df
