// BatchMatMul: C[i] = op(A[i % batchA]) · op(B[i % batchB]) for contiguous rank-3 operands.
#include "gemm.h"
#include "napi_util.h"

namespace df {
namespace {

// matmul(a, b, c, batch, batchA, batchB, m, n, k, transA, transB)
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  const float* a = f32(info, 0);
  const float* b = f32(info, 1);
  float* c = f32(info, 2);
  const int64_t batch = int_arg(info, 3), batch_a = int_arg(info, 4), batch_b = int_arg(info, 5);
  const int64_t m = int_arg(info, 6), n = int_arg(info, 7), k = int_arg(info, 8);
  const bool ta = bool_arg(info, 9), tb = bool_arg(info, 10);
  const Gemm g{ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, c, n, 0.f};
  gemm_batch(g, batch, [&](int64_t i, Gemm* item) {
    item->a = a + (i % batch_a) * m * k;
    item->b = b + (i % batch_b) * k * n;
    item->c = c + i * m * n;
  });
  return info.Env().Undefined();
}

}  // namespace

void register_matmul(Napi::Env env, Napi::Object exports) { export_fn(env, exports, "matmul", MatMul); }

}  // namespace df
