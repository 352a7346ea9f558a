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

// With y16 the output is stored in bf16 (for products only): computed as for y a block at a time
// in scratch, then rounded as the bf16 GEMM rounds its operands.
void op::gatedGelu(const float* gate, int64_t n, const float* lin, float* y, uint16_t* y16) {
  if ((y && y16) || (n > 0 && !y && !y16)) throw std::invalid_argument("gatedGelu: give one output, out or outBf16");
  if (y16 && !gemm_bf16_built()) throw std::invalid_argument("gatedGelu: a bf16 output needs AVX512-BF16, which this build lacks");
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    if (y) return gated_gelu(gate + begin, lin + begin, y + begin, end - begin);
    constexpr int64_t kBlock = 1024;
    alignas(64) float block[kBlock];
    for (int64_t i = begin; i < end; i += kBlock) {
      const int64_t m = std::min(kBlock, end - i);
      gated_gelu(gate + i, lin + i, block, m);
      to_bf16(block, y16 + i, m);
    }
  });
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

// With bf16 outputs (the inputs came from linear layers, whose gradient products alone read these)
// each block is computed as for float32 in scratch, then rounded as the bf16 GEMM rounds.
void op::gatedGeluGrad(const float* dy, const float* gate, int64_t n, const float* lin, float* d_gate, float* d_lin,
                       uint16_t* d_gate16, uint16_t* d_lin16) {
  const bool f32 = d_gate && d_lin, half = d_gate16 && d_lin16;
  if (n > 0 && f32 == half) throw std::invalid_argument("gatedGeluGrad: give dGate and dLinear, or both in bf16");
  if (half && !gemm_bf16_built()) throw std::invalid_argument("gatedGeluGrad: bf16 outputs need AVX512-BF16, which this build lacks");
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    if (!half) return gated_gelu_grad(dy + begin, gate + begin, lin + begin, d_gate + begin, d_lin + begin, end - begin);
    constexpr int64_t kBlock = 1024;
    alignas(64) float block[2][kBlock];
    for (int64_t i = begin; i < end; i += kBlock) {
      const int64_t m = std::min(kBlock, end - i);
      gated_gelu_grad(dy + i, gate + i, lin + i, block[0], block[1], m);
      to_bf16(block[0], d_gate16 + i, m);
      to_bf16(block[1], d_lin16 + i, m);
    }
  });
}

}  // namespace df
