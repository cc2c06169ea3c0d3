#include "models/work_queue.h"

#include <stdexcept>
#include <utility>

#include "models/token_bucket.h"
#include "sim/invariant.h"

namespace epsim::models {

namespace {

// component-base v0.17.3 metrics/prometheus/workqueue/metrics.go: the
// duration histograms use prometheus.ExponentialBuckets(10e-9, 10, 10).
std::vector<double> duration_buckets() { return sim::Histogram::exponential_buckets(1e-8, 10, 10); }

// workqueue/metrics.go: sinceInSeconds = clock.Since(start).Seconds().
double seconds_since(sim::Time now, std::int64_t start_ns) { return go_seconds(now - sim::Time::from_ns(start_ns)); }

}  // namespace

template <class T>
std::uint32_t WorkQueue::Slots<T>::take(const T& value) {
  if (free.empty()) {
    EPSIM_INVARIANT(items.size() < kNoSlot, "workqueue slot table full");
    items.push_back(value);
    return static_cast<std::uint32_t>(items.size() - 1);
  }
  const std::uint32_t slot = free.back();
  free.pop_back();
  items[slot] = value;
  return slot;
}

template <class T>
void WorkQueue::Slots<T>::give_back(std::uint32_t slot) {
  items[slot] = T{};
  free.push_back(slot);
}

WorkQueue::WorkQueue(sim::Simulator& simulator, sim::MetricsRegistry& metrics, const std::string& cluster,
                     const std::string& name, std::size_t key_space, ControllerRateLimiter::Config limiter)
    : sim_(simulator),
      cluster_(cluster),
      name_(name),
      last_idle_ns_(simulator.now().ns()),
      limiter_(limiter, simulator.now(), key_space),
      keys_(key_space),
      // Names, help texts and the label `name` as component-base v0.17.3
      // metrics/prometheus/workqueue/metrics.go registers them, plus the
      // `cluster` label a multi-cluster Prometheus adds by target (the
      // queues of several clusters never share a series).
      depth_gauge_(
          metrics.gauge("workqueue_depth", "Current depth of workqueue", {{"cluster", cluster}, {"name", name}})),
      adds_counter_(metrics.counter("workqueue_adds_total", "Total number of adds handled by workqueue",
                                    {{"cluster", cluster}, {"name", name}})),
      queue_duration_(metrics.histogram("workqueue_queue_duration_seconds",
                                        "How long in seconds an item stays in workqueue before being requested.",
                                        duration_buckets(), {{"cluster", cluster}, {"name", name}})),
      work_duration_(metrics.histogram("workqueue_work_duration_seconds",
                                       "How long in seconds processing an item from workqueue takes.",
                                       duration_buckets(), {{"cluster", cluster}, {"name", name}})),
      retries_counter_(metrics.counter("workqueue_retries_total", "Total number of retries handled by workqueue",
                                       {{"cluster", cluster}, {"name", name}})) {
  // Keys are uint32 and must stay representable.
  if (key_space > std::size_t{std::numeric_limits<Key>::max()} + 1) {
    throw std::invalid_argument("work queue key space exceeds uint32 keys");
  }
}

WorkQueue::~WorkQueue() {
  // The keys of a queue that goes away (a controller manager that lost its
  // lease: the process is gone) leave workqueue_depth, which is shared by
  // every queue of this name; a new term's queue counts from zero.
  depth_gauge_.add(-static_cast<double>(depth_));
  // Pending timers capture `this`; drop them so none fires into a dead queue.
  for (const sim::EventId& timer : timers_.items) {
    if (timer.valid()) sim_.cancel(timer);
  }
}

void WorkQueue::set_on_item_available(std::function<void()> callback) { on_item_available_ = std::move(callback); }

void WorkQueue::check_key(Key key) const {
  if (key >= keys_.size()) throw std::out_of_range("work queue key out of range");
}

void WorkQueue::append(Key key) {
  // Only an append ends an idle spell (a key is processed only after it was
  // appended), so this is the last instant the queue was idle.
  if (fifo_.empty() && processing_count_ == 0) last_idle_ns_ = sim_.now().ns();
  fifo_.push_back(key);
  // queue.go: q.cond.Signal() after appending; here the owner wakes a worker.
  // State is consistent before the call, so the callback may re-enter.
  if (on_item_available_) on_item_available_();
}

void WorkQueue::add(Key key) {
  check_key(key);
  KeyState& s = keys_[key];
  // client-go util/workqueue/queue.go: Add of a dirty key is a no-op; the key
  // keeps its position in the queue and its first add time.
  if (s.dirty_since_ns != kNone) return;
  // queue.go: q.metrics.add(item) runs for every non-deduplicated Add, so
  // depth also counts a key deferred below while it is processing.
  ++adds_total_;
  adds_counter_.inc();
  ++depth_;
  depth_gauge_.add(1);
  // metrics.go add(): addTimes[item] is set only if absent, and it is deleted
  // at Get exactly when dirty is cleared, so it is the time of this Add.
  s.dirty_since_ns = sim_.now().ns();
  // queue.go: a key being processed is only marked dirty; Done re-appends it,
  // so one key is never handed to two workers at once.
  if (s.processing != kNoSlot) {
    check_counts();
    return;
  }
  append(key);
  check_counts();
}

void WorkQueue::add_after(Key key, sim::Duration delay) {
  check_key(key);
  // client-go util/workqueue/delaying_queue.go: AddAfter calls
  // q.metrics.retry() before looking at the delay.
  ++retries_total_;
  retries_counter_.inc();
  if (delay <= sim::Duration::zero()) {
    add(key);  // delaying_queue.go: "immediately add things with no delay"
    return;
  }
  const sim::Time now = sim_.now();
  const sim::Time ready = delay >= sim::Time::max() - now ? sim::Time::max() : now + delay;
  KeyState& s = keys_[key];
  if (s.waiting != kNoSlot) {
    // delaying_queue.go insert(): an existing waiting entry only moves if the
    // new readyAt is earlier ("update the time only if it would cause the item
    // to be queued sooner").
    sim::EventId& timer = timers_.items[s.waiting];
    if (ready >= sim::Time::from_ns(timer.time_ns)) return;
    sim_.cancel(timer);
    timer = sim_.schedule_at(ready, [this, key] { on_timer(key); });
    return;
  }
  s.waiting = timers_.take(sim_.schedule_at(ready, [this, key] { on_timer(key); }));
  ++waiting_count_;
}

void WorkQueue::on_timer(Key key) {
  // delaying_queue.go waitingLoop: pop the ready entry, q.Add(entry.data),
  // delete(waitingEntryByData, ...). A dirty key dedups as for any Add.
  KeyState& s = keys_[key];
  EPSIM_INVARIANT(s.waiting != kNoSlot, "add_after timer fired for a key that is not waiting");
  EPSIM_INVARIANT(waiting_count_ > 0, "workqueue waiting count out of step with its timers");
  timers_.give_back(s.waiting);
  s.waiting = kNoSlot;
  --waiting_count_;
  add(key);
}

void WorkQueue::add_rate_limited(Key key) {
  check_key(key);
  // client-go util/workqueue/rate_limiting_queue.go: AddRateLimited =
  // AddAfter(item, rateLimiter.When(item)); When runs first.
  add_after(key, limiter_.when(key, sim_.now()));
}

void WorkQueue::forget(Key key) {
  check_key(key);
  limiter_.forget(key);
}

int WorkQueue::num_requeues(Key key) const {
  check_key(key);
  return limiter_.num_requeues(key);
}

std::optional<std::size_t> WorkQueue::position(Key key) const {
  for (std::size_t i = 0; i < fifo_.size(); ++i) {
    if (fifo_[i] == key) return i + 1;
  }
  return std::nullopt;
}

bool WorkQueue::try_get(Key& out) {
  if (fifo_.empty()) return false;
  const Key key = fifo_.front();
  fifo_.pop_front();
  KeyState& s = keys_[key];
  // Only dirty, non-processing keys are ever appended (add and done ensure
  // it), so this holds unless the bookkeeping is broken.
  // queue.go: a key is never processed by two workers at once.
  EPSIM_INVARIANT(s.processing == kNoSlot, "workqueue handed out a key that a worker is processing");
  EPSIM_INVARIANT(s.dirty_since_ns != kNone, "workqueue FIFO held a key that is not dirty");
  const sim::Time now = sim_.now();
  // queue.go Get: q.metrics.get(item): depth.Dec(), processingStartTimes,
  // latency.Observe(since addTimes[item]); then processing.insert, dirty.delete.
  --depth_;
  EPSIM_INVARIANT(depth_ >= 0, "workqueue depth went negative");
  depth_gauge_.add(-1);
  queue_duration_.observe(seconds_since(now, s.dirty_since_ns));
  s.processing = processing_.take(Processing{s.dirty_since_ns, now.ns()});
  s.dirty_since_ns = kNone;
  ++processing_count_;
  check_counts();
  out = key;
  return true;
}

void WorkQueue::done(Key key) {
  check_key(key);
  KeyState& s = keys_[key];
  // Upstream Done of a key that is not processing would append a dirty key a
  // second time; treat it as the caller's bug.
  if (s.processing == kNoSlot) throw std::logic_error("work queue done() for a key not being processed");
  // queue.go Done: metrics.done (work duration), processing.delete, and a
  // key re-added meanwhile goes to the tail.
  work_duration_.observe(seconds_since(sim_.now(), processing_.items[s.processing].since_ns));
  processing_.give_back(s.processing);
  s.processing = kNoSlot;
  EPSIM_INVARIANT(processing_count_ > 0, "workqueue processing count out of step with its keys");
  --processing_count_;
  if (s.dirty_since_ns != kNone) append(key);
  check_counts();
}

void WorkQueue::check_counts() const {
  // depth (= dirty keys) is the FIFO (each key at most once, all dirty) plus
  // the keys made dirty again while processing, which are at most the keys
  // being processed.
  EPSIM_INVARIANT(depth_ >= 0 && static_cast<std::size_t>(depth_) >= fifo_.size(),
                  "workqueue FIFO longer than its dirty set");
  EPSIM_INVARIANT(static_cast<std::size_t>(depth_) <= fifo_.size() + processing_count_,
                  "workqueue dirty set larger than its FIFO plus the keys in processing");
  EPSIM_INVARIANT(processing_count_ <= keys_.size() && waiting_count_ <= keys_.size(),
                  "workqueue counts exceed its key space");
  EPSIM_INVARIANT(processing_.items.size() - processing_.free.size() == processing_count_ &&
                      timers_.items.size() - timers_.free.size() == waiting_count_,
                  "workqueue slot tables out of step with its counts");
}

sim::Time WorkQueue::last_idle_at() const { return idle() ? sim_.now() : sim::Time::from_ns(last_idle_ns_); }

bool WorkQueue::is_dirty(Key key) const {
  check_key(key);
  return keys_[key].dirty_since_ns != kNone;
}

bool WorkQueue::is_processing(Key key) const {
  check_key(key);
  return keys_[key].processing != kNoSlot;
}

bool WorkQueue::is_waiting(Key key) const {
  check_key(key);
  return keys_[key].waiting != kNoSlot;
}

sim::Time WorkQueue::ready_at(Key key) const {
  check_key(key);
  if (keys_[key].waiting == kNoSlot) throw std::logic_error("work queue ready_at() for a key that is not waiting");
  return sim::Time::from_ns(timers_.items[keys_[key].waiting].time_ns);
}

sim::Time WorkQueue::added_at(Key key) const {
  check_key(key);
  const KeyState& s = keys_[key];
  if (s.dirty_since_ns != kNone) return sim::Time::from_ns(s.dirty_since_ns);
  if (s.processing != kNoSlot) return sim::Time::from_ns(processing_.items[s.processing].added_ns);
  throw std::logic_error("work queue added_at() for a key neither dirty nor processing");
}

}  // namespace epsim::models
