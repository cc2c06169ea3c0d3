// metrics.om's writer (app/openmetrics_text.h), the scrape recorder that feeds
// it (app/metric_scrapes.h) and its flags. Expected texts and numbers come
// from the OpenMetrics 1.0 format and from the bookings' arithmetic.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "app/ingress_request_series.h"
#include "app/input_error.h"
#include "app/metric_scrapes.h"
#include "app/openmetrics_text.h"
#include "app/pipeline.h"
#include "app/report.h"
#include "app/scenario.h"
#include "sim/metrics.h"

using epsim::app::ComputedFamily;
using epsim::app::MetricScrapes;
using epsim::app::RequestBooking;
using epsim::sim::Duration;
using epsim::sim::Time;

namespace {

Time at_s(std::int64_t s) { return Time::zero() + Duration::seconds(s); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(text)) {
    if (l.rfind(prefix, 0) == 0) out.push_back(l);
  }
  return out;
}

}  // namespace

TEST_CASE("metrics.om: types keep production's names, a timestamp per sample, one # EOF") {
  epsim::sim::MetricsRegistry r;
  auto& adds = r.counter("workqueue_adds_total", "Total number of adds handled by workqueue",
                         {{"cluster", "idc"}, {"name", "endpoint"}});
  auto& depth = r.gauge("workqueue_depth", "Current depth of workqueue", {{"cluster", "idc"}, {"name", "endpoint"}});
  auto& h = r.histogram("workqueue_queue_duration_seconds", "How long", {0.5, 10},
                        {{"cluster", "idc"}, {"name", "endpoint"}});
  r.counter("nginx_ingress_controller_success", "reloads");  // not a scraped family: left out
  MetricScrapes scrapes(Duration::seconds(15));
  scrapes.on_sample(at_s(0), r);
  adds.inc(3);
  depth.set(12989);
  h.observe(0.25);
  h.observe(20);
  scrapes.on_sample(at_s(7), r);  // not a scrape instant
  scrapes.on_sample(at_s(15), r);
  adds.inc(2);
  depth.set(4);
  scrapes.on_sample(at_s(30), r);
  REQUIRE(scrapes.times().size() == 3);

  ComputedFamily requests;
  requests.name = "nginx_ingress_controller_requests";
  requests.help = "The total number of client requests.";
  requests.series.push_back({{{"service", "web-00001"}, {"status", "504"}}, {0, 10, 25}});
  const std::string text = epsim::app::openmetrics_text(scrapes, {requests}, 1'000);

  // A counter's family drops `_total`; its samples carry it.
  CHECK(text.find("# TYPE workqueue_adds counter\n") != std::string::npos);
  CHECK(lines_starting(text, "workqueue_adds_total{") ==
        std::vector<std::string>{"workqueue_adds_total{cluster=\"idc\",name=\"endpoint\"} 0 1000",
                                 "workqueue_adds_total{cluster=\"idc\",name=\"endpoint\"} 3 1015",
                                 "workqueue_adds_total{cluster=\"idc\",name=\"endpoint\"} 5 1030"});
  CHECK(text.find("# TYPE workqueue_depth gauge\n") != std::string::npos);
  CHECK(lines_starting(text, "workqueue_depth{")[1] == "workqueue_depth{cluster=\"idc\",name=\"endpoint\"} 12989 1015");
  // A counter upstream names without _total is `unknown`: stored as named.
  CHECK(text.find("# TYPE nginx_ingress_controller_requests unknown\n") != std::string::npos);
  CHECK(lines_starting(text, "nginx_ingress_controller_requests{").back() ==
        "nginx_ingress_controller_requests{service=\"web-00001\",status=\"504\"} 25 1030");
  CHECK(text.find("nginx_ingress_controller_success") == std::string::npos);
  // A histogram's point: every bucket (+Inf last), _sum and _count at one timestamp.
  const auto point = lines_starting(text, "workqueue_queue_duration_seconds_");
  REQUIRE(point.size() == 3 * 5);
  CHECK(point[5] == "workqueue_queue_duration_seconds_bucket{cluster=\"idc\",name=\"endpoint\",le=\"0.5\"} 1 1015");
  CHECK(point[6] == "workqueue_queue_duration_seconds_bucket{cluster=\"idc\",name=\"endpoint\",le=\"10\"} 1 1015");
  CHECK(point[7] == "workqueue_queue_duration_seconds_bucket{cluster=\"idc\",name=\"endpoint\",le=\"+Inf\"} 2 1015");
  CHECK(point[8] == "workqueue_queue_duration_seconds_sum{cluster=\"idc\",name=\"endpoint\"} 20.25 1015");
  CHECK(point[9] == "workqueue_queue_duration_seconds_count{cluster=\"idc\",name=\"endpoint\"} 2 1015");
  // No # UNIT; every family's TYPE before its samples; one # EOF, last.
  CHECK(text.find("# UNIT") == std::string::npos);
  CHECK(text.size() >= 6);
  CHECK(text.substr(text.size() - 6) == "# EOF\n");
  CHECK(text.find("# EOF") == text.size() - 6);
  // Deterministic bytes.
  CHECK(epsim::app::openmetrics_text(scrapes, {requests}, 1'000) == text);
  CHECK(epsim::app::openmetrics_samples(scrapes, {requests}) == 3 + 3 + 3 * 5 + 3);
}

TEST_CASE("metrics.om: timestamps are exact seconds, with decimals for a fractional interval") {
  epsim::sim::MetricsRegistry r;
  r.gauge("workqueue_depth", "d", {{"name", "endpoint"}}).set(1);
  MetricScrapes scrapes(Duration::milliseconds(1500));
  scrapes.on_sample(Time::zero(), r);
  scrapes.on_sample(Time::zero() + Duration::milliseconds(1500), r);
  scrapes.on_sample(Time::zero() + Duration::milliseconds(3000), r);
  const auto lines = lines_starting(epsim::app::openmetrics_text(scrapes, {}, 1'609'459'200), "workqueue_depth{");
  CHECK(lines == std::vector<std::string>{"workqueue_depth{name=\"endpoint\"} 1 1609459200",
                                          "workqueue_depth{name=\"endpoint\"} 1 1609459201.5",
                                          "workqueue_depth{name=\"endpoint\"} 1 1609459203"});
}

TEST_CASE("request bookings are spread evenly over their stretch and rounded, monotone, exact at the end") {
  MetricScrapes scrapes(Duration::seconds(15));
  const epsim::sim::MetricsRegistry none;
  for (int k = 0; k <= 3; ++k) scrapes.on_sample(at_s(15 * k), none);
  epsim::models::BackendTotals hundred;
  hundred.requests = hundred.requests_504 = 100;
  scrapes.on_booking(0, at_s(10), at_s(40), hundred);  // 100 over [10 s, 40 s]
  epsim::models::BackendTotals one;
  one.requests = one.ok = 1;
  scrapes.on_booking(1, at_s(15), at_s(15), one);  // one request at exactly 15 s
  scrapes.on_booking(1, at_s(46), at_s(50), one);  // after the last scrape: never seen
  std::vector<const RequestBooking*> all;
  std::vector<double> counts;
  for (const auto& b : scrapes.bookings()) {
    all.push_back(&b);
    counts.push_back(b.r504 + b.ok);
  }
  // 0 | 100·5/30 + 1 = 17.67 | 100·20/30 + 1 = 67.67 | 101
  CHECK(scrapes.cumulative(all, counts) == std::vector<double>{0, 18, 68, 101});
  // A day-long stretch over thousands of scrapes keeps its total and its slope.
  MetricScrapes day(Duration::seconds(15));
  for (int k = 0; k <= 5760; ++k) day.on_sample(at_s(15 * k), none);
  epsim::models::BackendTotals many;
  many.requests = many.ok = 1'728'000'003;  // 20 per second over the day, and 3
  day.on_booking(0, at_s(0), at_s(86'400), many);
  const RequestBooking* b = &day.bookings().front();
  const auto c = day.cumulative({b}, {b->ok});
  REQUIRE(c.size() == 5761);
  CHECK(c.back() == 1'728'000'003);
  CHECK(c[2880] == doctest::Approx(864'000'001.5).epsilon(1e-9));
  for (std::size_t k = 1; k < c.size(); ++k) CHECK(c[k] >= c[k - 1]);
}

TEST_CASE("--epoch takes RFC 3339 UTC or Unix seconds, --metrics-services three words") {
  using epsim::app::parse_epoch;
  CHECK(parse_epoch("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_epoch("2021-01-01T00:00:00Z") == epsim::app::kDefaultEpochSeconds);
  CHECK(parse_epoch("2021-01-01T00:00:00Z") == 51 * 365 * 86'400 + 13 * 86'400);  // 13 leap days, 1972 to 2020
  CHECK(parse_epoch("2000-02-29T12:34:56Z") == 951'827'696);
  CHECK(parse_epoch("1609459200") == 1'609'459'200);
  for (const char* bad : {"2021-02-29T00:00:00Z", "2021-01-01 00:00:00Z", "2021-01-01T00:00:00+01:00", "-5",
                          "1969-12-31T23:59:59Z", "", "soon"}) {
    CHECK_THROWS_AS(parse_epoch(bad), epsim::app::InputError);
  }
  CHECK(epsim::app::parse_metrics_services("all") == epsim::app::MetricsServices::all);
  CHECK_THROWS_AS(epsim::app::parse_metrics_services("some"), epsim::app::InputError);
}

TEST_CASE("recording scrapes leaves the run as it was, and the request counters end at the report's totals") {
  const auto scenario = epsim::app::load_scenario(EPSIM_SOURCE_DIR "/tests/data/sweep-small.yaml");
  epsim::app::Pipeline plain(scenario);
  plain.run();
  epsim::app::Pipeline scraped(scenario);
  scraped.record_scrapes(Duration::seconds(15));
  scraped.run();
  const auto report = epsim::app::build_report(scraped);
  CHECK(report["digest"] == epsim::app::build_report(plain)["digest"]);
  const auto family = epsim::app::ingress_request_family(scraped, epsim::app::MetricsServices::failing);
  double ok = 0, r504 = 0;
  for (const auto& s : family.series) {
    const std::string status = s.labels.pairs().back().second;  // `status` sorts last
    (status == "504" ? r504 : ok) += s.values.back();
    // A series starts one scrape before its first request, at 0.
    REQUIRE(s.values.size() >= 2);
    CHECK(s.values[0] == 0);
    CHECK(s.values[1] > 0);
    CHECK(s.first_scrape + s.values.size() == scraped.scrapes()->times().size());
    if (status == "504") CHECK(s.first_scrape > 0);  // the windows come after the resync at 1h
  }
  CHECK(r504 == report["summary"]["requests_504"].get<double>());
  CHECK(r504 > 0);
  CHECK(ok + r504 == report["summary"]["requests_total"].get<double>());
  CHECK_THROWS_AS(epsim::app::Pipeline(scenario).record_scrapes(Duration::milliseconds(1500)), epsim::app::InputError);
}
