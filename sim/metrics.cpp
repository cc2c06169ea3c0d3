#include "sim/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace epsim::sim {

const char* metric_type_name(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "unknown";
}

Labels::Labels(std::initializer_list<std::pair<std::string, std::string>> pairs) : pairs_(pairs) {
  std::sort(pairs_.begin(), pairs_.end());
}

Labels Labels::with(const std::string& name, const std::string& value) const {
  Labels out = *this;
  const auto it = std::lower_bound(out.pairs_.begin(), out.pairs_.end(), name,
                                   [](const auto& pair, const std::string& n) { return pair.first < n; });
  if (it != out.pairs_.end() && it->first == name) {
    it->second = value;
  } else {
    out.pairs_.insert(it, {name, value});
  }
  return out;
}

void Counter::inc(double amount) {
  assert(amount >= 0 && "counters only go up");
  value_ += amount;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i]) || (i > 0 && !(upper_bounds_[i - 1] < upper_bounds_[i]))) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
}

std::vector<double> Histogram::exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    throw std::invalid_argument("exponential_buckets needs start > 0, factor > 1, count >= 1");
  }
  std::vector<double> bounds;
  bounds.reserve(static_cast<std::size_t>(count));
  double b = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(b);
    b *= factor;
  }
  return bounds;
}

void Histogram::observe(double value) {
  // Prometheus buckets are inclusive upper bounds ("le"): the first bound >=
  // value, else +Inf. One histogram's observations come in runs in one
  // bucket (a storm's queue waits past the last bound, a server's similar
  // latencies), so the previous observation's bucket is tried first: two
  // comparisons, where the search's four or five each depend on the last
  // (issue 12). NaN fails both and goes to the search, as before.
  const std::size_t n = upper_bounds_.size();
  std::size_t bucket = last_bucket_;
  const bool at_most_upper = bucket == n || value <= upper_bounds_[bucket];
  const bool above_lower = bucket == 0 || value > upper_bounds_[bucket - 1];
  if (!(at_most_upper && above_lower)) {
    const auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
    bucket = static_cast<std::size_t>(it - upper_bounds_.begin());
    last_bucket_ = bucket;
  }
  ++counts_[bucket];
  ++count_;
  sum_ += value;
}

std::uint64_t Histogram::cumulative_count(std::size_t bucket) const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bucket && i < counts_.size(); ++i) total += counts_[i];
  return total;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, MetricType type,
                                                 const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered with two types");
  }
  return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  auto& slot = family(name, MetricType::counter, help).counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  auto& slot = family(name, MetricType::gauge, help).gauges[labels];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& buckets, const Labels& labels) {
  Family& f = family(name, MetricType::histogram, help);
  if (f.histograms.empty() && f.buckets.empty()) f.buckets = buckets;
  if (f.buckets != buckets) throw std::logic_error("metric " + name + " registered with two bucket layouts");
  auto& slot = f.histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(buckets);
  return *slot;
}

double MetricsRegistry::value(const std::string& name, const Labels& labels) const {
  const auto it = families_.find(name);
  if (it == families_.end()) return 0;
  if (const auto c = it->second.counters.find(labels); c != it->second.counters.end()) return c->second->value();
  if (const auto g = it->second.gauges.find(labels); g != it->second.gauges.end()) return g->second->value();
  return 0;
}

}  // namespace epsim::sim
