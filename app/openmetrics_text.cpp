#include "app/openmetrics_text.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "app/input_error.h"
#include "app/prometheus_text.h"

namespace epsim::app {

namespace {

// HELP text escapes backslash and newline (OpenMetrics 1.0, as 0.0.4).
std::string help_text(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Unix seconds of epoch + t, exact: whole seconds, then up to nine decimals
// without trailing zeros.
std::string timestamp_text(std::int64_t epoch_s, sim::Time t) {
  const std::int64_t ns = (t - sim::Time::zero()).ns();
  std::string out = std::to_string(epoch_s + ns / 1'000'000'000);
  std::int64_t frac = ns % 1'000'000'000;
  if (frac == 0) return out;
  std::string digits = fmt::format("{:09d}", frac);
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

bool ends_with_total(const std::string& name) {
  return name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
}

// A sample value: whole numbers (counts, depths) as integers, the common
// case and the cheap one; others as Prometheus' Go clients print them.
void append_value(std::string& out, double v) {
  if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    out.append(buf, r.ptr);
    return;
  }
  out += prometheus_float(v);
}

// One line per scrape from scrape `first` on: prefix, value, timestamp.
void append_samples(std::string& out, const std::string& prefix, const std::vector<std::string>& stamps,
                    std::size_t first, const std::vector<double>& values) {
  for (std::size_t k = 0; first + k < stamps.size() && k < values.size(); ++k) {
    out += prefix;
    append_value(out, values[k]);
    out += ' ';
    out += stamps[first + k];
    out += '\n';
  }
}

}  // namespace

std::uint64_t openmetrics_samples(const MetricScrapes& scrapes, const std::vector<ComputedFamily>& computed) {
  std::uint64_t n = 0;
  for (const auto& [name, f] : scrapes.families()) {
    for (const auto& [labels, s] : f.series) n += s.values.size();
  }
  for (const ComputedFamily& f : computed) {
    for (const auto& s : f.series) n += s.values.size();
  }
  return n;
}

std::string openmetrics_text(const MetricScrapes& scrapes, const std::vector<ComputedFamily>& computed,
                             std::int64_t epoch_s) {
  std::vector<std::string> stamps;
  stamps.reserve(scrapes.times().size());
  for (const sim::Time t : scrapes.times()) stamps.push_back(timestamp_text(epoch_s, t));
  std::string out;
  // Reserved up front: tens of MB grown by doubling cost more than the text.
  std::size_t estimate = 64;
  for (const auto& [name, f] : scrapes.families()) {
    for (const auto& [labels, s] : f.series)
      estimate += s.values.size() * (name.size() + 48 + 24 * labels.pairs().size());
  }
  for (const ComputedFamily& f : computed) {
    for (const auto& s : f.series) estimate += s.values.size() * (f.name.size() + 48 + 24 * s.labels.pairs().size());
  }
  out.reserve(estimate);
  for (const auto& [name, f] : scrapes.families()) {
    if (f.series.empty()) continue;
    // A counter's family name drops the `_total` its samples get back; a
    // counter without one is `unknown`, so its stored name stays upstream's.
    const bool counter = f.type == sim::MetricType::counter;
    const std::string family = counter && ends_with_total(name) ? name.substr(0, name.size() - 6) : name;
    const char* type = counter && !ends_with_total(name) ? "unknown" : sim::metric_type_name(f.type);
    out += "# TYPE " + family + " " + type + "\n";
    out += "# HELP " + family + " " + help_text(f.help) + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != sim::MetricType::histogram) {
        append_samples(out, name + prometheus_labels(labels) + " ", stamps, s.first_scrape, s.values);
        continue;
      }
      // A histogram's MetricPoint is all its lines at one timestamp.
      const std::size_t buckets = f.upper_bounds.size();
      const std::size_t stride = buckets + 3;
      std::vector<std::string> prefixes;
      for (std::size_t b = 0; b < buckets; ++b) {
        prefixes.push_back(name + "_bucket" + prometheus_labels(labels, "le", prometheus_float(f.upper_bounds[b])) +
                           " ");
      }
      prefixes.push_back(name + "_bucket" + prometheus_labels(labels, "le", "+Inf") + " ");
      prefixes.push_back(name + "_sum" + prometheus_labels(labels) + " ");
      prefixes.push_back(name + "_count" + prometheus_labels(labels) + " ");
      for (std::size_t k = 0; s.first_scrape + k < stamps.size() && (k + 1) * stride <= s.values.size(); ++k) {
        for (std::size_t j = 0; j < stride; ++j) {
          out += prefixes[j];
          append_value(out, s.values[k * stride + j]);
          out += ' ';
          out += stamps[s.first_scrape + k];
          out += '\n';
        }
      }
    }
  }
  for (const ComputedFamily& f : computed) {
    if (f.series.empty()) continue;
    out += "# TYPE " + f.name + " unknown\n";
    out += "# HELP " + f.name + " " + help_text(f.help) + "\n";
    for (const auto& s : f.series) {
      append_samples(out, f.name + prometheus_labels(s.labels) + " ", stamps, s.first_scrape, s.values);
    }
  }
  out += "# EOF\n";
  return out;
}

std::int64_t parse_epoch(const std::string& text) {
  const std::string hint = fmt::format(
      "--epoch {}: give UTC as 2021-01-01T00:00:00Z or Unix seconds such as 1609459200 (1970 to 9999)", text);
  std::int64_t seconds = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, seconds);
  if (ec == std::errc() && p == end) {
    if (seconds < 0 || seconds > 253'402'300'799) throw InputError(hint);
    return seconds;
  }
  // YYYY-MM-DDTHH:MM:SSZ
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text[19] != 'Z') {
    throw InputError(hint);
  }
  auto field = [&](std::size_t at, std::size_t len) {
    int v = 0;
    const auto r = std::from_chars(text.data() + at, text.data() + at + len, v);
    if (r.ec != std::errc() || r.ptr != text.data() + at + len) throw InputError(hint);
    return v;
  };
  const int y = field(0, 4), mo = field(5, 2), d = field(8, 2), h = field(11, 2), mi = field(14, 2), s = field(17, 2);
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  const int month_days[] = {31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || h > 23 || mi > 59 || s > 59) {
    throw InputError(hint);
  }
  // Days from 1970-01-01 (H. Hinnant's days_from_civil).
  const int yy = mo <= 2 ? y - 1 : y;
  const int era = yy / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = std::int64_t{era} * 146097 + doe - 719468;
  return days * 86400 + h * 3600 + mi * 60 + s;
}

}  // namespace epsim::app
