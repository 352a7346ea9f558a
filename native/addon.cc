// The module: engine-wide settings (threads, GEMM kernel) and every kernel family's functions.
#include <napi.h>

#include "gemm.h"
#include "napi_util.h"
#include "pool.h"
#include "simd.h"

namespace df {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemm", gemm_selected());
  o.Set("gemmLibrary", gemm_library_info());
  o.Set("openblasBuiltIn", gemm_openblas() != nullptr);
  o.Set("threads", pool_threads());
  o.Set("simd", simd_name());
  return o;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  pool_set_threads(static_cast<int>(int_arg(info, 0)));
  return info.Env().Undefined();
}

Napi::Value SelectGemm(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), gemm_select(info[0].As<Napi::String>().Utf8Value().c_str()));
}

}  // namespace
}  // namespace df

// Bumped whenever an exported function changes, so JavaScript never calls a stale build.
constexpr int kAbi = 4;

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace df;
  exports.Set("abi", kAbi);
  export_fn(env, exports, "info", Info);
  export_fn(env, exports, "setThreads", SetThreads);
  export_fn(env, exports, "selectGemm", SelectGemm);
  register_matmul(env, exports);
  register_elementwise(env, exports);
  register_reduce(env, exports);
  register_transpose(env, exports);
  register_gather(env, exports);
  register_softmax(env, exports);
  register_rms_norm(env, exports);
  register_attention_softmax(env, exports);
  register_cross_entropy(env, exports);
  register_gated_gelu(env, exports);
  register_adamw(env, exports);
  register_adafactor(env, exports);
  register_attention_matmul(env, exports);
  register_huge_pages(env, exports);
  return exports;
}

NODE_API_MODULE(deepfusion, Init)
