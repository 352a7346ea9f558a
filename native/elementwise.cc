// Elementwise kernels: binary ops with broadcasting and unary ops, float32.
// JavaScript collapses the broadcast into the fewest dimensions (a layout of dims and per-operand
// strides, 0 on broadcast axes); the last dimension always has stride 0 or 1, so the inner loops
// below are plain vectorisable loops.
#include <cmath>
#include <cstring>
#include <iterator>
#include <stdexcept>

#include "ops.h"
#include "pool.h"
#include "vmath.h"

namespace df {
namespace {

// Elements per parallel chunk: below this a thread hand-off costs more than the work.
constexpr int64_t kGrain = 1 << 15;

// Names in the order of the op codes JavaScript passes (exported by `binaryOps` / `unaryOps`).
const char* const kBinaryOps[] = {"add", "sub", "mul", "div", "max", "min", "pow", "squaredDifference"};
const char* const kUnaryOps[] = {"neg", "exp", "log", "sqrt", "rsqrt", "square", "reciprocal", "abs",
                                 "relu", "relu6", "step", "sign", "tanh", "sigmoid", "log1p", "expm1",
                                 "floor", "ceil", "elu", "leakyRelu", "softplus"};

template <class F>
void inner(const F& f, const float* a, const float* b, float* out, int64_t n, bool step_a, bool step_b) {
  if (step_a && step_b) {
    for (int64_t i = 0; i < n; i++) out[i] = f(a[i], b[i]);
  } else if (step_a) {
    const float bv = *b;
    for (int64_t i = 0; i < n; i++) out[i] = f(a[i], bv);
  } else if (step_b) {
    const float av = *a;
    for (int64_t i = 0; i < n; i++) out[i] = f(av, b[i]);
  } else {
    const float v = f(*a, *b);
    for (int64_t i = 0; i < n; i++) out[i] = v;
  }
}

struct Layout {
  int rank;
  const int64_t* dims;
  const int64_t* sa;
  const int64_t* sb;
};

template <class F>
void binary_run(const F& f, const float* a, const float* b, float* out, const Layout& l) {
  int64_t total = 1;
  for (int d = 0; d < l.rank; d++) total *= l.dims[d];
  const int last = l.rank - 1;
  const int64_t width = l.dims[last];
  const bool step_a = l.sa[last] != 0, step_b = l.sb[last] != 0;
  parallel_for(total, kGrain, [&](int64_t begin, int64_t end) {
    // Offsets of row `begin / width` from its multi-index over the leading dimensions.
    int64_t idx[16] = {0};
    int64_t row = begin / width, oa = 0, ob = 0;
    for (int d = last - 1; d >= 0; d--) {
      idx[d] = row % l.dims[d];
      row /= l.dims[d];
      oa += idx[d] * l.sa[d];
      ob += idx[d] * l.sb[d];
    }
    int64_t col = begin % width;
    for (int64_t pos = begin; pos < end;) {
      const int64_t len = std::min(width - col, end - pos);
      inner(f, a + oa + (step_a ? col : 0), b + ob + (step_b ? col : 0), out + pos, len, step_a, step_b);
      pos += len;
      col = 0;
      for (int d = last - 1; d >= 0; d--) {
        oa += l.sa[d];
        ob += l.sb[d];
        if (++idx[d] < l.dims[d]) break;
        oa -= idx[d] * l.sa[d];
        ob -= idx[d] * l.sb[d];
        idx[d] = 0;
      }
    }
  });
}

// NaN-propagating like JavaScript's Math.max / Math.min (tfjs's reference).
inline float fmax_js(float x, float y) { return x != x || x > y ? x : y; }
inline float fmin_js(float x, float y) { return x != x || x < y ? x : y; }

void binary_dispatch(int op, const float* a, const float* b, float* out, const Layout& l) {
  switch (op) {
    case 0: return binary_run([](float x, float y) { return x + y; }, a, b, out, l);
    case 1: return binary_run([](float x, float y) { return x - y; }, a, b, out, l);
    case 2: return binary_run([](float x, float y) { return x * y; }, a, b, out, l);
    case 3: return binary_run([](float x, float y) { return x / y; }, a, b, out, l);
    case 4: return binary_run(fmax_js, a, b, out, l);
    case 5: return binary_run(fmin_js, a, b, out, l);
    case 6: return binary_run([](float x, float y) { return std::pow(x, y); }, a, b, out, l);
    case 7: return binary_run([](float x, float y) { return (x - y) * (x - y); }, a, b, out, l);
  }
}

template <class F>
void unary_run(const F& f, const float* x, float* out, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) out[i] = f(x[i]);
  });
}

