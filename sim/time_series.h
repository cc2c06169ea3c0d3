// Samples named probes at a fixed interval of virtual time, for the CSV time
// series and charts. A probe reads a value (a gauge level) or, for a `delta`
// series, the increase of a monotone value since the previous sample (a rate
// per interval from a counter).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/simulator.h"

namespace epsim::sim {

class TimeSeriesSampler {
 public:
  enum class Kind { level, delta };

  TimeSeriesSampler(Simulator& simulator, Duration interval);

  // Adds a column; must be called before start().
  void add_series(std::string name, Kind kind, std::function<double()> probe);
  // Called after every sample with its time; may be added at any time (it
  // schedules nothing: a reader of the state, such as a metrics scrape).
  void add_observer(std::function<void(Time)> observer);
  // Takes a sample at `from` and then every interval while time <= `until`.
  void start(Time from, Time until);

  Duration interval() const { return interval_; }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<Time>& times() const { return times_; }
  // values()[column][row]
  const std::vector<std::vector<double>>& values() const { return values_; }

 private:
  void sample();

  Simulator& simulator_;
  Duration interval_;
  Time until_ = Time::zero();
  bool started_ = false;
  std::vector<std::string> names_;
  std::vector<Kind> kinds_;
  std::vector<std::function<double()>> probes_;
  std::vector<std::function<void(Time)>> observers_;
  std::vector<double> last_raw_;
  std::vector<Time> times_;
  std::vector<std::vector<double>> values_;
};

}  // namespace epsim::sim
