// DfGatedGelu(Grad): y = gelu_tanh(gate)·linear and its two input gradients in one pass.
#include "ops.h"
#include "pool.h"
#include "vmath.h"

namespace df {
namespace {

constexpr float kC = 0.7978845608028654f;  // sqrt(2/π)
constexpr float kA = 0.044715f;
constexpr int64_t kGrain = 1 << 14;

}  // namespace

void op::gatedGelu(const float* gate, int64_t n, const float* lin, float* y) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float x = gate[i];
      const float t = vtanh(kC * (x + kA * x * x * x));
      y[i] = 0.5f * x * (1.f + t) * lin[i];
    }
  });
}

void op::gatedGeluGrad(const float* dy, const float* gate, int64_t n, const float* lin, float* d_gate, float* d_lin) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float x = gate[i];
      const float t = vtanh(kC * (x + kA * x * x * x));
      const float d_gelu = 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kC * (1.f + 3.f * kA * x * x);
      d_gate[i] = dy[i] * lin[i] * d_gelu;
      d_lin[i] = dy[i] * 0.5f * x * (1.f + t);
    }
  });
}

}  // namespace df