void unary_dispatch(int op, const float* x, float* out, int64_t n, float p) {
  switch (op) {
    case 0: return unary_run([](float v) { return -v; }, x, out, n);
    case 1: return unary_run(vexp, x, out, n);
    case 2: return unary_run([](float v) { return std::log(v); }, x, out, n);
    case 3: return unary_run([](float v) { return std::sqrt(v); }, x, out, n);
    case 4: return unary_run([](float v) { return 1.f / std::sqrt(v); }, x, out, n);
    case 5: return unary_run([](float v) { return v * v; }, x, out, n);
    case 6: return unary_run([](float v) { return 1.f / v; }, x, out, n);
    case 7: return unary_run([](float v) { return std::fabs(v); }, x, out, n);
    // relu/relu6 keep NaN (as tfjs's reference does).
    case 8: return unary_run([](float v) { return v < 0.f ? 0.f : v; }, x, out, n);
    case 9: return unary_run([](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }, x, out, n);
    case 10: return unary_run([p](float v) { return v != v ? v : (v > 0.f ? 1.f : p); }, x, out, n);
    case 11: return unary_run([](float v) { return v != v ? 0.f : (v > 0.f ? 1.f : (v < 0.f ? -1.f : 0.f)); }, x, out, n);
    case 12: return unary_run(vtanh, x, out, n);
    case 13: return unary_run(vsigmoid, x, out, n);
    case 14: return unary_run([](float v) { return std::log1p(v); }, x, out, n);
    case 15: return unary_run([](float v) { return std::expm1(v); }, x, out, n);
    case 16: return unary_run([](float v) { return std::floor(v); }, x, out, n);
    case 17: return unary_run([](float v) { return std::ceil(v); }, x, out, n);
    case 18: return unary_run([](float v) { return v >= 0.f ? v : vexp(v) - 1.f; }, x, out, n);
    case 19: return unary_run([p](float v) { return v < 0.f ? p * v : v; }, x, out, n);
    case 20: return unary_run([](float v) { return std::log1p(std::exp(-std::fabs(v))) + (v > 0.f ? v : 0.f); }, x, out, n);
  }
}

}  // namespace

std::vector<std::string> op::binaryOps() { return {std::begin(kBinaryOps), std::end(kBinaryOps)}; }
std::vector<std::string> op::unaryOps() { return {std::begin(kUnaryOps), std::end(kUnaryOps)}; }

// layout = [rank, dims…, stridesA…, stridesB…].
void op::binary(int64_t code, const float* a, const float* b, float* out, const double* layout) {
  const int rank = static_cast<int>(layout[0]);
  if (rank < 1 || rank > 16) throw std::range_error("layout rank must be in [1, 16]");
  int64_t buf[48];
  for (int i = 0; i < 3 * rank; i++) buf[i] = static_cast<int64_t>(layout[1 + i]);
  binary_dispatch(static_cast<int>(code), a, b, out, Layout{rank, buf, buf + rank, buf + 2 * rank});
}

// param is Step's alpha / LeakyRelu's alpha, ignored otherwise.
void op::unary(int64_t code, const float* x, int64_t n, float* out, double param) {
  unary_dispatch(static_cast<int>(code), x, out, n, static_cast<float>(param));
}

}  // namespace df
