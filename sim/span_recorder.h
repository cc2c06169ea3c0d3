// Records spans of virtual time on named tracks (one track per component),
// for the Chrome trace-event output. Track and span names are interned, so a
// span costs a few words. Recording stops at a bound, counted in dropped().
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/time.h"

namespace epsim::sim {

class SpanRecorder {
 public:
  struct Span {
    std::uint32_t track;
    std::uint32_t name;
    Time start;
    Time end;
  };

  explicit SpanRecorder(std::size_t max_spans = 1'000'000) : max_spans_(max_spans) {}

  std::uint32_t track(const std::string& track_name);
  std::uint32_t name(const std::string& span_name);
  void record(std::uint32_t track, std::uint32_t name, Time start, Time end);

  const std::vector<Span>& spans() const { return spans_; }
  const std::vector<std::string>& track_names() const { return track_names_; }
  const std::vector<std::string>& span_names() const { return span_names_; }
  std::uint64_t dropped() const { return dropped_; }

 private:
  static std::uint32_t intern(const std::string& s, std::map<std::string, std::uint32_t>& ids,
                              std::vector<std::string>& names);
  std::size_t max_spans_;
  std::uint64_t dropped_ = 0;
  std::vector<Span> spans_;
  std::map<std::string, std::uint32_t> track_ids_;
  std::map<std::string, std::uint32_t> name_ids_;
  std::vector<std::string> track_names_;
  std::vector<std::string> span_names_;
};

}  // namespace epsim::sim
