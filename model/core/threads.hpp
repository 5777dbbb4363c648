// The worker threads of the whole-file operations: a fixed pool, and a pipeline that runs jobs on it
// and hands their results back in submission order, with a bounded number in flight.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ws {

// `threads`, or one per hardware thread when it is 0.
unsigned resolve_threads(unsigned threads);

// A fixed set of worker threads running queued tasks. Destruction drops tasks not yet started.
class ThreadPool {
 public:
  explicit ThreadPool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      queue_.clear();
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  template <class R>
  std::future<R> submit(std::function<R()> f) {
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    std::future<R> result = task->get_future();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.emplace_back([task] { (*task)(); });
    }
    cv_.notify_one();
    return result;
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();  // a packaged_task: exceptions land in its future
    }
  }
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
};

// Runs jobs on the pool and hands each result to its consumer in submission order, on the calling
// thread. At most `limit` results are pending, which bounds memory.
template <class R>
class OrderedPipeline {
 public:
  explicit OrderedPipeline(unsigned threads) : limit_(2 * size_t(threads) + 2), pool_(threads) {}
  void run(std::function<R()> work, std::function<void(R&)> consume) {
    push(pool_.submit<R>(std::move(work)), std::move(consume));
  }
  // A result already at hand (literal bytes), consumed in order with the others.
  void ready(R value, std::function<void(R&)> consume) {
    std::promise<R> p;
    p.set_value(std::move(value));
    push(p.get_future(), std::move(consume));
  }
  // An action run in order after everything submitted before it.
  void then(std::function<void()> action) {
    ready(R{}, [action = std::move(action)](R&) { action(); });
  }
  void finish() {
    while (!pending_.empty()) pop();
  }

 private:
  struct Entry {
    std::future<R> result;
    std::function<void(R&)> consume;
  };
  void push(std::future<R> f, std::function<void(R&)> consume) {
    pending_.push_back({std::move(f), std::move(consume)});
    while (pending_.size() > limit_) pop();
  }
  void pop() {
    Entry e = std::move(pending_.front());
    pending_.pop_front();
    R r = e.result.get();  // rethrows a worker's exception
    e.consume(r);
  }
  size_t limit_;
  std::deque<Entry> pending_;  // destroyed after the pool has stopped (declared before it)
  ThreadPool pool_;
};

}  // namespace ws
