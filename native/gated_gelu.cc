// DfGatedGelu(Grad): y = gelu_tanh(gate)·linear and its two input gradients in one pass.
#include "napi_util.h"
#include "pool.h"
#include "vmath.h"

namespace df {
namespace {

constexpr float kC = 0.7978845608028654f;  // sqrt(2/π)
constexpr float kA = 0.044715f;
constexpr int64_t kGrain = 1 << 14;

// gatedGelu(gate, linear, out)
Napi::Value GatedGelu(const Napi::CallbackInfo& info) {
  const float* gate = f32(info, 0);
  const float* lin = f32(info, 1);
  float* y = f32(info, 2);
  const int64_t n = static_cast<int64_t>(info[0].As<Napi::Float32Array>().ElementLength());
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float x = gate[i];
      const float t = vtanh(kC * (x + kA * x * x * x));
      y[i] = 0.5f * x * (1.f + t) * lin[i];
    }
  });
  return info.Env().Undefined();
}

// gatedGeluGrad(dy, gate, linear, dGate, dLinear)
Napi::Value GatedGeluGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info, 0);
  const float* gate = f32(info, 1);
  const float* lin = f32(info, 2);
  float* d_gate = f32(info, 3);
  float* d_lin = f32(info, 4);
  const int64_t n = static_cast<int64_t>(info[1].As<Napi::Float32Array>().ElementLength());
  parallel_for(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; i++) {
      const float x = gate[i];
      const float t = vtanh(kC * (x + kA * x * x * x));
      const float d_gelu = 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * kC * (1.f + 3.f * kA * x * x);
      d_gate[i] = dy[i] * lin[i] * d_gelu;
      d_lin[i] = dy[i] * 0.5f * x * (1.f + t);
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void register_gated_gelu(Napi::Env env, Napi::Object exports) {
  export_fn(env, exports, "gatedGelu", GatedGelu);
  export_fn(env, exports, "gatedGeluGrad", GatedGeluGrad);
}

}  // namespace df
