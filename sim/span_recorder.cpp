#include "sim/span_recorder.h"

#include <stdexcept>

namespace epsim::sim {

std::uint32_t SpanRecorder::intern(const std::string& s, std::map<std::string, std::uint32_t>& ids,
                                   std::vector<std::string>& names) {
  const auto [it, inserted] = ids.try_emplace(s, static_cast<std::uint32_t>(names.size()));
  if (inserted) names.push_back(s);
  return it->second;
}

std::uint32_t SpanRecorder::track(const std::string& track_name) {
  return intern(track_name, track_ids_, track_names_);
}

std::uint32_t SpanRecorder::name(const std::string& span_name) {
  return intern(span_name, name_ids_, span_names_);
}

void SpanRecorder::record(std::uint32_t track, std::uint32_t name, Time start, Time end) {
  if (end < start) throw std::logic_error("span ends before it starts");
  if (track >= track_names_.size() || name >= span_names_.size()) throw std::logic_error("unknown span id");
  if (spans_.size() >= max_spans_) {
    ++dropped_;
    return;
  }
  spans_.push_back(Span{track, name, start, end});
}

}  // namespace epsim::sim
