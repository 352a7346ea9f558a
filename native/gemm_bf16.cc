// The bf16 GEMM: C = op(A)·op(B) (+ beta·C) on float32 matrices whose products are taken in
// bfloat16 and summed in float32 (AVX512-BF16's vdpbf16ps: each instruction adds the products
// of two adjacent k to every float32 accumulator). A and B are rounded to bf16 (to nearest even)
// while their panels are packed, which the blocked GEMM does anyway, so the rounding costs no
// pass over memory of its own.
//
// The blocking: a block of B (KC × NC, wider when k is short) is packed (in bf16 pairs along k)
// and stays in cache while each MR×KC panel of A, packed in turn, stays in L1 and sweeps across it
// with an MR×NR register-tile micro-kernel. The micro-kernel broadcasts one pair of A per row and
// k-pair, so A's rows need only be converted to pairs, each row kept whole (pack_a); B's panels
// hold one pair per column, 32 columns per k-pair, which Bᵀ's rows must be transposed into. k is
// cut into blocks of KC from 0 whatever the thread count, and threads split only rows of C, so
// every element of C is summed in the same order on any number of threads.
//
// Compiled only where the compiler targets AVX512-BF16 (the addon is built with -march=native on
// the machine that runs it); elsewhere gemm_bf16_built() is false and callers use float32.
#include "gemm.h"

#if defined(__AVX512BF16__) && defined(__AVX512BW__)
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

#include "pool.h"

namespace df {
namespace {

constexpr int MR = 12;  // 12×2 accumulators + 2 B vectors fit the 32 vector registers
constexpr int NR = 32;  // two vectors of 16 float32 columns
constexpr int64_t KC = 2048;  // k per block (even: blocks hold whole pairs)
// A packed block of B holds at most KC/2 × NC words (4 MB, in L3). When k is short the block
// takes more columns instead: every column block packs each panel of A again, so a product with
// k = 512 and n = 2048 (T5's feed-forward) packed A twice, and the LM head (n = 8192) eight
// times. The column blocks do not change any sum (only k blocks do), so the bits stay the same.
constexpr int64_t NC = 1024;
constexpr int64_t kBlockWords = (KC / 2) * NC;

// Columns per packed block of B for k blocks of `kc`: a multiple of NR, at least NC. A block
// capped to fit L2 (1 MB) when k is short, A packed again per block, was no faster: the LM head's
// 512×8192×128 A·Bᵀ stayed within ±2% with blocks of 256 KB to 768 KB, and 2048×2048×512 took
// 3–6% longer with 512 KB. The LM head's slowness (170 GFLOP/s against 200) came from the
// micro-kernel's accumulators going through the stack.
int64_t columns_per_block(int64_t kc) {
  const int64_t pairs = (std::min(KC, kc) + 1) / 2;
  return std::max<int64_t>(NC, kBlockWords / pairs / NR * NR);
}

static_assert(KC % 2 == 0, "k blocks hold whole bf16 pairs");

// Words between rows of a packed panel of A (not transposed): a k block's pairs and 16 more, so
// that the 12 rows fall in different L1 sets (4 KB apart, they would share one). A compile-time
// stride lets the micro-kernel address every row from one pointer.
constexpr int64_t kARowStride = KC / 2 + 16;

// Where the micro-kernel finds pair p of row i of a panel of A: ap[i·row + p·pair].
struct ARows {  // A's rows packed in order (pack_a, not transposed)
  static constexpr int64_t row = kARowStride, pair = 1;
};
struct APairs {  // one pair of every row after another (pack_a, Aᵀ)
  static constexpr int64_t row = 1, pair = MR;
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<uint32_t, FreeDeleter>;

// Zeroed once: the micro-kernel reads the rows of A's last panel past m, never written, whose
// sums it drops; zeros there (or stale pairs later) keep those reads defined.
uint32_t* scratch(Buffer& slot, size_t words) {  // the same size on every call
  if (!slot) {
    slot.reset(static_cast<uint32_t*>(std::aligned_alloc(64, words * sizeof(uint32_t))));
    std::memset(slot.get(), 0, words * sizeof(uint32_t));
  }
  return slot.get();
}

// Round to nearest even, as vcvtneps2bf16 does (a NaN stays a NaN).
inline uint32_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

inline uint32_t bf16_pair(float lo, float hi) { return bf16_bits(lo) | (bf16_bits(hi) << 16); }

// Word order that turns [r0 × 16 | r1 × 16] (vcvtne2ps2bf16's halves) into pairs (r0[i], r1[i]).
const __m512i kInterleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                             21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);

// 16 bf16 pairs from up to 32 floats of a line (n of them present; the rest read as zero).
inline __m512i pairs16(const float* line, int64_t n) {
  if (n >= 32) return (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(line + 16), _mm512_loadu_ps(line));
  const __mmask16 lo = n >= 16 ? 0xffff : static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 hi = n <= 16 ? 0 : static_cast<__mmask16>((1u << (n - 16)) - 1);
  return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, line + 16), _mm512_maskz_loadu_ps(lo, line));
}

