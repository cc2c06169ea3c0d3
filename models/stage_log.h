// What each stage of the pipeline wrote, and when, so that a stale window can
// be followed back through the stages a pod change crossed (docs/model.md §13).
// A stage that writes endpoint lists (the endpoints controller, the sync
// component, EndpointSlice mirroring) records every write that changed
// storage.
//
// A storm writes every Service once, so the log holds about one write per
// Service: its writes are one flat table in chunks (each object's writes
// linked in stored order) and the written addresses one pool, instead of a
// vector per object and another per write (issue 12). Neither ever moves,
// so a StageWrite reference, and the addresses it spans, stay valid for the
// log's lifetime.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "models/objects.h"
#include "sim/chunked_array.h"
#include "sim/time.h"

namespace epsim::models {

struct StageWrite {
  sim::Time queued;    // the key was added to the stage's workqueue
  sim::Time started;   // a worker took the key (Get)
  sim::Time sent;      // the request left the client's token bucket
  sim::Time stored;    // the API server applied it
  // The addresses written (sorted). What record() is given may be any
  // caller's array; what the log hands out spans the log's own pool.
  std::span<const PodIp> ready_ips;

  bool routes_to(PodIp ip) const { return std::binary_search(ready_ips.begin(), ready_ips.end(), ip); }
};

class StageLog {
  static constexpr std::uint32_t kNone = 0xffffffffU;
  struct Entry {
    StageWrite write;
    std::uint32_t next = kNone;  // the object's next write (kNone: its last)
  };

 public:
  // One object's writes in the order stored: a view of the log.
  class Writes {
   public:
    class iterator {
     public:
      iterator(const StageLog* log, std::uint32_t at) : log_(log), at_(at) {}
      const StageWrite& operator*() const { return log_->entries_[at_].write; }
      iterator& operator++() {
        at_ = log_->entries_[at_].next;
        return *this;
      }
      friend bool operator==(const iterator& a, const iterator& b) { return a.at_ == b.at_; }

     private:
      const StageLog* log_;
      std::uint32_t at_;
    };

    Writes(const StageLog* log, std::uint32_t first) : log_(log), first_(first) {}
    iterator begin() const { return {log_, first_}; }
    iterator end() const { return {log_, kNone}; }
    bool empty() const { return first_ == kNone; }
    std::size_t size() const;                            // walks the list
    const StageWrite& operator[](std::size_t i) const;  // walks the list; i < size()

   private:
    const StageLog* log_;
    std::uint32_t first_;
  };

  StageLog() = default;
  // The writes it hands out span its own pool: a copy would span another's.
  StageLog(const StageLog&) = delete;
  StageLog& operator=(const StageLog&) = delete;

  // Writes are recorded when the API server's answer arrives, so each
  // object's writes are in `stored` order; the look-ups rely on it. Copies
  // `write.ready_ips` into the log.
  void record(std::uint32_t object, const StageWrite& write);
  // The first write of `object` stored at or after `after` that no longer
  // lists `ip`, or nullptr.
  const StageWrite* first_without(std::uint32_t object, PodIp ip, sim::Time after) const {
    return first_stored_from(object, after, ip, false);
  }
  // The first write stored at or after `after` that lists `ip`, or nullptr.
  const StageWrite* first_with(std::uint32_t object, PodIp ip, sim::Time after) const {
    return first_stored_from(object, after, ip, true);
  }
  std::size_t objects() const { return ends_.size(); }
  // Every recorded write of `object`, in the order stored.
  Writes writes_of(std::uint32_t object) const { return {this, object < ends_.size() ? ends_[object].first : kNone}; }

 private:
  const StageWrite* first_stored_from(std::uint32_t object, sim::Time after, PodIp ip, bool listed) const;
  std::span<const PodIp> keep(std::span<const PodIp> ips);

  sim::ChunkedArray<Entry> entries_;
  // By object: its first and last write (kNone: none), side by side, as
  // a write reads both (one cache line, not two, at a million objects).
  struct Ends {
    std::uint32_t first = kNone;
    std::uint32_t last = kNone;
  };
  std::vector<Ends> ends_;
  // The written addresses, packed in chunks that never move.
  std::vector<std::unique_ptr<PodIp[]>> ip_chunks_;
  PodIp* ip_next_ = nullptr;
  std::size_t ip_left_ = 0;
};

inline std::vector<PodIp> ready_ips(const Endpoints& e) {
  std::vector<PodIp> ips;
  ips.reserve(e.addresses().size());
  for (const auto& a : e.addresses()) ips.push_back(a.ip);
  std::sort(ips.begin(), ips.end());
  return ips;
}

}  // namespace epsim::models
