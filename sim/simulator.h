// The discrete-event engine: a clock and a pending-event set, nothing about
// Kubernetes. The facade follows ns-3's Simulator (schedule, cancel, run,
// stop) with integer time; events are keyed by (time, sequence number), so
// events due at the same instant run in the order they were scheduled. The
// pending set (sim/event_queue.h) is a multi-level radix bucket queue of
// 16-byte keys whose callbacks wait in a slot table. Cancel is O(1): it
// tombstones the event, which the run loop discards when it surfaces.
#pragma once

#include <cstdint>
#include <unordered_set>

#include "sim/callback.h"
#include "sim/event_queue.h"
#include "sim/time.h"

namespace epsim::sim {

// Identifies a scheduled event for cancel(). A default-constructed id refers
// to no event; an id whose event already ran or was cancelled is harmless.
struct EventId {
  std::int64_t time_ns = -1;  // -1 = no event
  std::uint64_t sequence = 0;
  bool valid() const { return time_ns >= 0; }
  friend bool operator==(EventId, EventId) = default;
};

struct SimulatorOptions {
  // Hard bound on events run in one Simulator's lifetime; reaching it ends
  // run_until with RunOutcome::event_limit instead of running forever.
  std::uint64_t max_events = 2'000'000'000ULL;
};

enum class RunOutcome {
  reached_end,  // every event due at or before the end time has run
  stopped,      // stop() was called by an event
  event_limit,  // SimulatorOptions::max_events was reached
};

class Simulator {
 public:
  explicit Simulator(SimulatorOptions options = {});
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  Time now() const { return now_; }

  // Schedules `callback` at instant `at`, which must not be in the past.
  EventId schedule_at(Time at, Callback callback);
  // Schedules `callback` after `delay` (>= 0) from now.
  EventId schedule_after(Duration delay, Callback callback);
  // Cancels a pending event; returns false if it already ran or was cancelled.
  bool cancel(EventId id);

  // Runs every event due at or before `end` (inclusive), in (time, schedule
  // order). On reached_end the clock is left at `end`; on stopped or
  // event_limit it stays at the last event run.
  RunOutcome run_until(Time end);
  // Ends the current run_until after the running event returns.
  void stop() { stop_requested_ = true; }

  std::uint64_t events_processed() const { return events_processed_; }
  std::uint64_t max_events() const { return options_.max_events; }
  // Live (not cancelled) events still pending.
  std::size_t pending() const { return queue_.size() - cancelled_.size(); }
  // Instant of the earliest live pending event, or Time::max() if none.
  Time next_event_time();

 private:
  // Pops the next event due by `end_ns`, discarding tombstones.
  bool pop_live(std::int64_t end_ns, EventQueue::Event& out);
  void note_taken(const EventQueue::Event& e) {
    last_taken_time_ns_ = e.time_ns;
    last_taken_sequence_ = e.sequence;
  }

  SimulatorOptions options_;
  Time now_ = Time::zero();
  std::uint64_t next_sequence_ = 0;
  std::uint64_t events_processed_ = 0;
  // Key of the last entry taken off the queue: anything at or below it has
  // run or been discarded, so cancel() can tell pending ids from stale ones.
  std::int64_t last_taken_time_ns_ = -1;
  std::uint64_t last_taken_sequence_ = 0;
  bool stop_requested_ = false;
  EventQueue queue_;
  // Sequence numbers of cancelled, still-queued events. Only membership is
  // ever asked, never iteration order, so it cannot affect determinism.
  std::unordered_set<std::uint64_t> cancelled_;
};

}  // namespace epsim::sim
