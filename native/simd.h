// The widest float vector the compiler targets (GCC/Clang vector extensions, so one source serves
// AVX-512, AVX2, SSE and NEON), with unaligned load/store helpers.
#pragma once
#include <cstdint>
#include <cstring>
#if defined(__SSE__)
#include <immintrin.h>
#endif

namespace df {

#if defined(__AVX512F__)
constexpr int kVecWidth = 16;
#elif defined(__AVX__)
constexpr int kVecWidth = 8;
#else
constexpr int kVecWidth = 4;
#endif

typedef float vfloat __attribute__((vector_size(kVecWidth * sizeof(float))));

inline vfloat vload(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void vstore(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }

inline vfloat vsplat(float x) { return vfloat{} + x; }

inline float vsqrt(float x) { return __builtin_sqrtf(x); }
inline vfloat vsqrt(vfloat v) {
  for (int i = 0; i < kVecWidth; i++) v[i] = __builtin_sqrtf(v[i]);
  return v;
}

// Streaming stores write whole cache lines without reading them first: outputs that are not read
// again soon (an optimizer's new state) then cost one memory write instead of a read and a write.
inline bool stream_aligned(const float* p) { return reinterpret_cast<uintptr_t>(p) % sizeof(vfloat) == 0; }
inline void vstream(float* p, vfloat v) {
#if defined(__AVX512F__)
  _mm512_stream_ps(p, reinterpret_cast<__m512>(v));
#elif defined(__AVX__)
  _mm256_stream_ps(p, reinterpret_cast<__m256>(v));
#elif defined(__SSE__)
  _mm_stream_ps(p, reinterpret_cast<__m128>(v));
#else
  vstore(p, v);
#endif
}
/** dst = src, with streaming stores for the aligned vectors. */
inline void store_streaming(const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i < n && !stream_aligned(dst + i); i++) dst[i] = src[i];
  for (; i + kVecWidth <= n; i += kVecWidth) vstream(dst + i, vload(src + i));
  for (; i < n; i++) dst[i] = src[i];
}
/** Orders this thread's streaming stores before anything it does next (e.g. finishing a job). */
inline void stream_fence() {
#if defined(__SSE__)
  _mm_sfence();
#endif
}

inline const char* simd_name() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__AVX__)
  return "avx";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "sse/generic";
#endif
}

}  // namespace df

namespace df {

// Row reductions with one vector of partial results, so they vectorise without -ffast-math.
inline float hsum(vfloat v) {
  float s = 0.f;
  for (int i = 0; i < kVecWidth; i++) s += v[i];
  return s;
}

inline float row_sum(const float* x, int64_t n) {
  vfloat acc = vfloat{};
  int64_t i = 0;
  for (; i + kVecWidth <= n; i += kVecWidth) acc += vload(x + i);
  float s = hsum(acc);
  for (; i < n; i++) s += x[i];
  return s;
}

inline float row_dot(const float* x, const float* y, int64_t n) {
  vfloat acc = vfloat{};
  int64_t i = 0;
  for (; i + kVecWidth <= n; i += kVecWidth) acc += vload(x + i) * vload(y + i);
  float s = hsum(acc);
  for (; i < n; i++) s += x[i] * y[i];
  return s;
}

/** Largest element; NaN if any element is NaN (as tfjs's reference max). */
inline float row_max(const float* x, int64_t n) {
  float m = -__builtin_inff();
  bool nan = false;
  int64_t i = 0;
  if (n >= kVecWidth) {
    vfloat acc = vload(x);
    vfloat bad = vfloat{};
    for (; i + kVecWidth <= n; i += kVecWidth) {
      const vfloat v = vload(x + i);
      acc = v > acc ? v : acc;
      bad = v != v ? vsplat(1.f) : bad;
    }
    for (int l = 0; l < kVecWidth; l++) {
      m = acc[l] > m ? acc[l] : m;
      nan = nan || bad[l] != 0.f;
    }
  }
  for (; i < n; i++) {
    m = x[i] > m ? x[i] : m;
    nan = nan || x[i] != x[i];
  }
  return nan ? __builtin_nanf("") : m;
}

}  // namespace df
