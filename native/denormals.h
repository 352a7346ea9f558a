// Floats below 2^-126 (denormals) flushed to zero inside our kernels: their inputs read as zero
// (DAZ) and their results stored as zero (FTZ). On the AMD Zen 5 we train on, arithmetic that
// meets them runs about 4x slower, and training makes them: Adam's moments decay geometrically
// towards them for every parameter whose gradient is (nearly) zero, an unseen token's embedding
// row, say. TensorFlow and oneDNN flush them too; what it changes is docs/architecture.md's
// "Denormals".
#pragma once

#if defined(__SSE__) || defined(__x86_64__)
#include <immintrin.h>

namespace df {

constexpr unsigned kFlushDenormals = 0x8040;  // MXCSR's FTZ (bit 15) and DAZ (bit 6)

/** Sets FTZ and DAZ on this thread for good (pool workers, which run only our kernels). */
inline void flush_denormals_always() { _mm_setcsr(_mm_getcsr() | kFlushDenormals); }

/**
 * FTZ and DAZ for one op on V8's thread, the caller's mode put back after: JavaScript's own
 * arithmetic on that thread must keep IEEE denormals.
 */
class FlushDenormals {
 public:
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushDenormals); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned saved_;
};

}  // namespace df
#else
namespace df {
inline void flush_denormals_always() {}
struct FlushDenormals {};
}  // namespace df
#endif
