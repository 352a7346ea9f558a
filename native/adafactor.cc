// DfAdafactor: one Adafactor update of a parameter (see src/engine/fused/adafactor.ts) in three
// passes over the gradient: (1) the second-moment statistics and Σp², (2) Σu² of the unclipped
// update u = g/sqrt(v̂), (3) the new parameter. Every sum runs over blocks that the shape alone
// fixes and is combined in block order, so the result is the same bits on any thread count.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ops.h"
#include "pool.h"

namespace df {
namespace {

struct Hyper {
  double lr, beta2, eps1, eps2, clip_threshold;
  bool scale_parameter;
  double beta1, weight_decay;
  float grad_scale;
};

// Rows per task of the factored statistics pass; each task keeps one partial sum per column.
constexpr int64_t kRowBlock = 64;
// Elements per task of the unfactored statistics pass.
constexpr int64_t kChunk = 1 << 14;
// Least elements worth handing to another thread: most parameters are small, and each of the
// three passes that goes parallel pays a pool wake-up (more when other processes hold the cores).
constexpr int64_t kGrain = 1 << 16;

inline int64_t grain_of(int64_t elements_per_item) { return std::max<int64_t>(1, kGrain / std::max<int64_t>(elements_per_item, 1)); }

inline double ema(double old, double x, double beta) { return beta * old + (1.0 - beta) * x; }

typedef double double4 __attribute__((vector_size(4 * sizeof(double))));

// Σ f(j)² over [0, n) in double, as four interleaved sums (lane l takes j ≡ l mod 4) combined
// pairwise: written as one vector of four, since GCC would not vectorise four scalars.
template <class F>
double sum_sq(int64_t n, const F& f) {
  double4 s = {0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const double4 x = {f(j), f(j + 1), f(j + 2), f(j + 3)};
    s += x * x;
  }
  for (; j < n; j++) {
    const double x = f(j);
    s[0] += x * x;
  }
  return (s[0] + s[1]) + (s[2] + s[3]);
}

double ordered_sum(const std::vector<double>& xs) {
  double s = 0.0;
  for (const double x : xs) s += x;
  return s;
}

// What pass 3 applies: p' = p·decay − factor·u (through m' = β1·m + (1−β1)·factor·u with β1).
struct Update {
  float factor, decay, beta1;
  const float* m;
  float* m2;
};

Update update_of(const Hyper& h, double p_sq, double u_sq, int64_t n, const float* m, float* m2) {
  const double step_size = h.lr * (h.scale_parameter ? std::max(h.eps2, std::sqrt(p_sq / n)) : 1.0);
  const double factor = step_size / std::max(1.0, std::sqrt(u_sq / n) / h.clip_threshold);
  return {static_cast<float>(factor), static_cast<float>(1.0 - step_size * h.weight_decay),
          static_cast<float>(h.beta1), m, m2};
}

// Elements [begin, begin + len) of the new parameter, where u_j = g_j·grad_scale·scale·inv[j].
// `inv` may be p2 itself (the unfactored pass keeps 1/sqrt(v') there): each element is read
// before it is overwritten.
void update_run(const float* p, const float* g, const float* inv, float scale, float grad_scale, float* p2,
                const Update& up, int64_t begin, int64_t len) {
  const float f = up.factor * scale;
  if (up.m) {
    const float b1 = up.beta1, gb1 = 1.f - up.beta1;
    for (int64_t j = 0; j < len; j++) {
      const int64_t i = begin + j;
      const float m = b1 * up.m[i] + gb1 * ((g[i] * grad_scale) * inv[j] * f);
      up.m2[i] = m;
      p2[i] = p[i] * up.decay - m;
    }
  } else {
    for (int64_t j = 0; j < len; j++) {
      const int64_t i = begin + j;
      p2[i] = p[i] * up.decay - (g[i] * grad_scale) * inv[j] * f;
    }
  }
}

// Parameters of rank ≥ 2: `mats` matrices of rows × cols with row factors vr [mats·rows] and
// column factors vc [mats·cols].
void factored(const float* p, const float* g, const float* vr, const float* vc, float* p2, float* vr2, float* vc2,
              const float* m, float* m2, int64_t mats, int64_t rows, int64_t cols, const Hyper& h) {
  const float gs = h.grad_scale;
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock, tasks = mats * blocks;
  std::vector<double> col_partial(static_cast<size_t>(tasks * cols), 0.0);
  std::vector<double> row_sq(static_cast<size_t>(mats * rows)), p_partial(static_cast<size_t>(tasks));
  // Pass 1: Σ_c g² per row, Σ_r g² per column (one partial per block of rows), Σp² per block.
  parallel_for(tasks, grain_of(kRowBlock * cols), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; t++) {
      const int64_t b = t / blocks, r0 = (t % blocks) * kRowBlock, r1 = std::min(rows, r0 + kRowBlock);
      double* col = col_partial.data() + t * cols;
      double p_sq = 0.0;
      for (int64_t r = r0; r < r1; r++) {
        const int64_t row = b * rows + r;
        const float* gr = g + row * cols;
        for (int64_t c = 0; c < cols; c++) {
          const double x = gr[c] * gs;
          col[c] += x * x;
        }
        row_sq[row] = sum_sq(cols, [&](int64_t c) { return static_cast<double>(gr[c] * gs); });
        p_sq += sum_sq(cols, [&](int64_t c) { return static_cast<double>(p[row * cols + c]); });
      }
      p_partial[t] = p_sq;
    }
  });
  // The new factors, and the per-row and per-column halves of 1/sqrt(v̂) = 1/sqrt(vr/mean(vr))·1/sqrt(vc).
  std::vector<float> row_inv(static_cast<size_t>(mats * rows)), col_inv(static_cast<size_t>(mats * cols));
  std::vector<double> vr_new(static_cast<size_t>(rows)), col_sq(static_cast<size_t>(cols));
  for (int64_t b = 0; b < mats; b++) {
    std::fill(col_sq.begin(), col_sq.end(), 0.0);
    for (int64_t k = 0; k < blocks; k++) {
      const double* col = col_partial.data() + (b * blocks + k) * cols;
      for (int64_t c = 0; c < cols; c++) col_sq[c] += col[c];
    }
    double vr_sum = 0.0;
    for (int64_t r = 0; r < rows; r++) {
      vr_new[r] = ema(vr[b * rows + r], row_sq[b * rows + r] / cols + h.eps1, h.beta2);
      vr2[b * rows + r] = static_cast<float>(vr_new[r]);
      vr_sum += vr_new[r];
    }
    const double vr_mean = vr_sum / rows;
    for (int64_t r = 0; r < rows; r++) row_inv[b * rows + r] = static_cast<float>(1.0 / std::sqrt(vr_new[r] / vr_mean));
    for (int64_t c = 0; c < cols; c++) {
      const double v = ema(vc[b * cols + c], col_sq[c] / rows + h.eps1, h.beta2);
      vc2[b * cols + c] = static_cast<float>(v);
      col_inv[b * cols + c] = static_cast<float>(1.0 / std::sqrt(v));
    }
  }
  // Pass 2: Σu² per row.
  const int64_t all_rows = mats * rows, grain = grain_of(cols);
  std::vector<double> u_sq(static_cast<size_t>(all_rows));
  parallel_for(all_rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; row++) {
      const float* gr = g + row * cols;
      const float* ci = col_inv.data() + (row / rows) * cols;
      const double s = sum_sq(cols, [&](int64_t c) { return static_cast<double>((gr[c] * gs) * ci[c]); });
      u_sq[row] = s * row_inv[row] * row_inv[row];
    }
  });
  // Pass 3.
  const Update up = update_of(h, ordered_sum(p_partial), ordered_sum(u_sq), mats * rows * cols, m, m2);
  parallel_for(all_rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; row++) {
      update_run(p, g, col_inv.data() + (row / rows) * cols, row_inv[row], gs, p2, up, row * cols, cols);
    }
  });
}