// The same 16 pairs from up to 32 values already in bf16 (n of them present).
inline __m512i pairs16(const uint16_t* line, int64_t n) {
  if (n >= 32) return _mm512_loadu_si512(line);
  return _mm512_maskz_loadu_epi16(static_cast<__mmask32>((uint64_t{1} << n) - 1), line);
}

// Transposes 16 vectors of 16 words: r[i][j] becomes r[j][i].
inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  // Within each 128-bit lane, r[4g + j] now holds column j of rows 4g..4g+3.
  for (int g = 0; g < 16; g += 4) {
    r[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
    r[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
    r[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
    r[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
  }
  // Column 4L + j is lane L of r[j], r[4 + j], r[8 + j], r[12 + j].
  for (int j = 0; j < 4; j++) {
    const __m512i a = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xdd);
    const __m512i c = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x88), d = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xdd);
    t[j] = _mm512_shuffle_i32x4(a, c, 0x88);
    t[8 + j] = _mm512_shuffle_i32x4(a, c, 0xdd);
    t[4 + j] = _mm512_shuffle_i32x4(b, d, 0x88);
    t[12 + j] = _mm512_shuffle_i32x4(b, d, 0xdd);
  }
  for (int i = 0; i < 16; i++) r[i] = t[i];
}

// Packs a panel of `width` (NR) lines for k in [0, kc) and lines [0, valid): out[p·width + w]
// holds the bf16 pair (k = 2p, 2p+1) of line w; lines ≥ valid and a k past kc are zero. Two source
// orders: each line contiguous along k, lines `stride` apart (Bᵀ's columns), or each k contiguous
// along the lines, k rows `ld` apart (B's rows). A needs neither: see pack_a.
void pack_along_k(const float* src, int64_t stride, int64_t kc, int width, int valid, uint32_t* out) {
  const int64_t pairs = (kc + 1) / 2;
  // Each line is converted whole first (read in order, which the prefetchers follow), then 16
  // lines at a time are turned, 16 pairs at a time, into vectors of one pair across the lines.
  alignas(64) thread_local uint32_t lines[16][KC / 2 + 16];
  for (int w0 = 0; w0 < width; w0 += 16) {
    const int count = std::clamp(valid - w0, 0, 16);
    const int lanes = std::min(16, width - w0);
    const __mmask16 store = lanes == 16 ? 0xffff : static_cast<__mmask16>((1u << lanes) - 1);
    for (int w = 0; w < 16; w++) {
      uint32_t* line = lines[w];
      if (w >= count) {
        for (int64_t p = 0; p < pairs; p += 16) _mm512_store_si512(line + p, _mm512_setzero_si512());
        continue;
      }
      const float* from = src + (w0 + w) * stride;
      for (int64_t p = 0; p < pairs; p += 16) _mm512_store_si512(line + p, pairs16(from + 2 * p, kc - 2 * p));
    }
    for (int64_t p = 0; p < pairs; p += 16) {
      __m512i r[16];
      for (int w = 0; w < 16; w++) r[w] = _mm512_load_si512(lines[w] + p);
      transpose16(r);
      const int64_t n = std::min<int64_t>(16, pairs - p);
      for (int64_t q = 0; q < n; q++) _mm512_mask_storeu_epi32(out + (p + q) * width + w0, store, r[q]);
    }
  }
}

