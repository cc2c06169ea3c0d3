// A progress bar on stderr for runs that take a while. Drawn only when stderr
// is a terminal and only once the run has taken more than a second, so short
// runs, pipes and CI logs never see it. Wall-clock time decides only whether
// to draw; nothing of it reaches the results.
#pragma once

#include <chrono>
#include <string>

namespace epsim::app {

class ProgressBar {
 public:
  // `label` precedes the bar ("incident-1.17.3"); `enabled` false draws nothing.
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar();  // clears the bar's line
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // True when stderr is a terminal (and TERM is not "dumb").
  static bool stderr_is_terminal();

  void update(double fraction_done);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  int last_permille_ = -1;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace epsim::app
