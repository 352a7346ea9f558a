// Embedding lookups and their gradient: GatherV2 (rows of params picked by int32 indices) and
// UnsortedSegmentSum (rows of data added into the rows named by segment ids).
#include <algorithm>
#include <cstring>

#include "ops.h"
#include "pool.h"

namespace df {

// The caller has checked every index is in [0, axis_dim).
void op::gather(const float* params, const int32_t* idx, int64_t n, float* out, int64_t outer, int64_t axis_dim,
                int64_t inner) {
  parallel_for(outer * n, std::max<int64_t>(1, 8192 / std::max<int64_t>(inner, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const int64_t o = r / n, i = r % n;
      std::memcpy(out + r * inner, params + (o * axis_dim + idx[i]) * inner, sizeof(float) * inner);
    }
  });
}

// out[s] = Σ data[i] over ids[i] = s; ids outside [0, segments) are dropped (as in TensorFlow).
// Each task owns a block of columns, so no two tasks write the same element and the sum order is
// fixed.
void op::segmentSum(const float* data, const int32_t* ids, int64_t n, float* out, int64_t inner, int64_t segments) {
  parallel_for(segments * inner, 1 << 16, [&](int64_t begin, int64_t end) {
    std::memset(out + begin, 0, sizeof(float) * (end - begin));
  });
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(blocks, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(n * kBlock, 1)), [&](int64_t begin, int64_t end) {
    const int64_t c0 = begin * kBlock, c1 = std::min(inner, end * kBlock);
    for (int64_t i = 0; i < n; i++) {
      const int64_t s = ids[i];
      if (s < 0 || s >= segments) continue;
      const float* src = data + i * inner;
      float* dst = out + s * inner;
      for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
    }
  });
}

}  // namespace df
