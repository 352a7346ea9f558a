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
 * The largest lane, in any order: with no NaN among them the same value as taking the lanes one
 * by one (row_max's order) but for the sign of a zero max, which no softmax output can show
 * (x − (±0) differs only for x = −0, and exp(±0) is 1 either way). A NaN lane is the caller's
 * to handle.
 */
inline float lanes_max(vfloat v) {
#if defined(__AVX512F__)
  return _mm512_reduce_max_ps(reinterpret_cast<__m512>(v));
#else
  float m = v[0];
  for (int l = 1; l < kVecWidth; l++) m = v[l] > m ? v[l] : m;
  return m;
#endif
}

inline bool any_lane(vfloat v) {
  bool any = false;
  for (int l = 0; l < kVecWidth; l++) any = any || v[l] != 0.f;
  return any;
}

// y[i] = exp(y[i] − m[j]) over the whole vectors of R rows `ld` apart, interleaved; lanes[j] gets
// row j's sums per lane. kNonPositive: every m[j] is its row's finite max, so y[i] − m[j] ≤ 0 or −inf.
template <int R, bool kNonPositive>
inline void exp_rows(float* y, const float* m, int64_t n, int64_t ld, vfloat* lanes) {
  for (int j = 0; j < R; j++) lanes[j] = vfloat{};
  for (int64_t i = 0; i + kVecWidth <= n; i += kVecWidth) {
    for (int j = 0; j < R; j++) {
      const vfloat e = vexpv<kNonPositive>(vload(y + j * ld + i) - m[j]);
      vstore(y + j * ld + i, e);
      lanes[j] += e;
    }
  }
}

/**
 * y = softmax(x + bias) over R rows of n, `ld` apart (the rows of x, bias and y alike; y may alias
 * x), in three passes: the biased row with its max, exp with its sum, the scale. Each is the
 * arithmetic of the separate passes (row_max, vexp, row_sum, × 1/sum): the same operations on each
 * element, the sum's partial results per vector lane, then across lanes, then the tail, in that
 * order, and the max across lanes (lanes_max) the same value; so each row is the bits of adding
 * the bias, then the five-pass softmax. One row's passes end in chains of dependent operations
 * (the max and the sum across lanes, the reciprocal, an exp's polynomial) that leave the core
 * waiting; R rows interleave R independent chains. `stats`, if given, gets each row's max and sum.
 */
template <int R>
inline void softmax_biased_rows(const float* x, const float* bias, float* y, int64_t n, int64_t ld, SoftmaxStats* stats = nullptr) {
  float m[R];
  bool nan[R];
  for (int j = 0; j < R; j++) m[j] = -__builtin_inff(), nan[j] = false;
  int64_t i = 0;
  if (n >= kVecWidth) {
    vfloat acc[R], bad[R];
    for (int j = 0; j < R; j++) {
      acc[j] = bias ? vload(x + j * ld) + vload(bias + j * ld) : vload(x + j * ld);
      bad[j] = vfloat{};
    }
    for (; i + kVecWidth <= n; i += kVecWidth) {
      for (int j = 0; j < R; j++) {
        const vfloat v = bias ? vload(x + j * ld + i) + vload(bias + j * ld + i) : vload(x + j * ld + i);
        vstore(y + j * ld + i, v);
        acc[j] = v > acc[j] ? v : acc[j];
        bad[j] = v != v ? vsplat(1.f) : bad[j];
      }
    }
    for (int j = 0; j < R; j++) {
      m[j] = lanes_max(acc[j]);
      nan[j] = any_lane(bad[j]);
    }
  }
  const int64_t tail = i;
  for (int j = 0; j < R; j++) {
    for (i = tail; i < n; i++) {
      const float v = bias ? x[j * ld + i] + bias[j * ld + i] : x[j * ld + i];
      y[j * ld + i] = v;
      m[j] = v > m[j] ? v : m[j];
      nan[j] = nan[j] || v != v;
    }
    if (nan[j]) m[j] = __builtin_nanf("");
  }
  vfloat lanes[R];
  bool fast = true;
  for (int j = 0; j < R; j++) fast = fast && std::isfinite(m[j]);
  if (fast) {
    exp_rows<R, true>(y, m, n, ld, lanes);
  } else {
    exp_rows<R, false>(y, m, n, ld, lanes);
  }
  float inv[R];
  for (int j = 0; j < R; j++) {
    float s = hsum(lanes[j]);
    for (i = tail; i < n; i++) {
      y[j * ld + i] = vexp(y[j * ld + i] - m[j]);
      s += y[j * ld + i];
    }
    inv[j] = 1.f / s;
    if (stats) stats[j] = {m[j], s};
  }
  for (int j = 0; j < R; j++) {
    for (i = 0; i < n; i++) y[j * ld + i] *= inv[j];
  }
}

/** y = softmax(x + bias) over one row (bias may be null; y may alias x). */
inline SoftmaxStats softmax_biased_row(const float* x, const float* bias, float* y, int64_t n) {
  SoftmaxStats st;
  softmax_biased_rows<1>(x, bias, y, n, n, &st);
  return st;
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

/**
 * attention_softmax_row for the `rows` query rows from q0 of one (batch, head), `keys` apart in s,
 * bias and y. Without the causal mask every row keeps the same keys, so rows whose live keys are
 * all, or a prefix, go four at a time through softmax_biased_rows.
 */
inline void attention_softmax_rows(const float* s, const float* bias, const float* mask, const LiveKeys& lk, bool causal,
                                   int64_t q0, int64_t rows, int64_t keys, float* y, float* row, int32_t* live) {
  int64_t r = 0;
  const int64_t n = !mask || keys <= lk.ones ? keys : lk.prefix ? lk.ones : -1;  // -1: scattered
  if (!causal && n >= 0) {
    const int64_t width = n == 0 ? keys : n;
    for (; r + 4 <= rows; r += 4) {
      softmax_biased_rows<4>(s + r * keys, bias ? bias + r * keys : nullptr, y + r * keys, width, keys);
      for (int j = 0; j < 4; j++) {
        for (int64_t k = width; k < keys; k++) y[(r + j) * keys + k] = 0.f;
      }
    }
  }
  for (; r < rows; r++) {
    attention_softmax_row(s + r * keys, bias ? bias + r * keys : nullptr, mask, lk, causal, q0 + r, keys, y + r * keys, row, live);
  }
}

/** dx = y ⊙ (dy − Σ dy·y) over one row: the softmax gradient from its output. */
inline void softmax_grad_row(const float* dy, const float* y, float* dx, int64_t n) {
  const float dot = row_dot(dy, y, n);
  for (int64_t i = 0; i < n; i++) dx[i] = y[i] * (dy[i] - dot);
}

}  // namespace df
