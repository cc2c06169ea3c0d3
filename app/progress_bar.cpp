#include "app/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace epsim::app {

namespace {
constexpr auto kShowAfter = std::chrono::seconds(1);
constexpr int kBarWidth = 40;
}  // namespace

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), started_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputs("\r\033[K", stderr);
}

bool ProgressBar::stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && !(term != nullptr && std::strcmp(term, "dumb") == 0);
}

void ProgressBar::update(double fraction_done) {
  if (!enabled_) return;
  const double f = std::clamp(fraction_done, 0.0, 1.0);
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
