#include "app/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace epsim::app {

namespace {

// Label values escape backslash, double quote and newline; HELP text escapes
// backslash and newline (exposition format 0.0.4).
std::string escape(std::string_view s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const sim::Labels& labels, const char* extra_name, const std::string& extra) {
  if (labels.pairs().empty() && extra_name == nullptr) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels.pairs()) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + escape(v, true) + "\"";
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += std::string(extra_name) + "=\"" + extra + "\"";
  }
  return out + "}";
}

}  // namespace

std::string prometheus_labels(const sim::Labels& labels, const char* extra_name, const std::string& extra) {
  return label_text(labels, extra_name, extra);
}

std::string prometheus_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  // Shortest round-trip digits in scientific form tell the decimal exponent.
  const auto sci = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string_view s(buf, static_cast<std::size_t>(sci.ptr - buf));
  const int exp = std::atoi(std::string(s.substr(s.find('e') + 1)).c_str());
  // Go's 'g' with the shortest precision switches to %e when exp < -4 || exp >= 6.
  if (exp < -4 || exp >= 6) return std::string(s);
  const auto fixed = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

std::string prometheus_text(const sim::MetricsRegistry& registry) {
  std::string out;
  for (const auto& [name, family] : registry.families()) {
    const bool empty = family.counters.empty() && family.gauges.empty() && family.histograms.empty();
    if (empty) continue;  // client_golang exposes no family without a series
    out += "# HELP " + name + " " + escape(family.help, false) + "\n";
    out += "# TYPE " + name + " " + sim::metric_type_name(family.type) + "\n";
    for (const auto& [labels, c] : family.counters) {
      out += name + label_text(labels, nullptr, {}) + " " + prometheus_float(c->value()) + "\n";
    }
    for (const auto& [labels, g] : family.gauges) {
      out += name + label_text(labels, nullptr, {}) + " " + prometheus_float(g->value()) + "\n";
    }
    for (const auto& [labels, h] : family.histograms) {
      const auto& bounds = h->upper_bounds();
      for (std::size_t i = 0; i < bounds.size(); ++i) {
        out += name + "_bucket" + label_text(labels, "le", prometheus_float(bounds[i])) + " " +
               prometheus_float(static_cast<double>(h->cumulative_count(i))) + "\n";
      }
      out += name + "_bucket" + label_text(labels, "le", "+Inf") + " " +
             prometheus_float(static_cast<double>(h->count())) + "\n";
      out += name + "_sum" + label_text(labels, nullptr, {}) + " " + prometheus_float(h->sum()) + "\n";
      out += name + "_count" + label_text(labels, nullptr, {}) + " " +
             prometheus_float(static_cast<double>(h->count())) + "\n";
    }
  }
  return out;
}

}  // namespace epsim::app
