// Branch-free float math that compilers vectorise inside loops (libm's expf/tanhf are scalar
// calls). Accuracy: a few ulp over the normal range; exp flushes results below 2^-126 to 0 and
// overflows to +inf above 88.37 (true overflow is at 88.72).
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

#include "simd.h"

namespace df {

inline float bits_to_float(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// 2^n for a whole-number n in range, built in the exponent bits.
inline float pow2i(float n) { return bits_to_float((static_cast<int32_t>(n) + 127) << 23); }
inline vfloat pow2i(vfloat n) {
  typedef int32_t vint __attribute__((vector_size(sizeof(vfloat))));
  const vint e = (__builtin_convertvector(n, vint) + 127) << 23;
  return reinterpret_cast<const vfloat&>(e);
}

/**
 * exp, written once for a float (vexp, which compilers vectorise in loops) and for a whole
 * vector (vexpv, for loops that also reduce what they compute in the same pass, a softmax's sum):
 * GCC's vector extension takes the same expressions, so every lane gets the bits the scalar one
 * gives. `kNonPositive`: every lane is known to be ≤ 0 or −inf (a softmax row less its finite
 * max), so the overflow and NaN cases, which could not change such a lane, are left out: a sixth
 * of the work on a CPU that runs 512-bit vectors in two halves.
 */
template <bool kNonPositive = false, class T>
inline T exp_any(T x) {
  const float hi = 88.3762626647949f, lo = -87.3365478515625f;
  const T xc = kNonPositive ? (x < lo ? T{} + lo : x) : x > hi ? T{} + hi : (x < lo ? T{} + lo : x);
  // x = n·ln2 + r with |r| ≤ ln2/2; n rounded with the 1.5·2^23 trick (no libm call).
  T n = xc * 1.44269504088896341f;
  n = (n + 12582912.f) - 12582912.f;
  T r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  T p = T{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  T y = p * pow2i(n);
  y = x < lo ? T{} : y;
  if (kNonPositive) return y;
  y = x > hi ? T{} + std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}

inline float vexp(float x) { return exp_any(x); }

template <bool kNonPositive = false>
inline vfloat vexpv(vfloat x) { return exp_any<kNonPositive>(x); }

inline float vtanh(float x) {
  const float ax = x < 0 ? -x : x;
  // Small |x|: odd polynomial (no cancellation); otherwise 1 − 2/(e^{2|x|} + 1).
  const float z = x * x;
  float poly = -5.70498872745e-3f;
  poly = poly * z + 2.06390887954e-2f;
  poly = poly * z - 5.37397155531e-2f;
  poly = poly * z + 1.33314422036e-1f;
  poly = poly * z - 3.33332819422e-1f;
  poly = poly * z * x + x;
  float big = 1.f - 2.f / (vexp(2.f * ax) + 1.f);
  big = x < 0 ? -big : big;
  const float y = ax < 0.625f ? poly : big;
  return x != x ? x : y;
}

inline float vsigmoid(float x) { return 1.f / (1.f + vexp(-x)); }

}  // namespace df