// Values [w, w+16) of two k-rows (r1 null past k; `mask` the ones present) as [r0 × 16 | r1 × 16]
// bf16 words: from float32 rounded by vcvtne2ps2bf16, from bf16 storage as they are.
inline __m512i two_rows(const float* r0, const float* r1, __mmask16 mask) {
  const __m512 a = _mm512_maskz_loadu_ps(mask, r0);
  const __m512 b = r1 ? _mm512_maskz_loadu_ps(mask, r1) : _mm512_setzero_ps();
  return (__m512i)_mm512_cvtne2ps_pbh(b, a);
}
inline __m512i two_rows(const uint16_t* r0, const uint16_t* r1, __mmask16 mask) {
  const __m256i a = _mm256_maskz_loadu_epi16(mask, r0);
  const __m256i b = r1 ? _mm256_maskz_loadu_epi16(mask, r1) : _mm256_setzero_si256();
  return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

template <class T>
void pack_across_k(const T* src, int64_t ld, int64_t kc, int width, int valid, uint32_t* out) {
  const int64_t pairs = (kc + 1) / 2;
  const __mmask16 full = 0xffff;
  for (int64_t p = 0; p < pairs; p++) {
    const T* r0 = src + 2 * p * ld;
    const T* r1 = 2 * p + 1 < kc ? r0 + ld : nullptr;
    uint32_t* dst = out + p * width;
    for (int w = 0; w < width; w += 16) {
      const int n = std::clamp(valid - w, 0, 16);
      const int lanes = std::min(16, width - w);
      const __mmask16 mask = n == 16 ? full : static_cast<__mmask16>((1u << n) - 1);
      const __mmask16 store = lanes == 16 ? full : static_cast<__mmask16>((1u << lanes) - 1);
      const __m512i words = two_rows(r0 + w, r1 ? r1 + w : nullptr, mask);
      _mm512_mask_storeu_epi32(dst + w, store, _mm512_permutexvar_epi16(kInterleave, words));
    }
  }
}

// Pair p (k-rows r0 and r1; r1 null past k) of `rows` rows of C, in Aᵀ's panels (APairs: the panel of
// rows ir.. at out + ir·pairs, pair p at p·MR in it). A k-row of A holds that k of every row of C,
// so each panel's 12 values are contiguous in it.
template <class T>
inline void pack_at_pair(const T* r0, const T* r1, int64_t rows, int64_t pairs, int64_t p, uint32_t* out) {
  for (int64_t ir = 0; ir < rows; ir += MR) {
    const int valid = static_cast<int>(std::min<int64_t>(MR, rows - ir));
    const __m512i words = two_rows(r0 + ir, r1 ? r1 + ir : nullptr, static_cast<__mmask16>((1u << valid) - 1));
    _mm512_mask_storeu_epi32(out + ir * pairs + p * MR, (1u << MR) - 1, _mm512_permutexvar_epi16(kInterleave, words));
  }
}

// A's rows [i0, i0+mc) × k [p0, p0+kc), not transposed, in pack_a's ARows layout. The first `ahead`
// rows of the group this thread packs next (from row `next`) are asked into L2 meanwhile: they
// arrive while this group's micro-kernels run, where a cold A otherwise stalled each pack.
template <class T>
void pack_rows(const T* a, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, uint32_t* out, int64_t next,
               int64_t ahead) {
  const int64_t pairs = (kc + 1) / 2;
  constexpr int64_t kLineBytes = 64, kPanelBytes = 32 * sizeof(T);  // 16 pairs
  for (int64_t i = 0; i < mc; i++) {
    const T* from = a + (i0 + i) * lda + p0;
    uint32_t* line = out + i * kARowStride;
    const char* next_row = i < ahead ? reinterpret_cast<const char*>(a + (next + i) * lda + p0) : nullptr;
    for (int64_t p = 0; p < pairs; p += 16) {
      if (next_row) {
        for (int64_t b = 0; b < kPanelBytes; b += kLineBytes) _mm_prefetch(next_row + p / 16 * kPanelBytes + b, _MM_HINT_T1);
      }
      _mm512_store_si512(line + p, pairs16(from + 2 * p, kc - 2 * p));
    }
  }
}

// Packs rows [i0, i0+mc) × k [p0, p0+kc) of op(A) into MR-row panels, in one of two layouts.
// A's rows (contiguous along k) keep their order (ARows): each row is only converted to bf16
// pairs, row i at out + i·kARowStride, rows past mc not written (the micro-kernel reads them but
// never stores their sums). Transposing them as Bᵀ's are, a quarter of the lines zero filler at
// MR = 12, cost 6–10% of a product. Aᵀ's rows (one k each) give pairs across the rows instead, so
// Aᵀ is packed pair by pair (APairs, out[p·MR + i]), its rows read once for all the panels, a few
// cache lines at a time, rather than once per panel.
template <class T>
void pack_a_from(const Gemm& g, const T* a, int64_t i0, int64_t mc, int64_t p0, int64_t kc, uint32_t* out, int64_t next,
                 int64_t ahead) {
  if (!g.trans_a) return pack_rows(a, g.lda, i0, mc, p0, kc, out, next, ahead);
  const int64_t pairs = (kc + 1) / 2;
  // The next group's columns (from `next`) of the same two k-rows are asked into L2, as above.
  // Only for groups of several panels: a single panel's 12 columns mostly share their cache lines
  // with the next one's, and the prefetches only doubled the loop (3% slower at m = 128 on two
  // threads).
  const bool prefetch = mc > MR && ahead > 0;
  for (int64_t p = 0; p < pairs; p++) {
    const int64_t k0 = p0 + 2 * p;
    if (prefetch) {
      for (int r = 0; r < 2 && 2 * p + r < kc; r++) {
        const T* cols = a + (k0 + r) * g.lda + next;
        for (int64_t c = 0; c < ahead; c += 16) _mm_prefetch(reinterpret_cast<const char*>(cols + c), _MM_HINT_T1);
        _mm_prefetch(reinterpret_cast<const char*>(cols + ahead - 1), _MM_HINT_T1);
      }
    }
    const T* r0 = a + k0 * g.lda + i0;
    pack_at_pair(r0, 2 * p + 1 < kc ? r0 + g.lda : nullptr, mc, pairs, p, out);
  }
}

void pack_a(const Gemm& g, int64_t i0, int64_t mc, int64_t p0, int64_t kc, uint32_t* out, int64_t next) {
  const int64_t ahead = std::clamp<int64_t>(g.m - next, 0, mc);  // rows of the group to prefetch
  if (g.a16) return pack_a_from(g, g.a16, i0, mc, p0, kc, out, next, ahead);
  pack_a_from(g, g.a, i0, mc, p0, kc, out, next, ahead);
}

// Pairs [q0, q1) of a k block of Aᵀ for every row of C, in pack_a's layout for Aᵀ (the panel of
// rows ir.. at out + ir·pairs). Each k-row of A is read once and in order; packed a group of rows at
// a time instead, every group read each k-row again, a few lines lda apart at a time, which kept a
// weight gradient's products (Aᵀ·B) 3–7% slower than the same products with A not transposed.
template <class T>
void pack_a_whole(const Gemm& g, const T* a, int64_t p0, int64_t kc, int64_t q0, int64_t q1, uint32_t* out) {
  const int64_t pairs = (kc + 1) / 2;
  for (int64_t p = q0; p < q1; p++) {
    const T* r0 = a + (p0 + 2 * p) * g.lda;
    pack_at_pair(r0, 2 * p + 1 < kc ? r0 + g.lda : nullptr, g.m, pairs, p, out);
  }
}

void pack_a_whole(const Gemm& g, int64_t p0, int64_t kc, int64_t q0, int64_t q1, uint32_t* out) {
  if (g.a16) pack_a_whole(g, g.a16, p0, kc, q0, q1, out);
  else pack_a_whole(g, g.a, p0, kc, q0, q1, out);
}

// Words of Aᵀ packed whole for one k block (pack_a_whole), or 0 where Aᵀ is packed a group of rows at a
// time instead: A not transposed (its rows are read in order either way), or a whole copy past 16 MB.
int64_t whole_a_words(const Gemm& g) {
  constexpr int64_t kMaxWords = int64_t{4} << 20;
  if (!g.trans_a) return 0;
  const int64_t words = (g.m + MR - 1) / MR * MR * ((std::min(KC, g.k) + 1) / 2);
  return words <= kMaxWords ? words : 0;
}

// Pack tasks of Aᵀ packed whole: this many pairs each.
constexpr int64_t kPairsPerTask = 8;

// Whether the column block from j0 needs Aᵀ packed whole again: with one k block, the copy packed for
// the first column block serves every other.
bool packs_a_whole_at(const Gemm& g, int64_t j0) { return j0 == 0 || g.k > KC; }

// Packs k [p0, p0+kc) × columns [j0, j0+nc) of op(B) into NR-column panels.
void pack_b(const Gemm& g, int64_t p0, int64_t kc, int64_t j0, int64_t nc, uint32_t* out) {
  const int64_t pairs = (kc + 1) / 2;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int valid = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    uint32_t* panel = out + jr * pairs;
    if (g.b16) pack_across_k(g.b16 + p0 * g.ldb + j0 + jr, g.ldb, kc, NR, valid, panel);
    else if (!g.trans_b) pack_across_k(g.b + p0 * g.ldb + j0 + jr, g.ldb, kc, NR, valid, panel);
    else pack_along_k(g.b + (j0 + jr) * g.ldb + p0, g.ldb, kc, NR, valid, panel);
  }
}

