#include "app/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace epsim::app {

namespace {
constexpr auto kShowAfter = std::chrono::seconds(1);
constexpr int kBarWidth = 40;
}  // namespace

ProgressBar::ProgressBar(std::string label, Mode mode)
    : label_(std::move(label)), mode_(mode), started_(std::chrono::steady_clock::now()) {
  if (const char* v = std::getenv("EPSIM_PROGRESS_INTERVAL_S")) {
    char* end = nullptr;
    const double s = std::strtod(v, &end);
    if (end != v && *end == '\0' && s > 0 && s < 1e6) line_interval_s_ = s;
  }
  next_line_s_ = line_interval_s_;
}

ProgressBar::Mode ProgressBar::mode_for_stderr() { return stderr_is_terminal() ? Mode::bar : Mode::lines; }

void ProgressBar::print_line(double fraction, double elapsed_s) {
  std::string eta;
  if (fraction > 0.02 && fraction < 1) eta = fmt::format(", ~{:.1f}s left", elapsed_s * (1 - fraction) / fraction);
  // Rounded down: a line never says 100% before the end.
  fmt::print(stderr, "epsim: {}: {:.0f}% done after {:.1f}s{}\n", label_, std::floor(fraction * 100),
             elapsed_s, eta);
  std::fflush(stderr);
}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputs("\r\033[K", stderr);
}

bool ProgressBar::stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && !(term != nullptr && std::strcmp(term, "dumb") == 0);
}

void ProgressBar::update(double fraction_done) {
  if (mode_ == Mode::off) return;
  const double f = std::clamp(fraction_done, 0.0, 1.0);
  if (mode_ == Mode::lines) {
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (elapsed_s < next_line_s_ || f >= 1) return;
    next_line_s_ = elapsed_s + line_interval_s_;
    print_line(f, elapsed_s);
    return;
  }
  const int permille = static_cast<int>(f * 1000);
  if (permille == last_permille_) return;
  const auto elapsed = std::chrono::steady_clock::now() - started_;
  if (!drawn_ && elapsed < kShowAfter) return;
  last_permille_ = permille;
  drawn_ = true;
  const int filled = static_cast<int>(f * kBarWidth);
  const double elapsed_s = std::chrono::duration<double>(elapsed).count();
  std::string eta;
  if (f > 0.02 && f < 1) eta = fmt::format(", ~{:.0f}s left", elapsed_s * (1 - f) / f);
  std::string label = label_.size() > 24 ? label_.substr(0, 23) + "~" : label_;
  fmt::print(stderr, "\r\033[K{} [{}{}] {:3.0f}% ({:.0f}s{})", label, std::string(static_cast<std::size_t>(filled), '#'),
             std::string(static_cast<std::size_t>(kBarWidth - filled), '.'), f * 100, elapsed_s, eta);
  std::fflush(stderr);
}

}  // namespace epsim::app
