// DfRmsNorm(Grad): RMSNorm over the last axis, per group of features (norm_groups: docs/t5.md).
// Forward y = w·x/rms_g(x); backward dx = inv·(g − x̂·mean_g(g·x̂)) with g = dy·w, and
// dw = Σ_rows dy·x̂, accumulated per task in double and summed in task order (deterministic).
#include <cmath>
#include <stdexcept>
#include <vector>

#include "gemm.h"
#include "ops.h"
#include "pool.h"
#include "simd.h"

namespace df {
namespace {

struct Groups {
  const int32_t* sizes;
  int64_t count;
};

inline float inv_rms(const float* x, int64_t n, float eps) {
  return 1.f / std::sqrt(row_dot(x, x, n) / static_cast<float>(n) + eps);
}

}  // namespace

// With y16 the output is stored in bf16 (for products only): each row is computed as for y, in a
// row of scratch, then rounded as the bf16 GEMM rounds its operands, so products see the same bits.
void op::rmsNorm(const float* x, const float* w, float* y, uint16_t* y16, int64_t rows, int64_t d, const int32_t* group_sizes,
                 int64_t group_count, double eps_arg) {
  if ((y && y16) || (rows * d > 0 && !y && !y16)) throw std::invalid_argument("give one output, y or yBf16");
  if (y16) require_bf16("bf16 outputs");
  const Groups g{group_sizes, group_count};
  const float eps = static_cast<float>(eps_arg);
  parallel_for(rows, std::max<int64_t>(1, 8192 / std::max<int64_t>(d, 1)), [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scratch;
    if (y16 && static_cast<int64_t>(scratch.size()) < d) scratch.resize(static_cast<size_t>(d));
    for (int64_t r = begin; r < end; r++) {
      float* row = y16 ? scratch.data() : y + r * d;
      int64_t start = 0;
      for (int64_t k = 0; k < g.count; k++) {
        const int64_t size = g.sizes[k];
        const float* xr = x + r * d + start;
        float* yr = row + start;
        const float inv = inv_rms(xr, size, eps);
        for (int64_t i = 0; i < size; i++) yr[i] = w[start + i] * (xr[i] * inv);
        start += size;
      }
      if (y16) to_bf16(row, y16 + r * d, d);
    }
  });
}

void op::rmsNormGrad(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t rows, int64_t d,
                     const int32_t* group_sizes, int64_t group_count, double eps_arg) {
  const Groups g{group_sizes, group_count};
  const float eps = static_cast<float>(eps_arg);
  const int64_t tasks = std::max<int64_t>(1, std::min<int64_t>(pool_threads() * 4, rows * d / 8192));
  std::vector<double> partial(static_cast<size_t>(tasks * d), 0.0);
  struct Ctx {
    const float *dy, *x, *w;
    float* dx;
    double* partial;
    int64_t rows, d, tasks;
    Groups g;
    float eps;
  } ctx{dy, x, w, dx, partial.data(), rows, d, tasks, g, eps};
  pool_run(tasks, [](void* p, int64_t t) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    double* acc = c.partial + t * c.d;
    std::vector<float> xhat(static_cast<size_t>(c.d));
    for (int64_t r = c.rows * t / c.tasks; r < c.rows * (t + 1) / c.tasks; r++) {
      int64_t start = 0;
      for (int64_t k = 0; k < c.g.count; k++) {
        const int64_t size = c.g.sizes[k];
        const float* xr = c.x + r * c.d + start;
        const float* dyr = c.dy + r * c.d + start;
        const float* wr = c.w + start;
        float* dxr = c.dx + r * c.d + start;
        float* xh = xhat.data() + start;
        const float inv = inv_rms(xr, size, c.eps);
        float dot = 0.f;
        for (int64_t i = 0; i < size; i++) {
          xh[i] = xr[i] * inv;
          dot += dyr[i] * wr[i] * xh[i];
        }
        const float mean_dot = dot / static_cast<float>(size);
        for (int64_t i = 0; i < size; i++) {
          dxr[i] = inv * (dyr[i] * wr[i] - xh[i] * mean_dot);
          acc[start + i] += static_cast<double>(dyr[i]) * xh[i];
        }
        start += size;
      }
    }
  }, &ctx);
  for (int64_t i = 0; i < d; i++) {
    double s = 0.0;
    for (int64_t t = 0; t < tasks; t++) s += partial[t * d + i];
    dw[i] = static_cast<float>(s);
  }
}

}  // namespace df