// f(i) for every row i of a tile, i a compile-time constant: the accumulators, an array indexed by
// constants only, then live in registers from start to end. Indexed by a loop's row (the partial
// tile's store), they went through the stack on every call: zeroed there, stored after the
// products, loaded again for the stores to C.
template <class F, size_t... I>
inline __attribute__((always_inline)) void each_row(const F& f, std::index_sequence<I...>) {
  (f(std::integral_constant<int, I>{}), ...);
}
template <class F>
inline __attribute__((always_inline)) void each_row(const F& f) {
  each_row(f, std::make_index_sequence<MR>{});
}

// acc = Ap·Bp over `pairs` k-pairs; then C = acc + beta·C (first k block) or C += acc, for the
// valid rows × cols of the tile. Either layout of A (ARows, APairs) gives the same vdpbf16ps
// over the same pairs in the same order, so the same bits.
// With c16 instead of c, C is stored in bf16, rounded as to_bf16 rounds (one k block, beta 0).
template <class Layout>
void micro_kernel(int64_t pairs, const uint32_t* ap, const uint32_t* bp, float* c, uint16_t* c16, int64_t ldc, float beta,
                  bool first, int64_t rows, int64_t cols) {
  __m512 acc[MR][2];
  each_row([&](auto i) { acc[i][0] = acc[i][1] = _mm512_setzero_ps(); });
  // C's tile arrives from memory while the products run (it is written, or read and written, at the end).
  for (int64_t i = 0; i < rows; i++) {
    if (c16) {
      _mm_prefetch(reinterpret_cast<const char*>(c16 + i * ldc), _MM_HINT_T0);
      continue;
    }
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < pairs; p++) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(bp), b1 = (__m512bh)_mm512_load_si512(bp + 16);
    each_row([&](auto i) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[i * Layout::row]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
    });
    ap += Layout::pair;
    bp += NR;
  }
  if (c16) {
    const __mmask16 lo = static_cast<__mmask16>((1u << std::min<int64_t>(cols, 16)) - 1);
    const __mmask16 hi = static_cast<__mmask16>((1u << std::clamp<int64_t>(cols - 16, 0, 16)) - 1);
    each_row([&](auto i) {
      if (i >= rows) return;
      _mm256_mask_storeu_epi16(c16 + i * ldc, lo, (__m256i)_mm512_cvtneps_pbh(acc[i][0]));
      _mm256_mask_storeu_epi16(c16 + i * ldc + 16, hi, (__m256i)_mm512_cvtneps_pbh(acc[i][1]));
    });
    return;
  }
  if (rows == MR && cols == NR) {
    const auto store = [&](float* p, __m512 v) {
      if (!first) _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), v));
      else if (beta == 0.f) _mm512_storeu_ps(p, v);
      else _mm512_storeu_ps(p, _mm512_fmadd_ps(_mm512_loadu_ps(p), _mm512_set1_ps(beta), v));
    };
    each_row([&](auto i) {
      store(c + i * ldc, acc[i][0]);
      store(c + i * ldc + 16, acc[i][1]);
    });
    return;
  }
  const __mmask16 lo = static_cast<__mmask16>((1u << std::min<int64_t>(cols, 16)) - 1);
  const __mmask16 hi = static_cast<__mmask16>((1u << std::clamp<int64_t>(cols - 16, 0, 16)) - 1);
  const auto store = [&](float* p, __mmask16 mask, __m512 v) {
    if (!first) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, p), v);
    else if (beta != 0.f) v = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, p), _mm512_set1_ps(beta), v);
    _mm512_mask_storeu_ps(p, mask, v);
  };
  each_row([&](auto i) {
    if (i >= rows) return;
    store(c + i * ldc, lo, acc[i][0]);
    store(c + i * ldc + 16, hi, acc[i][1]);
  });
}

