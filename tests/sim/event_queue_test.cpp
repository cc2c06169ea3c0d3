// EventQueue against a reference std::priority_queue ordered by (time,
// sequence), under the engine's contract: sequences increase with every push
// and no push is earlier than the last event popped.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

#include "sim/event_queue.h"

using epsim::sim::Callback;
using epsim::sim::EventQueue;

namespace {

using Key = std::pair<std::int64_t, std::uint64_t>;  // (time, sequence)

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Drives an EventQueue and the reference side by side. Every callback records
// its sequence number, so popping also checks the slot table hands back the
// right callback.
struct Harness {
  EventQueue queue;
  std::priority_queue<Key, std::vector<Key>, std::greater<>> reference;
  std::uint64_t next_sequence = 0;
  std::int64_t now = 0;
  std::uint64_t ran = ~std::uint64_t{0};

  void push(std::int64_t time_ns) {
    REQUIRE(time_ns >= now);
    const std::uint64_t seq = next_sequence++;
    queue.push(time_ns, seq, [this, seq] { ran = seq; });
    reference.emplace(time_ns, seq);
  }
  // Pops one event due by end_ns from both and checks they agree.
  bool pop(std::int64_t end_ns = std::numeric_limits<std::int64_t>::max()) {
    EventQueue::Event e;
    const bool popped = queue.pop_if_due(end_ns, e);
    const bool expected = !reference.empty() && reference.top().first <= end_ns;
    REQUIRE(popped == expected);
    if (!popped) return false;
    REQUIRE(Key{e.time_ns, e.sequence} == reference.top());
    reference.pop();
    e.callback();
    REQUIRE(ran == e.sequence);
    now = e.time_ns;
    REQUIRE(queue.size() == reference.size());
    return true;
  }
  void check_peek() {
    REQUIRE(!reference.empty());
    const EventQueue::Entry& top = queue.peek();
    REQUIRE(Key{top.time_ns, EventQueue::sequence_of(top)} == reference.top());
  }
  void drain() {
    while (pop()) {
    }
    CHECK(queue.empty());
  }
};

}  // namespace

TEST_CASE("event queue: same-instant events pop in push order, including large bursts") {
  Harness h;
  // 1000 at one instant spans several chunks of a level-0 bucket; the others
  // interleave with it.
  for (int i = 0; i < 1000; ++i) {
    h.push(5000);
    if (i % 7 == 0) h.push(5000 + i);
    if (i % 11 == 0) h.push(4999);
  }
  for (int i = 0; i < 500; ++i) h.pop();
  // Pushes at the running instant while its run is half consumed go behind
  // the ones already due at it.
  for (int i = 0; i < 300; ++i) h.push(h.now);
  h.drain();
}

TEST_CASE("event queue: pop_if_due leaves events after the end in place") {
  Harness h;
  h.push(10);
  h.push(20);
  CHECK(h.pop(9) == false);
  CHECK(h.pop(10));
  CHECK(h.pop(19) == false);
  CHECK(h.pop(20));
  CHECK(h.pop() == false);
}

TEST_CASE("event queue: a push before an entry already peeked goes first") {
  Harness h;
  h.push(0);
  h.pop();
  for (int i = 0; i < 200; ++i) h.push(1'000'000 + i);  // a large bucket far ahead
  h.check_peek();                                       // sorts it into the run
  h.push(5);                                            // earlier than the run
  h.push(1'000'000);                                    // ties the run's head, later sequence
  h.push(999'999);
  h.check_peek();
  h.pop();
  CHECK(h.now == 5);
  h.push(5);  // at the clock, after the peek past it
  h.drain();
}

TEST_CASE("event queue: times across the whole int64 range") {
  Harness h;
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t t : {max, max - 1, max, std::int64_t{0}, std::int64_t{1} << 62, (std::int64_t{1} << 56) - 1,
                         std::int64_t{1} << 56, std::int64_t{255}, std::int64_t{256}, max - 255}) {
    h.push(t);
  }
  while (h.pop()) {
    if (h.now < max) h.push(h.now + std::max<std::int64_t>(1, (max - h.now) / 2));  // bisect up to the top
  }
  CHECK(h.now == max);
}

