// The module: engine-wide settings (threads, GEMM kernel) and the export of every op that
// native/ops.js declares, through the entry points generated from it.
#include <napi.h>

#include "gemm.h"
#include "ops_napi.h"
#include "pool.h"
#include "simd.h"

namespace df {

Napi::Object op::info(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("gemm", gemm_selected());
  o.Set("gemmLibrary", gemm_library_info());
  o.Set("openblasBuiltIn", gemm_openblas() != nullptr);
  o.Set("openblasRoundsByPosition", gemm_openblas() != nullptr && !openblas_position_free());
  o.Set("threads", pool_threads());
  o.Set("simd", simd_name());
  o.Set("bf16", gemm_bf16_built());
  return o;
}

void op::setThreads(int64_t threads) { pool_set_threads(static_cast<int>(threads)); }

bool op::selectGemm(const std::string& name) { return gemm_select(name.c_str()); }

}  // namespace df

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abi", df::kAbi);
  // OpenBLAS's probes (gemm_openblas.cc) run now, on the loading thread, before any product.
  df::gemm_openblas();
  df::export_ops(env, exports);
  return exports;
}

NODE_API_MODULE(deepfusion, Init)
