// Transpose by an arbitrary permutation. JavaScript merges axes that stay adjacent, so most calls
// here are either "copy rows" (the last axis stays last, e.g. splitting attention heads) or a
// batch of 2-D transposes, done in cache-sized tiles.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "ops.h"
#include "pool.h"

namespace df {
namespace {

constexpr int kMaxRank = 16;
constexpr int64_t kTile = 32;

struct Plan {
  int rank;
  int64_t out_dims[kMaxRank];
  int64_t in_stride_of_out[kMaxRank];  // input stride of each output axis
  int64_t out_strides[kMaxRank];
};

// Input offset of the output position given by `index` over the output axes listed in `axes`.
int64_t input_offset(const Plan& p, const int* axes, int count, int64_t index, int64_t* out_offset) {
  int64_t in = 0, out = 0;
  for (int i = count - 1; i >= 0; i--) {
    const int ax = axes[i];
    const int64_t v = index % p.out_dims[ax];
    index /= p.out_dims[ax];
    in += v * p.in_stride_of_out[ax];
    out += v * p.out_strides[ax];
  }
  *out_offset = out;
  return in;
}

void copy_rows(const Plan& p, const float* x, float* y) {
  const int last = p.rank - 1;
  const int64_t width = p.out_dims[last];
  int axes[kMaxRank];
  for (int i = 0; i < last; i++) axes[i] = i;
  int64_t rows = 1;
  for (int i = 0; i < last; i++) rows *= p.out_dims[i];
  parallel_for(rows, std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(width, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; r++) {
      int64_t out_off;
      const int64_t in_off = input_offset(p, axes, last, r, &out_off);
      std::memcpy(y + out_off, x + in_off, sizeof(float) * width);
    }
  });
}

// The output axis q that is contiguous in the input pairs with the output's last axis: each
// (rest, tile) task transposes a kTile × kTile block between them.
void tiled(const Plan& p, int q, const float* x, float* y) {
  const int last = p.rank - 1;
  int axes[kMaxRank];
  int count = 0;
  for (int i = 0; i < last; i++) if (i != q) axes[count++] = i;
  int64_t rest = 1;
  for (int i = 0; i < count; i++) rest *= p.out_dims[axes[i]];
  const int64_t na = p.out_dims[q], nb = p.out_dims[last];
  const int64_t ta = (na + kTile - 1) / kTile, tb = (nb + kTile - 1) / kTile;
  const int64_t in_b = p.in_stride_of_out[last], out_a = p.out_strides[q];
  parallel_for(rest * ta * tb, 4, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; t++) {
      const int64_t r = t / (ta * tb), a0 = (t / tb) % ta * kTile, b0 = t % tb * kTile;
      int64_t out_off;
      const int64_t in_off = input_offset(p, axes, count, r, &out_off);
      const int64_t a1 = std::min(na, a0 + kTile), b1 = std::min(nb, b0 + kTile);
      for (int64_t a = a0; a < a1; a++) {
        const float* src = x + in_off + a;
        float* dst = y + out_off + a * out_a;
        for (int64_t b = b0; b < b1; b++) dst[b] = src[b * in_b];
      }
    }
  });
}

}  // namespace

// raw = layout [rank, inDims…, perm…].
void op::transpose(const float* x, float* y, const double* raw) {
  Plan p;
  p.rank = static_cast<int>(raw[0]);
  if (p.rank < 1 || p.rank > kMaxRank) throw std::range_error("rank must be in [1, 16]");
  int64_t in_dims[kMaxRank], in_strides[kMaxRank];
  for (int i = 0; i < p.rank; i++) in_dims[i] = static_cast<int64_t>(raw[1 + i]);
  in_strides[p.rank - 1] = 1;
  for (int i = p.rank - 2; i >= 0; i--) in_strides[i] = in_strides[i + 1] * in_dims[i + 1];
  int q = -1;
  for (int i = 0; i < p.rank; i++) {
    const int src = static_cast<int>(raw[1 + p.rank + i]);
    p.out_dims[i] = in_dims[src];
    p.in_stride_of_out[i] = in_strides[src];
    if (src == p.rank - 1) q = i;
  }
  p.out_strides[p.rank - 1] = 1;
  for (int i = p.rank - 2; i >= 0; i--) p.out_strides[i] = p.out_strides[i + 1] * p.out_dims[i + 1];
  if (q == p.rank - 1) copy_rows(p, x, y);
  else tiled(p, q, x, y);
}

}  // namespace df
