#include "app/least_squares.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using epsim::app::BatchResiduals;
using epsim::app::fit_linear;
using epsim::app::levenberg_marquardt;
using epsim::app::LinearFit;
using epsim::app::LmOptions;
using epsim::app::LmResult;
using epsim::app::r_squared;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using PointResiduals = std::function<std::vector<double>(const std::vector<double>&)>;

// A batch residual function over a one-point one, recording the batches it is given.
struct Recorder {
  PointResiduals residuals;
  std::vector<std::size_t> batch_sizes;
  int points = 0;

  BatchResiduals batch() {
    return [this](const std::vector<std::vector<double>>& batch) {
      batch_sizes.push_back(batch.size());
      points += static_cast<int>(batch.size());
      std::vector<std::vector<double>> out;
      for (const auto& p : batch) out.push_back(residuals(p));
      return out;
    };
  }
};

LmResult fit(const PointResiduals& residuals, std::vector<double> start, const std::vector<double>& lower,
             const std::vector<double>& upper, const LmOptions& options = {}) {
  Recorder recorder{residuals, {}, 0};
  return levenberg_marquardt(recorder.batch(), std::move(start), lower, upper, options);
}

// y = 5 exp(-0.3 t) at t = 0..9; residuals of a exp(-b t) against it.
std::vector<double> decay_residuals(const std::vector<double>& p) {
  std::vector<double> r;
  for (int t = 0; t < 10; ++t) r.push_back(p[0] * std::exp(-p[1] * t) - 5.0 * std::exp(-0.3 * t));
  return r;
}

std::string runtime_error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("least_squares: fit_linear recovers the exact coefficients of a plane") {
  // y = 3 + 2x - 0.5z, with an intercept column.
  const std::vector<std::vector<double>> xz = {{0, 0}, {1, 0}, {0, 1}, {2, 3}, {-1, 4}, {5, -2}};
  std::vector<std::vector<double>> rows;
  std::vector<double> values;
  for (const auto& p : xz) {
    rows.push_back({1.0, p[0], p[1]});
    values.push_back(3 + 2 * p[0] - 0.5 * p[1]);
  }
  const LinearFit fit = fit_linear(rows, values);
  REQUIRE(fit.coefficients.size() == 3);
  CHECK(fit.coefficients[0] == doctest::Approx(3.0).epsilon(1e-12));
  CHECK(fit.coefficients[1] == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(fit.coefficients[2] == doctest::Approx(-0.5).epsilon(1e-12));
  CHECK(fit.rank == 3);
}

TEST_CASE("least_squares: fit_linear on a noisy line equals the simple regression formulas") {
  const std::vector<double> x = {0, 1, 2, 3, 4, 5, 7};
  const std::vector<double> y = {1.1, 2.9, 5.2, 6.8, 9.1, 11.0, 14.7};
  double x_mean = 0;
  double y_mean = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    x_mean += x[i] / static_cast<double>(x.size());
    y_mean += y[i] / static_cast<double>(x.size());
  }
  double sxy = 0;
  double sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - x_mean) * (y[i] - y_mean);
    sxx += (x[i] - x_mean) * (x[i] - x_mean);
  }
  const double slope = sxy / sxx;
  const double intercept = y_mean - slope * x_mean;

  std::vector<std::vector<double>> rows;
  for (const double xi : x) rows.push_back({1.0, xi});
  const LinearFit fit = fit_linear(rows, y);
  REQUIRE(fit.coefficients.size() == 2);
  CHECK(fit.coefficients[0] == doctest::Approx(intercept).epsilon(1e-12));
  CHECK(fit.coefficients[1] == doctest::Approx(slope).epsilon(1e-12));
  CHECK(fit.rank == 2);
}

