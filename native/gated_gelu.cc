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

// gelu_tanh(x) = 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³): one exp and one
// division per element, where tanh costs a polynomial, an exp and a division.
inline float sigmoid_2u(float x) { return 1.f / (1.f + vexp(-2.f * kC * (x + kA * x * x * x))); }

void op::gatedGelu(const float* gate, int64_t n, const float* lin, float* y) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float x = gate[i];
      y[i] = x * sigmoid_2u(x) * lin[i];
    }
  });
}

void op::gatedGeluGrad(const float* dy, const float* gate, int64_t n, const float* lin, float* d_gate, float* d_lin) {
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float x = gate[i];
      const float s = sigmoid_2u(x);
      // d/dx x·σ(2u) = σ + 2x·σ(1 − σ)·u'
      const float d_gelu = s + 2.f * x * s * (1.f - s) * kC * (1.f + 3.f * kA * x * x);
      d_gate[i] = dy[i] * lin[i] * d_gelu;
      d_lin[i] = dy[i] * x * s;
    }
  });
}

}  // namespace df
