// DfGatedGelu(Grad): y = gelu_tanh(gate)·linear and its two input gradients in one pass.
#include <algorithm>
#include <stdexcept>

#include "gemm.h"
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

inline void gated_gelu(const float* gate, const float* lin, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float x = gate[i];
    y[i] = x * sigmoid_2u(x) * lin[i];
  }
}

inline void gated_gelu_grad(const float* dy, const float* gate, const float* lin, float* d_gate, float* d_lin, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float x = gate[i];
    const float s = sigmoid_2u(x);
    // d/dx x·σ(2u) = σ + 2x·σ(1 − σ)·u'
    const float d_gelu = s + 2.f * x * s * (1.f - s) * kC * (1.f + 3.f * kA * x * x);
    d_gate[i] = dy[i] * lin[i] * d_gelu;
    d_lin[i] = dy[i] * x * s;
  }
}

// Outputs stored in bf16 (only products read them): f(i, m, blocks) computes elements [i, i+m) of
// each of the N outputs as for float32, into blocks of scratch, which are then rounded as the bf16
// GEMM rounds its operands.
template <int N, class F>
void through_bf16(int64_t begin, int64_t end, uint16_t* const (&outs)[N], const F& f) {
  constexpr int64_t kBlock = 1024;
  alignas(64) float blocks[N][kBlock];
  for (int64_t i = begin; i < end; i += kBlock) {
    const int64_t m = std::min(kBlock, end - i);
    f(i, m, blocks);
    for (int j = 0; j < N; j++) to_bf16(blocks[j], outs[j] + i, m);
  }
}

void op::gatedGelu(const float* gate, int64_t n, const float* lin, float* y, uint16_t* y16) {
  if ((y && y16) || (n > 0 && !y && !y16)) throw std::invalid_argument("give one output, out or outBf16");
  if (y16) require_bf16("bf16 outputs");
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    if (y) return gated_gelu(gate + begin, lin + begin, y + begin, end - begin);
    through_bf16(begin, end, {y16}, [&](int64_t i, int64_t m, auto& blocks) { gated_gelu(gate + i, lin + i, blocks[0], m); });
  });
}

// With bf16 outputs: the inputs came from linear layers, whose gradient products alone read these.
void op::gatedGeluGrad(const float* dy, const float* gate, int64_t n, const float* lin, float* d_gate, float* d_lin,
                       uint16_t* d_gate16, uint16_t* d_lin16) {
  const bool f32 = d_gate && d_lin, half = d_gate16 && d_lin16;
  if (n > 0 && f32 == half) throw std::invalid_argument("give dGate and dLinear, or both in bf16");
  if (half) require_bf16("bf16 outputs");
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    if (!half) return gated_gelu_grad(dy + begin, gate + begin, lin + begin, d_gate + begin, d_lin + begin, end - begin);
    through_bf16(begin, end, {d_gate16, d_lin16}, [&](int64_t i, int64_t m, auto& blocks) {
      gated_gelu_grad(dy + i, gate + i, lin + i, blocks[0], blocks[1], m);
    });
  });
}

}  // namespace df
