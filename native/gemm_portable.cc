// The portable GEMM: Goto/BLIS-style blocking (a KC×NC panel of B and an MC×KC block of A are
// packed so the micro-kernel streams both from cache) around an MR×NR register-tile
// micro-kernel written with vector extensions, so it is the same source on every CPU.
#include <algorithm>
#include <cstdlib>
#include <memory>

#include "gemm.h"
#include "simd.h"

namespace df {
namespace {

constexpr int NR = 2 * kVecWidth;
// Accumulators MR×2 vectors plus two B vectors and one broadcast must fit the register file
// (32 vector registers with AVX-512, 16 otherwise).
constexpr int MR = kVecWidth == 16 ? 12 : 6;
constexpr int64_t KC = 256;
constexpr int64_t MC = MR * 16;
constexpr int64_t NC = 1024;

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

float* scratch(std::unique_ptr<float, FreeDeleter>& slot, size_t floats) {
  if (!slot) slot.reset(static_cast<float*>(std::aligned_alloc(64, floats * sizeof(float))));
  return slot.get();
}

// Packs rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) into MR-row panels, k-major within a panel.
void pack_a(const Gemm& g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - ir);
    float* panel = out + ir * kc;
    for (int64_t i = 0; i < MR; i++) {
      if (i >= rows) {
        for (int64_t p = 0; p < kc; p++) panel[p * MR + i] = 0.f;
        continue;
      }
      const int64_t row = i0 + ir + i;
      if (!g.trans_a) {
        const float* src = g.a + row * g.lda + p0;
        for (int64_t p = 0; p < kc; p++) panel[p * MR + i] = src[p];
      } else {
        const float* src = g.a + p0 * g.lda + row;
        for (int64_t p = 0; p < kc; p++) panel[p * MR + i] = src[p * g.lda];
      }
    }
  }
}

// Packs rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into NR-column panels, k-major.
void pack_b(const Gemm& g, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* out) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - jr);
    float* panel = out + jr * kc;
    if (!g.trans_b) {
      for (int64_t p = 0; p < kc; p++) {
        const float* src = g.b + (p0 + p) * g.ldb + j0 + jr;
        float* dst = panel + p * NR;
        int64_t j = 0;
        for (; j < cols; j++) dst[j] = src[j];
        for (; j < NR; j++) dst[j] = 0.f;
      }
    } else {
      for (int64_t j = 0; j < NR; j++) {
        if (j >= cols) {
          for (int64_t p = 0; p < kc; p++) panel[p * NR + j] = 0.f;
          continue;
        }
        const float* src = g.b + (j0 + jr + j) * g.ldb + p0;
        for (int64_t p = 0; p < kc; p++) panel[p * NR + j] = src[p];
      }
    }
  }
}

// acc = Ap·Bp over kc; then C = acc + beta·C (first K block) or C += acc, for the valid
// rows × cols of the tile.
void micro_kernel(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, float beta,
                  bool first, int64_t rows, int64_t cols) {
  vfloat acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = vfloat{};
  for (int64_t p = 0; p < kc; p++) {
    const vfloat b0 = vload(bp), b1 = vload(bp + kVecWidth);
    for (int i = 0; i < MR; i++) {
      acc[i][0] += b0 * ap[i];
      acc[i][1] += b1 * ap[i];
    }
    ap += MR;
    bp += NR;
  }
  if (rows == MR && cols == NR) {
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      if (!first) {
        vstore(ci, vload(ci) + acc[i][0]);
        vstore(ci + kVecWidth, vload(ci + kVecWidth) + acc[i][1]);
      } else if (beta == 0.f) {
        vstore(ci, acc[i][0]);
        vstore(ci + kVecWidth, acc[i][1]);
      } else {
        vstore(ci, vload(ci) * beta + acc[i][0]);
        vstore(ci + kVecWidth, vload(ci + kVecWidth) * beta + acc[i][1]);
      }
    }
    return;
  }
  float tile[MR][NR];
  for (int i = 0; i < MR; i++) {
    vstore(tile[i], acc[i][0]);
    vstore(tile[i] + kVecWidth, acc[i][1]);
  }
  for (int64_t i = 0; i < rows; i++) {
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < cols; j++) {
      if (!first) ci[j] += tile[i][j];
      else ci[j] = beta == 0.f ? tile[i][j] : beta * ci[j] + tile[i][j];
    }
  }
}

}  // namespace

void gemm_portable(const Gemm& g) {
  thread_local std::unique_ptr<float, FreeDeleter> a_buf, b_buf;
  float* ap = scratch(a_buf, MC * KC);
  float* bp = scratch(b_buf, KC * (NC + NR));
  for (int64_t j0 = 0; j0 < g.n; j0 += NC) {
    const int64_t nc = std::min(NC, g.n - j0);
    for (int64_t p0 = 0; p0 < g.k; p0 += KC) {
      const int64_t kc = std::min(KC, g.k - p0);
      const bool first = p0 == 0;
      pack_b(g, p0, kc, j0, nc, bp);
      for (int64_t i0 = 0; i0 < g.m; i0 += MC) {
        const int64_t mc = std::min(MC, g.m - i0);
        pack_a(g, i0, mc, p0, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          for (int64_t ir = 0; ir < mc; ir += MR) {
            micro_kernel(kc, ap + ir * kc, bp + jr * kc, g.c + (i0 + ir) * g.ldc + j0 + jr, g.ldc, g.beta, first,
                         std::min<int64_t>(MR, mc - ir), std::min<int64_t>(NR, nc - jr));
          }
        }
      }
    }
  }
}

}  // namespace df
