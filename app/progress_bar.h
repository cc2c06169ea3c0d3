// Progress on stderr for runs that take a while. On a terminal: a bar, drawn
// once the run has taken more than a second. Otherwise (a pipe, a CI log, a
// batch job): one plain line every 10 s of wall time (EPSIM_PROGRESS_INTERVAL_S
// changes it), so a run of minutes shows it is alive and short runs print
// nothing. Wall-clock time decides only whether to print; nothing of it
// reaches the results.
#pragma once

#include <chrono>
#include <string>

namespace epsim::app {

class ProgressBar {
 public:
  enum class Mode { off, bar, lines };
  // `label` precedes the progress ("incident-1.17.3").
  ProgressBar(std::string label, Mode mode);
  // bar on a terminal, else lines.
  static Mode mode_for_stderr();
  ~ProgressBar();  // clears the bar's line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // True when stderr is a terminal (and TERM is not "dumb").
  static bool stderr_is_terminal();

  void update(double fraction_done);

 private:
  void print_line(double fraction, double elapsed_s);

  std::string label_;
  Mode mode_;
  double line_interval_s_ = 10;
  double next_line_s_ = 10;
  bool drawn_ = false;
  int last_permille_ = -1;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace epsim::app
