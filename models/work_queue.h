// client-go v0.17.3 util/workqueue: the rate-limiting work queue a controller
// drains, as one object: queue.go (FIFO + dirty set + processing set),
// delaying_queue.go (AddAfter's waiting heap) and rate_limiting_queue.go
// (AddRateLimited with DefaultControllerRateLimiter), plus the metrics of
// workqueue/metrics.go as registered by k8s.io/component-base v0.17.3
// metrics/prometheus/workqueue.
//
// Workers do not block in Get: the owner calls try_get() and is told through
// set_on_item_available() whenever a key is appended, which is where upstream
// would cond.Signal() a blocked worker. Shutdown is not modelled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "models/rate_limiter.h"
#include "sim/load_ahead.h"
#include "sim/metrics.h"
#include "sim/simulator.h"
#include "sim/time.h"

namespace epsim::models {

using Key = std::uint32_t;  // dense keys 0..key_space-1 (e.g. a service index)

class WorkQueue {
 public:
  // The simulator and the registry must outlive the queue (pending add_after
  // timers capture `this` and are cancelled by the destructor).
  // `cluster` and `name` label its workqueue_* series.
  WorkQueue(sim::Simulator& simulator, sim::MetricsRegistry& metrics, const std::string& cluster,
            const std::string& name, std::size_t key_space, ControllerRateLimiter::Config limiter = {});
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Called synchronously every time a key is appended to the FIFO (by add(),
  // by done() re-appending, or when an add_after timer fires). The callback
  // may call back into the queue (e.g. try_get).
  void set_on_item_available(std::function<void()> callback);

  // Add: dirty -> no-op keeping position; processing -> mark dirty, append at
  // done(); else mark dirty and append.
  void add(Key key);
  // AddAfter: retries_total++ first (even for delay <= 0); delay <= 0 -> add
  // now; else wait. A second add_after of a waiting key keeps the earlier
  // ready time.
  void add_after(Key key, sim::Duration delay);
  // AddRateLimited: add_after(key, limiter.when(key)).
  void add_rate_limited(Key key);
  void forget(Key key);
  int num_requeues(Key key) const;

  // Get without blocking: pops the head (dirty -> processing); false if the
  // FIFO is empty.
  bool try_get(Key& out);
  // Done: processing -> out; a key made dirty meanwhile goes to the tail.
  // Throws std::logic_error if the key is not being processed.
  void done(Key key);

  std::size_t len() const { return fifo_.size(); }
  // The key `ahead` places behind the head of the FIFO (0 = the head), if
  // there is one: what a worker will take soon, for a look-ahead.
  bool peek(std::size_t ahead, Key& out) const {
    if (ahead >= fifo_.size()) return false;
    out = fifo_[ahead];
    return true;
  }
  // Loads ahead of a read of `key`'s state (sim/load_ahead.h).
  void prefetch(Key key) const {
    if (key < keys_.size()) sim::load_ahead(&keys_[key]);
  }
  // The 1-based place of `key` in the FIFO (1 = next out); nullopt when it is
  // not waiting there. O(len): for reports, not for decisions.
  std::optional<std::size_t> position(Key key) const;
  std::size_t processing_count() const { return processing_count_; }
  std::size_t waiting_count() const { return waiting_count_; }
  std::size_t key_space() const { return keys_.size(); }
  bool is_dirty(Key key) const;
  bool is_processing(Key key) const;
  bool is_waiting(Key key) const;
  // When a waiting key's add_after timer fires; requires is_waiting(key).
  sim::Time ready_at(Key key) const;
  // FIFO empty and nothing processing (add_after timers may be pending).
  bool idle() const { return fifo_.empty() && processing_count_ == 0; }
  // The last instant the queue was idle: now when idle(), else when its
  // current busy spell began (a backlog's start, for app/invariants.h).
  sim::Time last_idle_at() const;
  // Time of the Add that made the key dirty, the start of its queue latency.
  // While the key is processing and not dirty again: the add time of the item
  // being processed. Throws std::logic_error when neither dirty nor processing.
  sim::Time added_at(Key key) const;
  // Non-deduplicated adds (= workqueue_adds_total).
  std::uint64_t adds_total() const { return adds_total_; }
  std::uint64_t retries_total() const { return retries_total_; }
  std::int64_t depth() const { return depth_; }  // = workqueue_depth
  const ControllerRateLimiter& limiter() const { return limiter_; }
  const std::string& name() const { return name_; }
  const std::string& cluster() const { return cluster_; }

 private:
  static constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::min();

  // 40 bytes per key; the FIFO holds each key at most once.
  static constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

  // 16 bytes per key: what only a few keys have at a time (a worker's key, a
  // pending add_after) lives in slot tables indexed from here (issue 12).
  struct KeyState {
    std::int64_t dirty_since_ns = kNone;  // metrics addTimes[item]; kNone = not dirty
    std::uint32_t processing = kNoSlot;   // its slot in processing_ while a worker has it
    std::uint32_t waiting = kNoSlot;      // its slot in timers_ while an add_after waits
  };
  struct Processing {
    std::int64_t added_ns = kNone;  // dirty_since of the item handed out
    std::int64_t since_ns = kNone;  // metrics processingStartTimes[item]
  };
  // A table of slots; the slot freed last is taken first.
  template <class T>
  struct Slots {
    std::vector<T> items;
    std::vector<std::uint32_t> free;
    std::uint32_t take(const T& value);
    void give_back(std::uint32_t slot);
  };

  void check_key(Key key) const;
  void check_counts() const;  // EPSIM_INVARIANT on the FIFO / dirty / processing counts
  void append(Key key);
  void on_timer(Key key);

  sim::Simulator& sim_;
  std::string cluster_;
  std::string name_;
  std::int64_t last_idle_ns_;
  ControllerRateLimiter limiter_;
  std::vector<KeyState> keys_;
  Slots<Processing> processing_;
  Slots<sim::EventId> timers_;  // a pending add_after's event; its time_ns is the readyAt
  std::deque<Key> fifo_;
  std::size_t processing_count_ = 0;
  std::size_t waiting_count_ = 0;
  std::int64_t depth_ = 0;
  std::uint64_t adds_total_ = 0;
  std::uint64_t retries_total_ = 0;
  std::function<void()> on_item_available_;

  sim::Gauge& depth_gauge_;
  sim::Counter& adds_counter_;
  sim::Histogram& queue_duration_;
  sim::Histogram& work_duration_;
  sim::Counter& retries_counter_;
};

}  // namespace epsim::models
