// Embedding lookups and their gradient: GatherV2 (rows of params picked by int32 indices) and
// UnsortedSegmentSum (rows of data added into the rows named by segment ids).
#include <algorithm>
#include <cstring>

#include "napi_util.h"
#include "pool.h"

namespace df {
namespace {

// gather(params, indices, out, outer, axisDim, inner); the caller has checked every index is in
// [0, axisDim).
Napi::Value Gather(const Napi::CallbackInfo& info) {
  const float* params = f32(info, 0);
  const Napi::Int32Array idx_array = info[1].As<Napi::Int32Array>();
  const int32_t* idx = i32(info, 1);
  float* out = f32(info, 2);
  const int64_t outer = int_arg(info, 3), axis_dim = int_arg(info, 4), inner = int_arg(info, 5);
  const int64_t n = static_cast<int64_t>(idx_array.ElementLength());
  parallel_for(outer * n, std::max<int64_t>(1, 8192 / std::max<int64_t>(inner, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      const int64_t o = r / n, i = r % n;
      std::memcpy(out + r * inner, params + (o * axis_dim + idx[i]) * inner, sizeof(float) * inner);
    }
  });
  return info.Env().Undefined();
}

// segmentSum(data, ids, out, inner, numSegments): out[s] = Σ data[i] over ids[i] = s; ids outside
// [0, numSegments) are dropped (as in TensorFlow). Each task owns a block of columns, so no two
// tasks write the same element and the sum order is fixed.
Napi::Value SegmentSum(const Napi::CallbackInfo& info) {
  const float* data = f32(info, 0);
  const Napi::Int32Array ids_array = info[1].As<Napi::Int32Array>();
  const int32_t* ids = i32(info, 1);
  float* out = f32(info, 2);
  const int64_t inner = int_arg(info, 3), segments = int_arg(info, 4);
  const int64_t n = static_cast<int64_t>(ids_array.ElementLength());
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
  return info.Env().Undefined();
}

}  // namespace

void register_gather(Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "gather", Gather);
  export_fn(env, exports, "segmentSum", SegmentSum);
}

}  // namespace df
