// Samples named probes at a fixed interval of virtual time, for the CSV time
// series and charts. A probe reads a value (a gauge level) or, for a `delta`
// series, the increase of a monotone value since the previous sample (a rate
// per interval from a counter).
//
// Every sample is taken (per-second resolution wherever anything changes),
// but a column stores runs of bit-identical values, so a quiet week costs a
// few runs per column instead of 604,800 doubles (issue 12); sample times
// are implicit (start + row * interval).
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

  // Rows from `first_row` on hold `value`, up to the next run's first row.
  struct Run {
    std::size_t first_row = 0;
    double value = 0;
  };

  Duration interval() const { return interval_; }
  const std::vector<std::string>& names() const { return names_; }
  // Samples taken so far; row r was taken at time(r).
  std::size_t rows() const { return rows_; }
  Time time(std::size_t row) const { return from_ + interval_ * static_cast<std::int64_t>(row); }
  // time(r) of every row (a new vector).
  std::vector<Time> times() const;
  // A column as stored: consecutive runs, the first at row 0 (empty when no
  // sample was taken).
  const std::vector<Run>& runs(std::size_t column) const { return runs_[column]; }
  // A column with one value per row (a new vector).
  std::vector<double> column(std::size_t column) const;

 private:
  void sample();
  void append(std::size_t column, double value);

  Simulator& simulator_;
  Duration interval_;
  Time until_ = Time::zero();
  bool started_ = false;
  std::vector<std::string> names_;
  std::vector<Kind> kinds_;
  std::vector<std::function<double()>> probes_;
  std::vector<std::function<void(Time)>> observers_;
  std::vector<double> last_raw_;
  Time from_ = Time::zero();
  std::size_t rows_ = 0;
  std::vector<std::vector<Run>> runs_;
};

}  // namespace epsim::sim
