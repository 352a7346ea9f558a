// A persistent pool of worker threads shared by every kernel. Kernels are called back to back
// from JavaScript, so workers spin briefly between jobs (a wake-up through the OS costs more than
// most elementwise kernels) and then sleep, leaving the cores to other processes.
#pragma once
#include <cstdint>

namespace df {

/** Total threads that run a job, the calling thread included. */
int pool_threads();

/** Resizes the pool to `threads` (≥ 1) threads in all; waits for running jobs. */
void pool_set_threads(int threads);

/** True on a pool worker (or the caller while it runs a job): nested jobs then run inline. */
bool pool_in_job();

/**
 * Workers stop polling for the next job and sleep now: the caller is about to run threads of
 * its own (OpenBLAS's) that need the cores. The next job wakes them as usual.
 */
void pool_sleep();

using TaskFn = void (*)(void* ctx, int64_t task);

/** Runs fn(ctx, t) for every t in [0, tasks) across the pool; returns when all are done. */
void pool_run(int64_t tasks, TaskFn fn, void* ctx);

/**
 * Calls body(begin, end) over [0, n) split into chunks of at least `grain` items, in parallel
 * when there is more than one chunk. Chunks outnumber threads so that a thread the OS preempts
 * does not hold up the others.
 */
template <class Body>
void parallel_for(int64_t n, int64_t grain, const Body& body) {
  if (n <= 0) return;
  const int threads = pool_in_job() ? 1 : pool_threads();
  int64_t chunks = grain > 0 ? (n + grain - 1) / grain : n;
  const int64_t max_chunks = static_cast<int64_t>(threads) * 4;
  if (chunks > max_chunks) chunks = max_chunks;
  if (chunks <= 1 || threads == 1) {
    body(int64_t{0}, n);
    return;
  }
  struct Ctx { const Body* body; int64_t n; int64_t chunks; } ctx{&body, n, chunks};
  pool_run(chunks, [](void* p, int64_t t) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    const int64_t begin = c.n * t / c.chunks, end = c.n * (t + 1) / c.chunks;
    if (begin < end) (*c.body)(begin, end);
  }, &ctx);
}

}  // namespace df