// Rows of A packed together, and one pool task. Aᵀ's rows are read in runs of four panels (pack_a),
// fewer passes over them, but on a pool only while that leaves every thread several tasks: a
// weight gradient with 128 rows made three tasks of 48 rows for two threads, so one thread idled
// a third of the time.
int64_t group_rows(const Gemm& g, int threads) {
  constexpr int64_t kTasksPerThread = 4;
  return g.trans_a && (threads == 1 || g.m >= 4 * MR * kTasksPerThread * threads) ? 4 * MR : MR;
}

// Rows [r0, r1) of C's columns [j0, j0+nc) for one k block, B's block already packed: a group of
// MR-row panels of A is packed, then each panel (in L1) sweeps across B's panels (from L2). The
// group `stride` rows on is the one this thread likely packs next, whose rows pack_a prefetches:
// the next group on one thread; on the pool, whose threads take the row tasks in turn, the group
// a task per thread on. Prefetching simply the next group there cost 5-10% more CPU time with
// cold operands on two threads, as the other thread took it.
void panel_rows(const Gemm& g, int64_t group, int64_t stride, const uint32_t* bp, int64_t r0, int64_t r1, int64_t p0,
                int64_t kc, int64_t j0, int64_t nc) {
  thread_local Buffer buf;
  uint32_t* ap = scratch(buf, 4 * MR * kARowStride);  // a group of panels in either layout
  const int64_t pairs = (kc + 1) / 2;
  const bool first = p0 == 0;
  for (int64_t g0 = r0; g0 < r1; g0 += group) {
    const int64_t rows = std::min(group, r1 - g0);
    pack_a(g, g0, rows, p0, kc, ap, g0 + stride);
    for (int64_t ir = 0; ir < rows; ir += MR) {
      for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t at = (g0 + ir) * g.ldc + j0 + jr;
        float* c = g.c16 ? nullptr : g.c + at;
        uint16_t* c16 = g.c16 ? g.c16 + at : nullptr;
        const int64_t tile_rows = std::min<int64_t>(MR, rows - ir), tile_cols = std::min<int64_t>(NR, nc - jr);
        if (g.trans_a) {
          micro_kernel<APairs>(pairs, ap + ir * pairs, bp + jr * pairs, c, c16, g.ldc, g.beta, first, tile_rows, tile_cols);
        } else {
          micro_kernel<ARows>(pairs, ap + ir * kARowStride, bp + jr * pairs, c, c16, g.ldc, g.beta, first, tile_rows, tile_cols);
        }
      }
    }
  }
}

