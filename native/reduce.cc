// Reductions over the middle axis of x viewed as [outer, n, inner] (JavaScript transposes the
// reduced axes together first when they are not adjacent). Sums accumulate in double, as tfjs's
// reference does with JavaScript numbers; max/min propagate NaN like the reference.
#include <iterator>
#include <vector>

#include "ops.h"
#include "pool.h"

namespace df {
namespace {

enum Op { kSum = 0, kMean = 1, kMax = 2, kMin = 3, kProd = 4 };
const char* const kReduceOps[] = {"sum", "mean", "max", "min", "prod"};

constexpr int64_t kGrain = 1 << 14;

template <Op op>
inline double combine(double acc, float v) {
  if constexpr (op == kSum || op == kMean) return acc + v;
  if constexpr (op == kProd) return acc * v;
  if constexpr (op == kMax) return v != v || v > acc ? v : acc;
  return v != v || v < acc ? v : acc;
}

template <Op op>
inline double identity_or_first(const float* first) {
  if constexpr (op == kSum || op == kMean) return 0.0;
  if constexpr (op == kProd) return 1.0;
  return *first;
}

// inner == 1: each output is a reduction over a contiguous row.
template <Op op>
void reduce_rows(const float* x, float* out, int64_t outer, int64_t n) {
  const double scale = op == kMean ? 1.0 / static_cast<double>(n) : 1.0;
  parallel_for(outer, std::max<int64_t>(1, kGrain / std::max<int64_t>(n, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; o++) {
      const float* row = x + o * n;
      if constexpr (op == kSum || op == kMean) {
        // Four independent double accumulators let the loop vectorise without reassociating.
        double s[4] = {0, 0, 0, 0};
        int64_t r = 0;
        for (; r + 4 <= n; r += 4) {
          s[0] += row[r];
          s[1] += row[r + 1];
          s[2] += row[r + 2];
          s[3] += row[r + 3];
        }
        for (; r < n; r++) s[0] += row[r];
        out[o] = static_cast<float>((s[0] + s[1] + s[2] + s[3]) * scale);
      } else {
        double acc = identity_or_first<op>(row);
        for (int64_t r = 0; r < n; r++) acc = combine<op>(acc, row[r]);
        out[o] = static_cast<float>(acc);
      }
    }
  });
}

// inner > 1: outputs are columns; each task owns a block of columns of one outer slice.
template <Op op>
void reduce_columns(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  const double scale = op == kMean ? 1.0 / static_cast<double>(n) : 1.0;
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  parallel_for(outer * blocks, std::max<int64_t>(1, kGrain / std::max<int64_t>(n * kBlock, 1)),
               [&](int64_t begin, int64_t end) {
    double acc[kBlock];
    for (int64_t t = begin; t < end; t++) {
      const int64_t o = t / blocks, c0 = (t % blocks) * kBlock;
      const int64_t width = std::min(kBlock, inner - c0);
      const float* base = x + o * n * inner + c0;
      for (int64_t c = 0; c < width; c++) acc[c] = identity_or_first<op>(base + c);
      for (int64_t r = 0; r < n; r++) {
        const float* row = base + r * inner;
        for (int64_t c = 0; c < width; c++) acc[c] = combine<op>(acc[c], row[c]);
      }
      float* dst = out + o * inner + c0;
      for (int64_t c = 0; c < width; c++) dst[c] = static_cast<float>(acc[c] * scale);
    }
  });
}

template <Op op>
void reduce_op(const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  if (inner == 1) reduce_rows<op>(x, out, outer, n);
  else reduce_columns<op>(x, out, outer, n, inner);
}

}  // namespace

std::vector<std::string> op::reduceOps() { return {std::begin(kReduceOps), std::end(kReduceOps)}; }

// n ≥ 1.
void op::reduce(int64_t code, const float* x, float* out, int64_t outer, int64_t n, int64_t inner) {
  switch (code) {
    case kSum: reduce_op<kSum>(x, out, outer, n, inner); break;
    case kMean: reduce_op<kMean>(x, out, outer, n, inner); break;
    case kMax: reduce_op<kMax>(x, out, outer, n, inner); break;
    case kMin: reduce_op<kMin>(x, out, outer, n, inner); break;
    case kProd: reduce_op<kProd>(x, out, outer, n, inner); break;
  }
}

}  // namespace df
