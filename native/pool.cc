#include "pool.h"

#include "denormals.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DF_PAUSE() _mm_pause()
#else
#define DF_PAUSE() std::this_thread::yield()
#endif

namespace df {
namespace {

// How long a worker keeps polling for the next job before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(200);

thread_local bool in_job = false;

class Pool {
 public:
  ~Pool() { stop(); }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void sleep() { sleep_.store(true, std::memory_order_relaxed); }

  void resize(int threads) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    stop();
    stopping_ = false;
    // A worker must know the generation it starts at before any job can begin: read here, not
    // on the new thread, or a job posted before the thread runs would be missed forever.
    const uint64_t start = generation_.load();
    for (int i = 1; i < threads; i++) workers_.emplace_back([this, start] { work(start); });
  }

  void run(int64_t tasks, TaskFn fn, void* ctx) {
    std::lock_guard<std::mutex> run_lock(run_mutex_);
    if (workers_.empty()) {
      in_job = true;
      for (int64_t t = 0; t < tasks; t++) fn(ctx, t);
      in_job = false;
      return;
    }
    sleep_.store(false, std::memory_order_relaxed);
    fn_ = fn;
    ctx_ = ctx;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    open_.store(true, std::memory_order_seq_cst);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    in_job = true;
    drain();
    in_job = false;
    // Every task is claimed. Wait only for the workers that joined (they may still run one);
    // a worker the OS has not run yet finds the job closed and stays out. Waiting for every
    // worker instead made each product wait out a preempted idle worker, milliseconds at times.
    open_.store(false, std::memory_order_seq_cst);
    while (joined_.load(std::memory_order_seq_cst) != 0) DF_PAUSE();
  }

 private:
  void drain() {
    for (;;) {
      const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks_) return;
      fn_(ctx_, t);
    }
  }

  void work(uint64_t seen) {
    in_job = true;
    flush_denormals_always();
    for (;;) {
      const auto spin_until = std::chrono::steady_clock::now() + kSpin;
      int polls = 0;
      while (generation_.load(std::memory_order_acquire) == seen && !stopping_.load()) {
        DF_PAUSE();
        if (++polls % 64 == 0 && (sleep_.load(std::memory_order_relaxed) || std::chrono::steady_clock::now() > spin_until)) {
          std::unique_lock<std::mutex> lock(mutex_);
          cv_.wait(lock, [&] { return generation_.load() != seen || stopping_.load(); });
        }
      }
      if (stopping_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      // Join, then look: the caller closes, then counts who joined (both seq_cst), so either it
      // waits for this worker or this worker sees the job closed and touches none of its state.
      joined_.fetch_add(1, std::memory_order_seq_cst);
      if (open_.load(std::memory_order_seq_cst)) drain();
      joined_.fetch_sub(1, std::memory_order_release);
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::mutex run_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> sleep_{false};  // set by sleep(): stop polling before the spin time is up
  std::atomic<int64_t> next_{0};
  std::atomic<bool> open_{false};  // the current job takes workers
  std::atomic<int> joined_{0};     // workers inside the current job
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t tasks_ = 0;
};

Pool& pool() {
  static Pool* p = [] {
    auto* q = new Pool();  // never destroyed: workers must outlive static destruction order
    q->resize(static_cast<int>(std::thread::hardware_concurrency() > 0 ? std::thread::hardware_concurrency() : 1));
    return q;
  }();
  return *p;
}

}  // namespace

int pool_threads() { return pool().threads(); }
void pool_set_threads(int threads) { pool().resize(threads < 1 ? 1 : threads); }
bool pool_in_job() { return in_job; }
void pool_sleep() { pool().sleep(); }
void pool_run(int64_t tasks, TaskFn fn, void* ctx) {
  if (tasks <= 0) return;
  if (in_job) {
    for (int64_t t = 0; t < tasks; t++) fn(ctx, t);
    return;
  }
  pool().run(tasks, fn, ctx);
}

}  // namespace df