// Rows [r0, r1) of C's columns [j0, j0+nc) for one k block, Aᵀ packed whole (from row 0 at ap) and
// B's block packed.
void packed_rows(const Gemm& g, const uint32_t* ap, const uint32_t* bp, int64_t r0, int64_t r1, int64_t p0, int64_t kc,
                 int64_t j0, int64_t nc) {
  const int64_t pairs = (kc + 1) / 2;
  for (int64_t ir = r0; ir < r1; ir += MR) {
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int64_t at = ir * g.ldc + j0 + jr;
      micro_kernel<APairs>(pairs, ap + ir * pairs, bp + jr * pairs, g.c16 ? nullptr : g.c + at, g.c16 ? g.c16 + at : nullptr,
                           g.ldc, g.beta, p0 == 0, std::min<int64_t>(MR, r1 - ir), std::min<int64_t>(NR, nc - jr));
    }
  }
}

// The calling thread's copy of Aᵀ packed whole, grown to the largest product's.
uint32_t* whole_a_scratch(int64_t words) {
  thread_local Buffer buf;
  thread_local int64_t capacity = 0;
  if (words > capacity) {
    buf.reset(static_cast<uint32_t*>(std::aligned_alloc(64, (words * sizeof(uint32_t) + 63) / 64 * 64)));
    capacity = words;
  }
  return buf.get();
}

uint32_t* b_scratch() {
  thread_local Buffer buf;
  return scratch(buf, kBlockWords + (KC / 2) * NR);
}

}  // namespace

bool gemm_bf16_built() { return true; }