TEST_CASE("event queue: random workloads match a reference priority queue") {
  struct Shape {
    const char* name;
    std::uint64_t delay_mask;  // delays are uniform in [0, mask]
    int same_instant_percent;  // delay 0
    int pops_per_100_pushes;
  };
  const Shape shapes[] = {
      {"dense", 1023, 5, 100},          {"sparse", (1u << 30) - 1, 0, 100},
      {"bursty ties", 3, 40, 90},       {"growing", (1u << 20) - 1, 10, 60},
      {"wide", (1ull << 50) - 1, 5, 100},
  };
  for (const Shape& shape : shapes) {
    CAPTURE(shape.name);
    Harness h;
    std::uint64_t rng = 42;
    for (int i = 0; i < 2000; ++i) h.push(static_cast<std::int64_t>(splitmix(rng) & shape.delay_mask));
    for (int step = 0; step < 100'000; ++step) {
      const std::uint64_t r = splitmix(rng);
      if (static_cast<int>(r % 100) < shape.pops_per_100_pushes) h.pop();
      if ((r >> 8) % 97 == 0) h.check_peek();  // peeks may look past the clock
      const bool now = static_cast<int>((r >> 16) % 100) < shape.same_instant_percent;
      h.push(h.now + (now ? 0 : static_cast<std::int64_t>(splitmix(rng) & shape.delay_mask)));
    }
    h.drain();
  }
}

TEST_CASE("event queue: hold model with many pending events matches the reference") {
  Harness h;
  std::uint64_t rng = 7;
  for (int i = 0; i < 200'000; ++i) h.push(static_cast<std::int64_t>(splitmix(rng) % 2'000'000));
  for (int i = 0; i < 400'000; ++i) {
    h.pop();
    h.push(h.now + static_cast<std::int64_t>(splitmix(rng) % 2'000'000));
  }
  h.drain();
}

// Few pending events far apart: the one far ahead becomes the run, and every
// push before it goes to the late keys, first a sorted array, past
// kLateSorted (32) keys a heap, and a sorted array again once they are all
// popped. Times come scrambled and with ties, so both orders are checked.
TEST_CASE("event queue: pushes before a far run go to the late keys, sorted or as a heap") {
  Harness h;
  std::uint64_t rng = 11;
  const std::int64_t far = std::int64_t{1} << 40;
  h.push(1);
  h.push(far);
  REQUIRE(h.pop());  // the event at 1
  h.check_peek();    // the run is now the event far ahead
  for (const int late_keys : {5, 31, 32, 33, 200, 3}) {
    CAPTURE(late_keys);
    for (int i = 0; i < late_keys; ++i) h.push(h.now + 1 + static_cast<std::int64_t>(splitmix(rng) % 16));
    // Pop all but the far one, with a push between some pops.
    for (int i = 0; i < late_keys; ++i) {
      REQUIRE(h.pop());
      if (i % 7 == 0) h.push(h.now + static_cast<std::int64_t>(splitmix(rng) % 3));
    }
    while (h.reference.size() > 1) REQUIRE(h.pop());
    h.check_peek();
    REQUIRE(h.reference.top().first == far);
  }
  // A storm's regime: a few late keys pending for a long time, never all
  // popped at once, each push anywhere among them; then, after some pops,
  // more than 32 keys (a heap while some are pending).
  for (int i = 0; i < 8; ++i) h.push(h.now + 1 + static_cast<std::int64_t>(splitmix(rng) % 64));
  for (int round = 0; round < 500; ++round) {
    REQUIRE(h.pop());
    // Mostly the latest pending, sometimes a tie or an earlier one.
    h.push(h.now + static_cast<std::int64_t>(splitmix(rng) % (round % 5 == 0 ? 8 : 80)));
  }
  for (int i = 0; i < 3; ++i) REQUIRE(h.pop());
  for (int i = 0; i < 40; ++i) h.push(h.now + static_cast<std::int64_t>(splitmix(rng) % 32));
  for (int i = 0; i < 20; ++i) REQUIRE(h.pop());
  h.check_peek();
  h.drain();
}
