// Row softmax shared by the Softmax, attention and cross-entropy kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "simd.h"
#include "vmath.h"

namespace df {

/** A softmax row's max and Σ exp(x − max). */
struct SoftmaxStats {
  float max, sum;
};

/**
 * y = softmax(x + bias) over one row (bias may be null; y may alias x). Three passes instead of
 * five: the biased row with its max, exp with its sum, the scale. Each is the arithmetic of the
 * separate passes (row_max, vexp, row_sum, × 1/sum): the same operations on each element, the
 * sum's partial results per vector lane, then across lanes, then the tail, in that order. So the
 * bits are those of adding the bias, then softmax_row.
 */
inline SoftmaxStats softmax_biased_row(const float* x, const float* bias, float* y, int64_t n) {
  // The biased row and its max, as row_max takes it (NaN when any element is NaN).
  float m = -__builtin_inff();
  bool nan = false;
  int64_t i = 0;
  if (n >= kVecWidth) {
    vfloat acc = bias ? vload(x) + vload(bias) : vload(x);
    vfloat bad = vfloat{};
    for (; i + kVecWidth <= n; i += kVecWidth) {
      const vfloat v = bias ? vload(x + i) + vload(bias + i) : vload(x + i);
      vstore(y + i, v);
      acc = v > acc ? v : acc;
      bad = v != v ? vsplat(1.f) : bad;
    }
    for (int l = 0; l < kVecWidth; l++) {
      m = acc[l] > m ? acc[l] : m;
      nan = nan || bad[l] != 0.f;
    }
  }
  for (; i < n; i++) {
    const float v = bias ? x[i] + bias[i] : x[i];
    y[i] = v;
    m = v > m ? v : m;
    nan = nan || v != v;
  }
  if (nan) m = __builtin_nanf("");
  // exp and its sum, as row_sum adds: lanes first, then across them, then the tail.
  vfloat lanes = vfloat{};
  i = 0;
  for (; i + kVecWidth <= n; i += kVecWidth) {
    const vfloat e = vexpv(vload(y + i) - m);
    vstore(y + i, e);
    lanes += e;
  }
  float s = hsum(lanes);
  for (; i < n; i++) {
    y[i] = vexp(y[i] - m);
    s += y[i];
  }
  const float inv = 1.f / s;
  for (i = 0; i < n; i++) y[i] *= inv;
  return {m, s};
}

/** y = softmax(x) over one row; returns log Σ exp(x) (for cross-entropy). y may alias x. */
inline float softmax_row(const float* x, float* y, int64_t n) {
  const SoftmaxStats st = softmax_biased_row(x, nullptr, y, n);
  return st.max + std::log(st.sum);
}

/**
 * What one batch item's key padding mask leaves live: the leading run of `ones` unmasked keys,
 * and whether every key after it is masked (`prefix`, the usual padding at the end). Taken once
 * per mask rather than scanned again for every query row.
 */
struct LiveKeys {
  int64_t ones = 0;
  bool prefix = true;
};

inline LiveKeys live_keys(const float* mask, int64_t keys) {
  LiveKeys lk;
  if (!mask) {
    lk.ones = keys;
    return lk;
  }
  while (lk.ones < keys && mask[lk.ones] != 0.f) lk.ones++;
  for (int64_t k = lk.ones; k < keys && lk.prefix; k++) lk.prefix = mask[k] == 0.f;
  return lk;
}

/**
 * One row of T5's attention softmax: y = softmax(s + bias + mask) over `keys`, where the mask
 * drops keys whose padding mask is 0 or that lie after query `q` (causal). Masked keys get exactly
 * 0 when the row has an unmasked key (what adding −1e9 gives in exact arithmetic); a fully
 * masked row is the softmax of s + bias. `lk` is live_keys(mask, keys); `row` and `live` hold
 * `keys` elements of scratch. y may alias s.
 */
inline void attention_softmax_row(const float* s, const float* bias, const float* mask, const LiveKeys& lk, bool causal,
                                  int64_t q, int64_t keys, float* y, float* row, int32_t* live) {
  // The live keys: all, a prefix (causal, or padding at the end), or a scattered set.
  const int64_t limit = causal ? std::min(q + 1, keys) : keys;
  int64_t n = limit;
  bool prefix = true;
  if (mask && limit > lk.ones) {
    if (lk.prefix) {
      n = lk.ones;
    } else {
      int64_t m = 0;
      for (int64_t k = 0; k < limit; k++) {
        if (mask[k] != 0.f) {
          prefix = prefix && m == k;
          live[m++] = static_cast<int32_t>(k);
        }
      }
      n = m;
    }
  }
  if (n == keys || n == 0) {
    softmax_biased_row(s, bias, y, keys);
    return;
  }
  if (prefix) {
    softmax_biased_row(s, bias, y, n);
    for (int64_t k = n; k < keys; k++) y[k] = 0.f;
    return;
  }
  for (int64_t j = 0; j < n; j++) row[j] = bias ? s[live[j]] + bias[live[j]] : s[live[j]];
  softmax_row(row, row, n);
  for (int64_t k = 0; k < keys; k++) y[k] = 0.f;
  for (int64_t j = 0; j < n; j++) y[live[j]] = row[j];
}

/** dx = y ⊙ (dy − Σ dy·y) over one row: the softmax gradient from its output. */
inline void softmax_grad_row(const float* dy, const float* y, float* dx, int64_t n) {
  const float dot = row_dot(dy, y, n);
  for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

}  // namespace df