void to_bf16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(y + i, mask, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

// C stored in bf16 takes each sum whole: one k block, nothing of C's old value.
void check_c16(const Gemm& g) {
  if (g.c16 && (g.k > KC || g.beta != 0.f)) throw std::invalid_argument("bf16 GEMM: a C stored in bf16 needs k <= 2048 and beta 0");
}

void gemm_bf16_serial(const Gemm& g) {
  check_c16(g);
  uint32_t* bp = b_scratch();
  const int64_t whole = whole_a_words(g);
  uint32_t* ap = whole ? whole_a_scratch(whole) : nullptr;
  const int64_t block = columns_per_block(g.k);
  for (int64_t j0 = 0; j0 < g.n; j0 += block) {
    const int64_t nc = std::min(block, g.n - j0);
    for (int64_t p0 = 0; p0 < g.k; p0 += KC) {
      const int64_t kc = std::min(KC, g.k - p0);
      pack_b(g, p0, kc, j0, nc, bp);
      if (ap) {
        if (packs_a_whole_at(g, j0)) pack_a_whole(g, p0, kc, 0, (kc + 1) / 2, ap);
        packed_rows(g, ap, bp, 0, g.m, p0, kc, j0, nc);
        continue;
      }
      const int64_t group = group_rows(g, 1);
      panel_rows(g, group, group, bp, 0, g.m, p0, kc, j0, nc);
    }
  }
}

// One product on the pool: for each block of B (columns_per_block) the threads pack it together, one
// NR-column panel per task (and Aᵀ, a few k-rows per task, where it is packed whole), then take MR-row
// panels of A (a few for a long Aᵀ packed by groups) at a time, each packing its own, until none are
// left. Tasks this small keep every thread busy to the end (a weight gradient's block of B can be just
// four panels), and a thread the OS preempts holds up one panel at most.
void gemm_bf16_parallel(const Gemm& g) {
  check_c16(g);
  uint32_t* bp = b_scratch();  // the calling thread's, shared with the pool for the call
  const int64_t whole = whole_a_words(g);
  const int64_t group = whole ? MR : group_rows(g, pool_threads());
  struct Ctx { const Gemm* g; uint32_t* bp; uint32_t* ap; int64_t group, stride, p0, kc, j0, nc, b_tasks; };
  Ctx c{&g, bp, whole ? whole_a_scratch(whole) : nullptr, group, pool_threads() * group, 0, 0, 0, 0, 0};
  const int64_t block = columns_per_block(g.k);
  for (int64_t j0 = 0; j0 < g.n; j0 += block) {
    const int64_t nc = std::min(block, g.n - j0);
    for (int64_t p0 = 0; p0 < g.k; p0 += KC) {
      c.p0 = p0;
      c.kc = std::min(KC, g.k - p0);
      c.j0 = j0;
      c.nc = nc;
      c.b_tasks = (nc + NR - 1) / NR;
      const int64_t pairs = (c.kc + 1) / 2;
      const int64_t a_tasks = c.ap && packs_a_whole_at(g, j0) ? (pairs + kPairsPerTask - 1) / kPairsPerTask : 0;
      pool_run(c.b_tasks + a_tasks, [](void* p, int64_t t) {
        const Ctx& c = *static_cast<const Ctx*>(p);
        const int64_t pairs = (c.kc + 1) / 2;
        if (t >= c.b_tasks) {
          const int64_t q0 = (t - c.b_tasks) * kPairsPerTask;
          pack_a_whole(*c.g, c.p0, c.kc, q0, std::min(pairs, q0 + kPairsPerTask), c.ap);
          return;
        }
        const int64_t c0 = t * NR;
        pack_b(*c.g, c.p0, c.kc, c.j0 + c0, std::min<int64_t>(NR, c.nc - c0), c.bp + c0 * pairs);
      }, &c);
      pool_run((g.m + group - 1) / group, [](void* p, int64_t t) {
        const Ctx& c = *static_cast<const Ctx*>(p);
        const int64_t r0 = t * c.group, r1 = std::min(c.g->m, r0 + c.group);
        if (c.ap) packed_rows(*c.g, c.ap, c.bp, r0, r1, c.p0, c.kc, c.j0, c.nc);
        else panel_rows(*c.g, c.group, c.stride, c.bp, r0, r1, c.p0, c.kc, c.j0, c.nc);
      }, &c);
    }
  }
}

}  // namespace df

#else
namespace df {
bool gemm_bf16_built() { return false; }
void to_bf16(const float*, uint16_t*, int64_t) {}
void gemm_bf16_serial(const Gemm&) {}
void gemm_bf16_parallel(const Gemm&) {}
}  // namespace df
#endif
