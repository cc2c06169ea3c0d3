#include "sim/simulator.h"

#include <cassert>
#include <stdexcept>
#include <string>

namespace epsim::sim {

Simulator::Simulator(SimulatorOptions options) : options_(options) {}

EventId Simulator::schedule_at(Time at, Callback callback) {
  if (at < now_) {
    throw std::logic_error("event scheduled in the past: at " + format_duration(at.since_start()) +
                           ", now " + format_duration(now_.since_start()));
  }
  assert(callback && "scheduling an empty callback");
  if (next_sequence_ > EventQueue::kMaxSequence) throw std::length_error("event sequence numbers exhausted");
  const std::uint64_t sequence = next_sequence_++;
  queue_.push(at.ns(), sequence, callback);
  return EventId{at.ns(), sequence};
}

EventId Simulator::schedule_after(Duration delay, Callback callback) {
  if (delay.is_negative()) throw std::logic_error("event scheduled with a negative delay");
  return schedule_at(now_ + delay, callback);
}

bool Simulator::cancel(EventId id) {
  if (!id.valid() || id.sequence >= next_sequence_) return false;
  // Events leave the queue in key order: one at or below the last taken
  // has already run (or was already discarded).
  if (id.time_ns < last_taken_time_ns_ ||
      (id.time_ns == last_taken_time_ns_ && id.sequence <= last_taken_sequence_)) {
    return false;
  }
  return cancelled_.insert(id.sequence).second;
}

bool Simulator::pop_live(std::int64_t end_ns, EventQueue::Event& out) {
  while (queue_.pop_if_due(end_ns, out)) {
    note_taken(out);
    if (cancelled_.empty() || cancelled_.erase(out.sequence) == 0) return true;
  }
  return false;
}

Time Simulator::next_event_time() {
  while (!queue_.empty()) {
    const EventQueue::Entry& top = queue_.peek();
    if (!cancelled_.contains(EventQueue::sequence_of(top))) return Time::from_ns(top.time_ns);
    // Discard the tombstone. This may look past the clock; the queue copes
    // with a later schedule before it (EventQueue::push_late).
    EventQueue::Event discarded;
    const bool popped = queue_.pop_if_due(top.time_ns, discarded);
    assert(popped);
    (void)popped;
    cancelled_.erase(discarded.sequence);
    note_taken(discarded);
  }
  return Time::max();
}

RunOutcome Simulator::run_until(Time end) {
  stop_requested_ = false;
  EventQueue::Event e;
  for (;;) {
    if (events_processed_ >= options_.max_events) {
      // The bound counts live events: only a due live event exceeds it.
      const Time next = next_event_time();
      if (next != Time::max() && next <= end) return RunOutcome::event_limit;
      break;
    }
    if (!pop_live(end.ns(), e)) break;
    assert(e.time_ns >= now_.ns() && "virtual time went backwards");
    now_ = Time::from_ns(e.time_ns);
    ++events_processed_;
    // e.callback is a copy: its slot is already free for what it schedules.
    e.callback();
    if (stop_requested_) {
      stop_requested_ = false;
      return RunOutcome::stopped;
    }
  }
  if (end > now_) now_ = end;
  return RunOutcome::reached_end;
}

}  // namespace epsim::sim