TEST_CASE("least_squares: fit_linear on duplicated columns gives the minimum-norm solution") {
  // y = 4x with the columns x and x: any b1 + b2 = 4 fits; the shortest is (2, 2).
  const LinearFit twice = fit_linear({{1}, {2}, {3}}, {4, 8, 12});
  CHECK(twice.rank == 1);  // one column: a line
  const LinearFit duplicate = fit_linear({{1, 1}, {2, 2}, {3, 3}}, {4, 8, 12});
  REQUIRE(duplicate.coefficients.size() == 2);
  CHECK(duplicate.coefficients[0] == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(duplicate.coefficients[1] == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(duplicate.rank == 1);

  // y = 1 + 4x with columns 1, x, x: intercept 1 and 2, 2.
  const LinearFit with_intercept = fit_linear({{1, 0, 0}, {1, 1, 1}, {1, 2, 2}, {1, 5, 5}}, {1, 5, 9, 21});
  REQUIRE(with_intercept.coefficients.size() == 3);
  CHECK(with_intercept.coefficients[0] == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(with_intercept.coefficients[1] == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(with_intercept.coefficients[2] == doctest::Approx(2.0).epsilon(1e-12));
  CHECK(with_intercept.rank == 2);
}

TEST_CASE("least_squares: fit_linear rejects bad input") {
  CHECK_THROWS_AS(fit_linear({}, {}), std::invalid_argument);
  CHECK_THROWS_AS(fit_linear({{1}, {2}}, {1}), std::invalid_argument);            // values short
  CHECK_THROWS_AS(fit_linear({{1, 2}, {3}}, {1, 2}), std::invalid_argument);      // ragged rows
  CHECK_THROWS_AS(fit_linear({{}, {}}, {1, 2}), std::invalid_argument);           // no features
  CHECK_THROWS_AS(fit_linear({{1}, {kNaN}}, {1, 2}), std::invalid_argument);      // non-finite feature
  CHECK_THROWS_AS(fit_linear({{1}, {2}}, {1, kInf}), std::invalid_argument);      // non-finite value
}

TEST_CASE("least_squares: r_squared") {
  const std::vector<double> observed = {1, 2, 3, 6};  // mean 3, SS_tot = 4 + 1 + 0 + 9 = 14
  CHECK(r_squared(observed, observed) == 1.0);
  CHECK(r_squared(observed, {3, 3, 3, 3}) == doctest::Approx(0.0));
  // SS_res = 0 + 1 + 1 + 4 = 6: 1 - 6/14.
  CHECK(r_squared(observed, {1, 3, 2, 4}) == doctest::Approx(1.0 - 6.0 / 14.0));
  // Worse than the mean: negative.
  CHECK(r_squared(observed, {6, 3, 2, 1}) == doctest::Approx(1.0 - (25.0 + 1 + 1 + 25) / 14.0));

  // No spread in the observations: 1 when exact, 0 (not -inf) otherwise, even when their
  // mean does not round back to them (0.1 + 0.1 + 0.1 is not 0.3).
  CHECK(r_squared({2, 2, 2}, {2, 2, 2}) == 1.0);
  CHECK(r_squared({2, 2, 2}, {2, 2, 3}) == 0.0);
  CHECK(r_squared({0.1, 0.1, 0.1}, {0.1, 0.1, 0.1}) == 1.0);
  CHECK(r_squared({0.1, 0.1, 0.1}, {0.1, 0.1, 0.2}) == 0.0);

  CHECK_THROWS_AS(r_squared({}, {}), std::invalid_argument);
  CHECK_THROWS_AS(r_squared({1, 2}, {1}), std::invalid_argument);
}

TEST_CASE("least_squares: LM fits an exponential decay from a far start") {
  LmOptions options;
  options.max_iterations = 50;
  const LmResult result = fit(decay_residuals, {1, 1}, {0, 0}, {100, 10}, options);
  REQUIRE(result.parameters.size() == 2);
  CHECK(result.converged);
  CHECK(std::abs(result.parameters[0] - 5.0) < 1e-3);
  CHECK(std::abs(result.parameters[1] - 0.3) < 1e-3);
  CHECK(result.cost < 1e-6);
  REQUIRE(result.residuals.size() == 10);
  const std::vector<double> at_optimum = decay_residuals(result.parameters);
  for (std::size_t k = 0; k < 10; ++k) CHECK(result.residuals[k] == at_optimum[k]);
  CHECK(result.at_bound == std::vector<bool>{false, false});
}

TEST_CASE("least_squares: LM solves Rosenbrock as residuals") {
  // cost = 100 (y - x^2)^2 + (1 - x)^2, minimum 0 at (1, 1); the classic start (-1.2, 1).
  const PointResiduals rosenbrock = [](const std::vector<double>& p) {
    return std::vector<double>{10 * (p[1] - p[0] * p[0]), 1 - p[0]};
  };
  LmOptions options;
  options.max_iterations = 200;
  const LmResult result = fit(rosenbrock, {-1.2, 1}, {-kInf, -kInf}, {kInf, kInf}, options);
  CHECK(result.converged);
  CHECK(std::abs(result.parameters[0] - 1.0) < 1e-3);
  CHECK(std::abs(result.parameters[1] - 1.0) < 1e-3);
  CHECK(result.iterations <= 200);
}

TEST_CASE("least_squares: LM stops on a bound") {
  // Minimising (p - 5)^2 with p <= 3: p = 3, cost 4.
  const PointResiduals toward_5 = [](const std::vector<double>& p) { return std::vector<double>{p[0] - 5}; };
  const LmResult result = fit(toward_5, {1}, {0}, {3});
  CHECK(result.parameters[0] == 3.0);
  CHECK(result.at_bound[0]);
  CHECK(result.cost == doctest::Approx(4.0));
  CHECK(result.converged);
  CHECK(result.stop_reason == "every parameter is held at a bound");

  // A start outside the bounds is clamped; a lower bound works the same way.
  const PointResiduals toward_minus_5 = [](const std::vector<double>& p) { return std::vector<double>{p[0] + 5}; };
  const LmResult below = fit(toward_minus_5, {-10}, {-2}, {4});
  CHECK(below.parameters[0] == -2.0);
  CHECK(below.at_bound[0]);
  CHECK(below.stop_reason == "every parameter is held at a bound");

  // One parameter held on its bound, the other still reaches its optimum.
  const PointResiduals both = [](const std::vector<double>& p) {
    return std::vector<double>{p[0] - 5, p[1] - 2, p[0] + p[1] - 7};
  };
  const LmResult mixed = fit(both, {1, 1}, {0, 0}, {3, 10});
  CHECK(mixed.parameters[0] == 3.0);
  // With p0 = 3: minimise (p1 - 2)^2 + (p1 - 4)^2, so p1 = 3.
  CHECK(mixed.parameters[1] == doctest::Approx(3.0).epsilon(1e-4));
  CHECK(mixed.at_bound == std::vector<bool>{true, false});
}

TEST_CASE("least_squares: LM gives NaN standard errors to parameters the residuals do not identify") {
  const std::vector<double> t = {1, 2, 3, 4};
  const std::vector<double> y = {2.1, 3.9, 6.2, 7.8};
  // p[1] is ignored.
  const PointResiduals ignores_second = [&](const std::vector<double>& p) {
    std::vector<double> r;
    for (std::size_t k = 0; k < t.size(); ++k) r.push_back(p[0] * t[k] - y[k]);
    return r;
  };
  const LmResult ignored = fit(ignores_second, {1, 1}, {-kInf, -kInf}, {kInf, kInf});
  REQUIRE(ignored.standard_errors.size() == 2);
  CHECK(std::isfinite(ignored.standard_errors[0]));
  CHECK(ignored.standard_errors[0] > 0);
  CHECK(std::isnan(ignored.standard_errors[1]));

  // Only p[0] + p[1] matters: both are unidentified; p[2] (an offset) is.
  const PointResiduals sum_only = [&](const std::vector<double>& p) {
    std::vector<double> r;
    for (std::size_t k = 0; k < t.size(); ++k) r.push_back((p[0] + p[1]) * t[k] + p[2] - y[k]);
    return r;
  };
  const LmResult sum = fit(sum_only, {1, 2, 0.5}, {-kInf, -kInf, -kInf}, {kInf, kInf, kInf});
  REQUIRE(sum.standard_errors.size() == 3);
  CHECK(std::isnan(sum.standard_errors[0]));
  CHECK(std::isnan(sum.standard_errors[1]));
  CHECK(std::isfinite(sum.standard_errors[2]));

  // p[1] moves one residual by 1e-14 per unit, p[0] the others by t: a column ~0.
  const PointResiduals barely_second = [&](const std::vector<double>& p) {
    std::vector<double> r = ignores_second(p);
    r.push_back(1e-14 * p[1]);
    return r;
  };
  const LmResult barely = fit(barely_second, {1, 1}, {-kInf, -kInf}, {kInf, kInf});
  CHECK(std::isfinite(barely.standard_errors[0]));
  CHECK(std::isnan(barely.standard_errors[1]));

  // A fixed parameter (lower == upper) is not estimated.
  const LmResult fixed = fit(sum_only, {1, 2, 0.5}, {-kInf, 2, -kInf}, {kInf, 2, kInf});
  CHECK(fixed.parameters[1] == 2.0);
  CHECK(std::isfinite(fixed.standard_errors[0]));
  CHECK(std::isnan(fixed.standard_errors[1]));
  CHECK(std::isfinite(fixed.standard_errors[2]));
}

TEST_CASE("least_squares: LM standard error of a constant equals the textbook formula") {
  // Fitting c to m observations with unit sigma, residuals c - y_i: c = mean(y),
  // J = (1, ..., 1), (J^T J)^-1 = 1/m, so se = sqrt(max(1, cost/(m - 1)) / m).
  const auto constant_fit = [](const std::vector<double>& y) {
    const PointResiduals residuals = [y](const std::vector<double>& p) {
      std::vector<double> r;
      for (const double yi : y) r.push_back(p[0] - yi);
      return r;
    };
    return fit(residuals, {0}, {-kInf}, {kInf});
  };

  // Mean 5, cost 16 + 9 + 1 + 4 + 36 = 66: the scatter (66/4 > 1) widens the error.
  const LmResult scattered = constant_fit({1, 2, 4, 7, 11});
  CHECK(scattered.parameters[0] == doctest::Approx(5.0).epsilon(1e-5));
  CHECK(scattered.cost == doctest::Approx(66.0).epsilon(1e-6));
  CHECK(scattered.standard_errors[0] == doctest::Approx(std::sqrt(66.0 / 4.0 / 5.0)).epsilon(1e-6));

  // Mean 1, cost 0.02: cost/(m - 1) < 1, the error is the sigma-only 1/sqrt(m).
  const LmResult tight = constant_fit({0.9, 1.0, 1.1});
  CHECK(tight.parameters[0] == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(tight.standard_errors[0] == doctest::Approx(1.0 / std::sqrt(3.0)).epsilon(1e-6));
}

TEST_CASE("least_squares: LM standard errors of a line equal the simple regression formulas") {
  // y = a + b x with unit sigma: var(b) = 1/Sxx, var(a) = sum(x^2) / (m Sxx), both times
  // max(1, SS_res/(m - 2)); a and b are correlated, so this checks the whole inverse.
  const std::vector<double> x = {0, 1, 2, 3, 4, 5, 7};
  const std::vector<double> y = {1.1, 2.9, 5.2, 6.8, 9.1, 11.0, 14.7};
  const auto m = static_cast<double>(x.size());
  double x_mean = 0;
  double y_mean = 0;
  double sum_x2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    x_mean += x[i] / m;
    y_mean += y[i] / m;
    sum_x2 += x[i] * x[i];
  }
  double sxx = 0;
  double sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxx += (x[i] - x_mean) * (x[i] - x_mean);
    sxy += (x[i] - x_mean) * (y[i] - y_mean);
  }
  const double slope = sxy / sxx;
  const double intercept = y_mean - slope * x_mean;
  double ss_res = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = y[i] - intercept - slope * x[i];
    ss_res += e * e;
  }
  const double spread = std::max(1.0, ss_res / (m - 2));

  const PointResiduals line = [&](const std::vector<double>& p) {
    std::vector<double> r;
    for (std::size_t i = 0; i < x.size(); ++i) r.push_back(p[0] + p[1] * x[i] - y[i]);
    return r;
  };
  const LmResult result = fit(line, {0, 0}, {-kInf, -kInf}, {kInf, kInf});
  CHECK(result.parameters[0] == doctest::Approx(intercept).epsilon(1e-4));
  CHECK(result.parameters[1] == doctest::Approx(slope).epsilon(1e-4));
  CHECK(result.standard_errors[0] == doctest::Approx(std::sqrt(sum_x2 / (m * sxx) * spread)).epsilon(1e-6));
  CHECK(result.standard_errors[1] == doctest::Approx(std::sqrt(1.0 / sxx * spread)).epsilon(1e-6));
}

TEST_CASE("least_squares: LM gets near the optimum of a step function") {
  // floor(10 p)/10 - 0.55 is flat between tenths: a tiny finite-difference step sees a
  // zero derivative; the relative step crosses the steps. The smallest cost, 0.05^2,
  // holds on [0.5, 0.7).
  const PointResiduals stairs = [](const std::vector<double>& p) {
    return std::vector<double>{std::floor(10 * p[0]) / 10 - 0.55};
  };
  LmOptions options;
  options.relative_step = 0.1;
  const LmResult result = fit(stairs, {2.0}, {0}, {10}, options);
  CHECK(std::abs(result.parameters[0] - 0.55) <= 0.1);
  CHECK(result.cost == doctest::Approx(0.0025));

  // A step of 2e-7 at p = 2 does not leave the stair [2, 2.1): no derivative, no move.
  options.relative_step = 1e-7;
  const LmResult stuck = fit(stairs, {2.0}, {0}, {10}, options);
  CHECK(stuck.parameters[0] == 2.0);
  CHECK_FALSE(stuck.converged);
  CHECK(stuck.stop_reason == "residuals do not change with the parameters");
  CHECK(std::isnan(stuck.standard_errors[0]));
}

TEST_CASE("least_squares: LM evaluates one batch of n + 1 points per Jacobian and counts them") {
  Recorder recorder{decay_residuals, {}, 0};
  LmOptions options;
  options.max_iterations = 50;
  const LmResult result = levenberg_marquardt(recorder.batch(), {1, 1}, {0, 0}, {100, 10}, options);
  REQUIRE(!recorder.batch_sizes.empty());
  // The start's batch, then one batch per trial step: the point and its two Jacobian points.
  CHECK(recorder.batch_sizes.size() == static_cast<std::size_t>(result.iterations) + 1);
  for (const std::size_t size : recorder.batch_sizes) CHECK(size == 3);
  CHECK(result.evaluations == recorder.points);
  CHECK(result.evaluations == 3 * (result.iterations + 1));

  // A fixed parameter gets no Jacobian point.
  Recorder fixed{decay_residuals, {}, 0};
  levenberg_marquardt(fixed.batch(), {1, 0.3}, {0, 0.3}, {100, 0.3}, options);
  for (const std::size_t size : fixed.batch_sizes) CHECK(size == 2);

  // max_iterations = 0: the start's batch only.
  Recorder once{decay_residuals, {}, 0};
  options.max_iterations = 0;
  const LmResult limited = levenberg_marquardt(once.batch(), {1, 1}, {0, 0}, {100, 10}, options);
  CHECK(once.batch_sizes == std::vector<std::size_t>{3});
  CHECK(limited.evaluations == 3);
  CHECK(limited.iterations == 0);
  CHECK_FALSE(limited.converged);
  CHECK(limited.stop_reason == "iteration limit");
  CHECK(limited.parameters == std::vector<double>{1, 1});
}

TEST_CASE("least_squares: LM Jacobian points step by the relative step, backwards at an upper bound") {
  Recorder recorder{[](const std::vector<double>& p) { return std::vector<double>{p[0] - 1, p[1] - 2}; }, {}, 0};
  std::vector<std::vector<double>> first;
  const BatchResiduals inner = recorder.batch();
  const BatchResiduals capture = [&](const std::vector<std::vector<double>>& points) {
    if (first.empty()) first = points;
    return inner(points);
  };
  LmOptions options;
  options.max_iterations = 0;
  // p0 = 4 in [0, 100]: scale max(4, 1% of 100) = 4, step 0.02 * 4 = 0.08 forward.
  // p1 = 10 on its upper bound 10 (in [0, 10]): scale 10, step 0.2 backward.
  levenberg_marquardt(capture, {4, 10}, {0, 0}, {100, 10}, options);
  REQUIRE(first.size() == 3);
  CHECK(first[0] == std::vector<double>{4, 10});
  CHECK(first[1][0] == doctest::Approx(4.08));
  CHECK(first[1][1] == 10.0);
  CHECK(first[2][0] == 4.0);
  CHECK(first[2][1] == doctest::Approx(9.8));
  // A positive parameter with bounds over decades (a throughput in [1, 100000])
  // scales with itself: 43 steps by 0.02 * 43 = 0.86, not by 2% of 1% of the width.
  first.clear();
  levenberg_marquardt(capture, {43, 10}, {1, 0}, {100000, 10}, options);
  REQUIRE(first.size() == 3);
  CHECK(first[1][0] == doctest::Approx(43.86));
}

TEST_CASE("least_squares: LM stops at once on a zero cost") {
  Recorder recorder{[](const std::vector<double>& p) { return std::vector<double>{p[0] - 2}; }, {}, 0};
  const LmResult result = levenberg_marquardt(recorder.batch(), {2}, {-kInf}, {kInf});
  CHECK(result.converged);
  CHECK(result.stop_reason == "cost below 1e-300");
  CHECK(result.iterations == 0);
  CHECK(recorder.batch_sizes.size() == 1);
}

TEST_CASE("least_squares: LM rejects bad input") {
  const PointResiduals linear = [](const std::vector<double>& p) { return std::vector<double>{p[0] - 1}; };
  CHECK_THROWS_AS(fit(linear, {}, {}, {}), std::invalid_argument);
  CHECK_THROWS_AS(fit(linear, {0}, {0, 0}, {1}), std::invalid_argument);
  CHECK_THROWS_AS(fit(linear, {0}, {0}, {1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(fit(linear, {0}, {2}, {1}), std::invalid_argument);  // lower > upper
  CHECK_THROWS_AS(fit(linear, {0}, {kNaN}, {1}), std::invalid_argument);
  CHECK_THROWS_AS(fit(linear, {kNaN}, {0}, {1}), std::invalid_argument);
  LmOptions no_step;
  no_step.relative_step = 0;
  CHECK_THROWS_AS(fit(linear, {0}, {0}, {1}, no_step), std::invalid_argument);
  LmOptions negative_tolerance;
  negative_tolerance.tolerance = -1;
  CHECK_THROWS_AS(fit(linear, {0}, {0}, {1}, negative_tolerance), std::invalid_argument);
  LmOptions negative_iterations;
  negative_iterations.max_iterations = -1;
  CHECK_THROWS_AS(fit(linear, {0}, {0}, {1}, negative_iterations), std::invalid_argument);

  // Non-finite residuals name the residual and the point.
  const PointResiduals log_of_p = [](const std::vector<double>& p) {
    return std::vector<double>{1.0, std::log(p[0] - 3)};
  };
  const std::string message = runtime_error_message([&] { fit(log_of_p, {2, 1}, {0, 0}, {10, 10}); });
  CHECK(message.find("residual 1 is nan at point (2, 1)") != std::string::npos);

  // The residual function must return one vector per point, all of the same nonzero length.
  const BatchResiduals too_few = [](const std::vector<std::vector<double>>&) {
    return std::vector<std::vector<double>>{{1.0}};
  };
  CHECK_THROWS_AS(levenberg_marquardt(too_few, {0}, {0}, {1}), std::runtime_error);
  const PointResiduals none = [](const std::vector<double>&) { return std::vector<double>{}; };
  CHECK_THROWS_AS(fit(none, {0}, {0}, {1}), std::runtime_error);
  const PointResiduals ragged = [](const std::vector<double>& p) {
    return p[0] == 0.5 ? std::vector<double>{1.0} : std::vector<double>{1.0, 2.0};
  };
  CHECK_THROWS_AS(fit(ragged, {0.5}, {0}, {1}), std::runtime_error);
}
