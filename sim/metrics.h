// Metrics primitives the models emit into (docs/architecture.md): counters, gauges
// and histograms with explicit bucket layouts, grouped by family name and
// label set as in Prometheus. Models hold references to the series they
// update; the app reads the registry at the end and formats it. Families and
// series iterate in sorted order, so any output built from them is stable.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace epsim::sim {

// Label pairs, kept sorted by name so that equal sets compare equal.
class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<std::pair<std::string, std::string>> pairs);
  const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }
  // These labels and `name`=`value` (replacing a label of that name).
  Labels with(const std::string& name, const std::string& value) const;
  friend auto operator<=>(const Labels&, const Labels&) = default;
  friend bool operator==(const Labels&, const Labels&) = default;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

class Counter {
 public:
  void inc(double amount = 1.0);  // amount >= 0: counters never go down
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Gauge {
 public:
  void set(double v) { value_ = v; }
  void add(double delta) { value_ += delta; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

// A cumulative histogram over explicit, strictly increasing upper bounds; the
// +Inf bucket is implicit.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  // start, start·factor, …: `count` bounds. client-go's workqueue duration
  // layout is exponential_buckets(1e-8, 10, 10): 1e-8 … 10 s.
  static std::vector<double> exponential_buckets(double start, double factor, int count);

  void observe(double value);
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Non-cumulative count per bucket; the last entry is the +Inf bucket.
  const std::vector<std::uint64_t>& bucket_counts() const { return counts_; }
  std::uint64_t cumulative_count(std::size_t bucket) const;
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> upper_bounds_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  double sum_ = 0;
  std::size_t last_bucket_ = 0;  // of the previous observation: tried first
};

enum class MetricType { counter, gauge, histogram };
// The TYPE word of a family, the same in the Prometheus text format and in
// OpenMetrics: counter, gauge, histogram.
const char* metric_type_name(MetricType type);

class MetricsRegistry {
 public:
  struct Family {
    MetricType type;
    std::string help;
    std::vector<double> buckets;  // histograms only
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };

  // Each returns the series of `name` with `labels`, creating it on first use.
  // A name always keeps the type (and buckets) it was first registered with.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& buckets, const Labels& labels = {});

  const std::map<std::string, Family>& families() const { return families_; }
  // Value of a counter or gauge series, 0 when absent (for reports and tests).
  double value(const std::string& name, const Labels& labels = {}) const;

 private:
  Family& family(const std::string& name, MetricType type, const std::string& help);
  std::map<std::string, Family> families_;
};

}  // namespace epsim::sim