// Parameters of rank < 2: the full second moment v.
void unfactored(const float* p, const float* g, const float* v, float* p2, float* v2, const float* m, float* m2,
                int64_t n, const Hyper& h) {
  const float gs = h.grad_scale;
  const int64_t tasks = (n + kChunk - 1) / kChunk;
  std::vector<double> u_partial(static_cast<size_t>(tasks)), p_partial(static_cast<size_t>(tasks));
  // Pass 1 (and 2): v', Σu², Σp²; 1/sqrt(v') goes to p2 until pass 3 overwrites it.
  parallel_for(tasks, grain_of(kChunk), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; t++) {
      const int64_t i0 = t * kChunk, i1 = std::min(n, i0 + kChunk);
      double u_sq = 0.0, p_sq = 0.0;
      for (int64_t i = i0; i < i1; i++) {
        const double gi = g[i] * gs;
        const double vi = ema(v[i], gi * gi + h.eps1, h.beta2);
        v2[i] = static_cast<float>(vi);
        p2[i] = static_cast<float>(1.0 / std::sqrt(vi));
        const double u = gi * p2[i];
        u_sq += u * u;
        p_sq += static_cast<double>(p[i]) * p[i];
      }
      u_partial[t] = u_sq;
      p_partial[t] = p_sq;
    }
  });
  const Update up = update_of(h, ordered_sum(p_partial), ordered_sum(u_partial), n, m, m2);
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) { update_run(p, g, p2 + begin, 1.f, gs, p2, up, begin, end - begin); });
}

}  // namespace

// Factored when vc is given (param = mats × rows × cols), else unfactored over all of param (n
// elements); m only with beta1 > 0.
void op::adafactor(const float* p, int64_t n, const float* g, const float* v, const float* vc, const float* m, float* p2,
                   float* v2, float* vc2, float* m2, int64_t mats, int64_t rows, int64_t cols, double lr, double beta2,
                   double eps1, double eps2, double clip_threshold, bool scale_parameter, double beta1,
                   double weight_decay, double grad_scale) {
  const Hyper h{lr, beta2, eps1, eps2, clip_threshold, scale_parameter, beta1, weight_decay, static_cast<float>(grad_scale)};
  if ((m == nullptr) != (m2 == nullptr) || (vc == nullptr) != (vc2 == nullptr)) {
    throw std::invalid_argument("a moment and its output must both be given or both be null");
  }
  if (vc) factored(p, g, v, vc, p2, v2, vc2, m, m2, mats, rows, cols, h);
  else unfactored(p, g, v, p2, v2, m, m2, n, h);
}

}  // namespace df
