#include "sim/time_series.h"

#include <stdexcept>

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
  values_.emplace_back();
}

void TimeSeriesSampler::add_observer(std::function<void(Time)> observer) { observers_.push_back(std::move(observer)); }

void TimeSeriesSampler::start(Time from, Time until) {
  if (started_) throw std::logic_error("sampler started twice");
  started_ = true;
  until_ = until;
  for (std::size_t i = 0; i < probes_.size(); ++i) last_raw_[i] = probes_[i]();
  simulator_.schedule_at(from, [this] { sample(); });
}

void TimeSeriesSampler::sample() {
  times_.push_back(simulator_.now());
  for (std::size_t i = 0; i < probes_.size(); ++i) {
    const double raw = probes_[i]();
    values_[i].push_back(kinds_[i] == Kind::level ? raw : raw - last_raw_[i]);
    last_raw_[i] = raw;
  }
  for (const auto& observer : observers_) observer(simulator_.now());
  if (simulator_.now() + interval_ <= until_) {
    simulator_.schedule_after(interval_, [this] { sample(); });
  }
}

}  // namespace epsim::sim
