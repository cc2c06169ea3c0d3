#include "sim/time_series.h"

#include <bit>
#include <cstdint>
#include <stdexcept>

#include "sim/invariant.h"

namespace epsim::sim {

TimeSeriesSampler::TimeSeriesSampler(Simulator& simulator, Duration interval)
    : simulator_(simulator), interval_(interval) {
  if (!(interval > Duration::zero())) throw std::invalid_argument("sampling interval must be > 0");
}

void TimeSeriesSampler::add_series(std::string name, Kind kind, std::function<double()> probe) {
  if (started_) throw std::logic_error("add_series after start");
  names_.push_back(std::move(name));
  kinds_.push_back(kind);
  probes_.push_back(std::move(probe));
  last_raw_.push_back(0);
  runs_.emplace_back();
}

void TimeSeriesSampler::add_observer(std::function<void(Time)> observer) { observers_.push_back(std::move(observer)); }

void TimeSeriesSampler::start(Time from, Time until) {
  if (started_) throw std::logic_error("sampler started twice");
  started_ = true;
  until_ = until;
  from_ = from;
  for (std::size_t i = 0; i < probes_.size(); ++i) last_raw_[i] = probes_[i]();
  simulator_.schedule_at(from, [this] { sample(); });
}

std::vector<Time> TimeSeriesSampler::times() const {
  std::vector<Time> times;
  times.reserve(rows_);
  for (std::size_t row = 0; row < rows_; ++row) times.push_back(time(row));
  return times;
}

std::vector<double> TimeSeriesSampler::column(std::size_t column) const {
  const std::vector<Run>& runs = runs_[column];
  std::vector<double> values;
  values.reserve(rows_);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const std::size_t end = r + 1 < runs.size() ? runs[r + 1].first_row : rows_;
    values.resize(end, runs[r].value);
  }
  return values;
}

// Bit-identical values share a run, so 0.0 and -0.0 (or two NaNs with other
// payloads) stay distinct and every reader sees exactly what was sampled.
void TimeSeriesSampler::append(std::size_t column, double value) {
  std::vector<Run>& runs = runs_[column];
  if (runs.empty() || std::bit_cast<std::uint64_t>(runs.back().value) != std::bit_cast<std::uint64_t>(value)) {
    runs.push_back(Run{rows_, value});
  }
}

void TimeSeriesSampler::sample() {
  EPSIM_INVARIANT(simulator_.now() == time(rows_), "a time-series sample off its interval grid");
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    const double raw = probes_[i]();
    append(i, kinds_[i] == Kind::level ? raw : raw - last_raw_[i]);
    last_raw_[i] = raw;
  }
  ++rows_;
  for (const auto& observer : observers_) observer(simulator_.now());
  if (simulator_.now() + interval_ <= until_) {
    simulator_.schedule_after(interval_, [this] { sample(); });
  }
}

}  // namespace epsim::sim
