#include "app/least_squares.h"

#include <Eigen/Core>
#include <Eigen/QR>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace epsim::app {

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Finite-difference scale of a parameter near 0 when nothing else gives one: the
// share of its bounds' width, then an absolute floor.
constexpr double kBoundWidthShare = 0.01;
constexpr double kTinyScale = 1e-8;

// Marquardt's damping schedule.
constexpr double kStartLambda = 1e-3;
constexpr double kLambdaFactor = 10;
constexpr double kMinLambda = 1e-12;  // keeps the augmented system well posed
constexpr double kMaxLambda = 1e30;   // no overflow when steps keep being rejected

constexpr double kZeroCost = 1e-300;

// Identification thresholds for the standard errors (see the header).
constexpr double kNegligibleColumn = 1e-12;
constexpr double kRankThreshold = 1e-10;  // rank: QR pivots above this share of the largest
constexpr double kNullSpaceShare = 1e-6;

// Shortest text that reads back as x; "nan", "inf", "-inf".
std::string number_text(double x) {
  if (std::isnan(x)) return "nan";  // whatever its sign bit
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, x);
  return std::string(buffer, result.ptr);
}

std::string point_text(const VectorXd& point) {
  std::string text = "(";
  for (Index i = 0; i < point.size(); ++i) {
    if (i > 0) text += ", ";
    text += number_text(point[i]);
  }
  return text + ")";
}

std::vector<double> to_std(const VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

// One point with what a step needs there: residuals, cost and Jacobian.
struct Evaluated {
  VectorXd parameters;
  VectorXd residuals;
  double cost = 0;
  MatrixXd jacobian;  // m x n, d residual_k / d parameter_i; zero column for a fixed parameter
};

// The bounds, the finite-difference rule and the calls to the residual function.
class Problem {
 public:
  Problem(const BatchResiduals& residuals, const std::vector<double>& lower, const std::vector<double>& upper,
          double relative_step)
      : residuals_(residuals),
        lower_(Eigen::Map<const VectorXd>(lower.data(), static_cast<Index>(lower.size()))),
        upper_(Eigen::Map<const VectorXd>(upper.data(), static_cast<Index>(upper.size()))),
        relative_step_(relative_step) {}

  Index size() const { return lower_.size(); }
  bool fixed(Index i) const { return lower_[i] == upper_[i]; }
  bool on_lower(const VectorXd& p, Index i) const { return p[i] <= lower_[i]; }
  bool on_upper(const VectorXd& p, Index i) const { return p[i] >= upper_[i]; }
  VectorXd clamped(const VectorXd& p) const { return p.cwiseMax(lower_).cwiseMin(upper_); }

  // The magnitude parameter i is measured against, at value p_i: for the
  // finite-difference step and for the step tolerance.
  // A parameter bounded away from 0 (a rate, a latency) is scaled by its own
  // value: bounds spanning decades (1..100,000 writes/s) would otherwise make a
  // "2%" step of 20 at a value of 43. Only a parameter that may reach 0 or below
  // takes a share of its bounds' width as a floor.
  double scale(Index i, double p_i) const {
    const double width = upper_[i] - lower_[i];
    const double width_scale = lower_[i] <= 0 && std::isfinite(width) ? kBoundWidthShare * width : 0.0;
    return std::max({std::abs(p_i), width_scale, kTinyScale});
  }

  // Residuals at p and the forward-difference Jacobian, from one batch: p itself, then
  // one point per free parameter.
  Evaluated evaluate(const VectorXd& p) {
    const Index n = size();
    std::vector<std::vector<double>> points{to_std(p)};
    std::vector<Index> perturbed;  // parameter of points[k + 1]
    std::vector<double> steps;     // its signed step, as represented
    for (Index i = 0; i < n; ++i) {
      if (fixed(i)) continue;
      const double h = relative_step_ * scale(i, p[i]);
      double moved;
      if (p[i] + h <= upper_[i]) {
        moved = p[i] + h;
      } else if (p[i] - h >= lower_[i]) {
        moved = p[i] - h;
      } else {  // both bounds are closer than h: the farther one
        moved = upper_[i] - p[i] >= p[i] - lower_[i] ? upper_[i] : lower_[i];
      }
      points.push_back(points.front());
      points.back()[static_cast<std::size_t>(i)] = moved;
      perturbed.push_back(i);
      steps.push_back(moved - p[i]);
    }

    const std::vector<std::vector<double>> values = residuals_(points);
    evaluations_ += static_cast<int>(points.size());
    if (values.size() != points.size()) {
      throw std::runtime_error("least squares: the residual function returned " + std::to_string(values.size()) +
                               " residual vectors for " + std::to_string(points.size()) + " points");
    }
    if (residual_count_ == 0) {
      residual_count_ = values.front().size();
      if (residual_count_ == 0) throw std::runtime_error("least squares: the residual function returned no residuals");
    }
    for (std::size_t k = 0; k < values.size(); ++k) {
      const VectorXd point = Eigen::Map<const VectorXd>(points[k].data(), n);
      if (values[k].size() != residual_count_) {
        throw std::runtime_error("least squares: the residual function returned " + std::to_string(values[k].size()) +
                                 " residuals at point " + point_text(point) + ", not " +
                                 std::to_string(residual_count_));
      }
      for (std::size_t j = 0; j < values[k].size(); ++j) {
        if (!std::isfinite(values[k][j])) {
          throw std::runtime_error("least squares: residual " + std::to_string(j) + " is " +
                                   number_text(values[k][j]) + " at point " + point_text(point));
        }
      }
    }

    const auto m = static_cast<Index>(residual_count_);
    Evaluated out;
    out.parameters = p;
    out.residuals = Eigen::Map<const VectorXd>(values.front().data(), m);
    out.cost = out.residuals.squaredNorm();
    if (!std::isfinite(out.cost)) {
      throw std::runtime_error("least squares: the sum of squared residuals overflows at point " + point_text(p));
    }
    out.jacobian = MatrixXd::Zero(m, n);
    for (std::size_t k = 0; k < perturbed.size(); ++k) {
      if (steps[k] == 0) continue;  // a step below the resolution of p: nothing measured
      const VectorXd moved = Eigen::Map<const VectorXd>(values[k + 1].data(), m);
      out.jacobian.col(perturbed[k]) = (moved - out.residuals) / steps[k];
    }
    return out;
  }

  int evaluations() const { return evaluations_; }

 private:
  const BatchResiduals& residuals_;
  VectorXd lower_;
  VectorXd upper_;
  double relative_step_;
  std::size_t residual_count_ = 0;
  int evaluations_ = 0;
};

// The damped Gauss-Newton step for the `active` parameters (the others stay): minimises
// |J d + r|^2 + lambda |D d|^2, D^2 = diag(J^T J) (Marquardt 1963), through the
// augmented system [J; sqrt(lambda) D] d = [-r; 0] (Nocedal & Wright §10.3), which avoids
// squaring J's condition number. A zero column gives a zero row of D and a zero step
// (the minimum-norm solution).
VectorXd damped_step(const Evaluated& at, const std::vector<bool>& active, double lambda) {
  const Index m = at.jacobian.rows();
  const Index n = at.jacobian.cols();
  std::vector<Index> columns;
  for (Index i = 0; i < n; ++i) {
    if (active[static_cast<std::size_t>(i)]) columns.push_back(i);
  }
  const auto k = static_cast<Index>(columns.size());
  MatrixXd augmented = MatrixXd::Zero(m + k, k);
  for (Index c = 0; c < k; ++c) {
    augmented.col(c).head(m) = at.jacobian.col(columns[static_cast<std::size_t>(c)]);
    augmented(m + c, c) = std::sqrt(lambda) * augmented.col(c).head(m).norm();
  }
  VectorXd rhs = VectorXd::Zero(m + k);
  rhs.head(m) = -at.residuals;
  const VectorXd reduced = augmented.completeOrthogonalDecomposition().solve(rhs);
  VectorXd step = VectorXd::Zero(n);
  for (Index c = 0; c < k; ++c) step[columns[static_cast<std::size_t>(c)]] = reduced[c];
  return step;
}

// See LmResult::standard_errors.
std::vector<double> standard_errors(const Evaluated& at, const Problem& problem) {
  const MatrixXd& jacobian = at.jacobian;
  const Index m = jacobian.rows();
  const Index n = jacobian.cols();
  std::vector<double> errors(static_cast<std::size_t>(n), kNaN);

  // Columns that a relative change of their parameter visibly moves.
  const VectorXd norms = jacobian.colwise().norm().transpose();
  VectorXd effects(n);
  for (Index i = 0; i < n; ++i) effects[i] = norms[i] * problem.scale(i, at.parameters[i]);
  const double largest_effect = effects.maxCoeff();
  std::vector<Index> identified;
  for (Index i = 0; i < n; ++i) {
    if (norms[i] > 0 && effects[i] > kNegligibleColumn * largest_effect) identified.push_back(i);
  }
  if (identified.empty()) return errors;

  // Unit-norm columns: the rank test then does not depend on the parameters' units.
  const auto k = static_cast<Index>(identified.size());
  MatrixXd unit_columns(m, k);
  for (Index c = 0; c < k; ++c) {
    const Index i = identified[static_cast<std::size_t>(c)];
    unit_columns.col(c) = jacobian.col(i) / norms[i];
  }
  // Rank-revealing: unit_columns P = Q [T 0; 0 0] Z, T upper triangular rank x rank.
  Eigen::CompleteOrthogonalDecomposition<MatrixXd> decomposition;
  decomposition.setThreshold(kRankThreshold);
  decomposition.compute(unit_columns);
  const Index rank = decomposition.rank();
  // Z is the identity at full rank: Eigen 3.4.0's matrixZ() then reads its Householder
  // coefficients uninitialised (solve() guards the same case).
  const MatrixXd z = rank < k ? decomposition.matrixZ() : MatrixXd::Identity(k, k);  // orthogonal
  const auto& permutation = decomposition.colsPermutation();
  // The null space is spanned by P Z^T [0; I]; the pseudo-inverse of unit_columns^T
  // unit_columns is B B^T with B = P Z^T [T^-1; 0] (k x rank).
  const MatrixXd null_space = permutation * z.bottomRows(k - rank).transpose();
  const MatrixXd b = permutation * decomposition.matrixT()
                                       .topLeftCorner(rank, rank)
                                       .triangularView<Eigen::Upper>()
                                       .solve<Eigen::OnTheRight>(z.topRows(rank).transpose());

  const double spread = m > n ? std::sqrt(std::max(1.0, at.cost / static_cast<double>(m - n))) : 1.0;
  for (Index c = 0; c < k; ++c) {
    // A parameter with a share in a null-space direction is not identified; otherwise its
    // variance is the same for every generalised inverse, the pseudo-inverse's included.
    if (null_space.row(c).norm() > kNullSpaceShare) continue;
    const Index i = identified[static_cast<std::size_t>(c)];
    errors[static_cast<std::size_t>(i)] = b.row(c).norm() / norms[i] * spread;
  }
  return errors;
}

void check_bounds(const std::vector<double>& start, const std::vector<double>& lower,
                  const std::vector<double>& upper, const LmOptions& options) {
  if (start.empty()) throw std::invalid_argument("levenberg_marquardt: no parameters");
  if (lower.size() != start.size() || upper.size() != start.size()) {
    throw std::invalid_argument("levenberg_marquardt: " + std::to_string(start.size()) + " parameters but " +
                                std::to_string(lower.size()) + " lower and " + std::to_string(upper.size()) +
                                " upper bounds");
  }
  for (std::size_t i = 0; i < start.size(); ++i) {
    if (!std::isfinite(start[i])) {
      throw std::invalid_argument("levenberg_marquardt: start of parameter " + std::to_string(i) + " is " +
                                  number_text(start[i]));
    }
    if (!(lower[i] <= upper[i])) {
      throw std::invalid_argument("levenberg_marquardt: parameter " + std::to_string(i) + " has lower bound " +
                                  number_text(lower[i]) + " and upper bound " + number_text(upper[i]));
    }
  }
  if (!(options.relative_step > 0) || !std::isfinite(options.relative_step)) {
    throw std::invalid_argument("levenberg_marquardt: relative_step must be positive and finite, not " +
                                number_text(options.relative_step));
  }
  if (!(options.tolerance >= 0) || !std::isfinite(options.tolerance)) {
    throw std::invalid_argument("levenberg_marquardt: tolerance must be >= 0 and finite, not " +
                                number_text(options.tolerance));
  }
  if (options.max_iterations < 0) throw std::invalid_argument("levenberg_marquardt: max_iterations < 0");
}

}  // namespace

LinearFit fit_linear(const std::vector<std::vector<double>>& rows, const std::vector<double>& values) {
  if (rows.empty()) throw std::invalid_argument("fit_linear: no samples");
  if (values.size() != rows.size()) {
    throw std::invalid_argument("fit_linear: " + std::to_string(rows.size()) + " samples but " +
                                std::to_string(values.size()) + " values");
  }
  const std::size_t features = rows.front().size();
  if (features == 0) throw std::invalid_argument("fit_linear: samples without features");
  MatrixXd a(static_cast<Index>(rows.size()), static_cast<Index>(features));
  VectorXd y(static_cast<Index>(rows.size()));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != features) {
      throw std::invalid_argument("fit_linear: sample " + std::to_string(r) + " has " +
                                  std::to_string(rows[r].size()) + " features, sample 0 has " +
                                  std::to_string(features));
    }
    for (std::size_t c = 0; c < features; ++c) {
      if (!std::isfinite(rows[r][c])) {
        throw std::invalid_argument("fit_linear: feature " + std::to_string(c) + " of sample " +
                                    std::to_string(r) + " is " + number_text(rows[r][c]));
      }
      a(static_cast<Index>(r), static_cast<Index>(c)) = rows[r][c];
    }
    if (!std::isfinite(values[r])) {
      throw std::invalid_argument("fit_linear: value of sample " + std::to_string(r) + " is " +
                                  number_text(values[r]));
    }
    y[static_cast<Index>(r)] = values[r];
  }
  const Eigen::CompleteOrthogonalDecomposition<MatrixXd> decomposition(a);
  LinearFit fit;
  fit.coefficients = to_std(decomposition.solve(y));
  fit.rank = static_cast<int>(decomposition.rank());
  return fit;
}

double r_squared(const std::vector<double>& observed, const std::vector<double>& predicted) {
  if (observed.empty()) throw std::invalid_argument("r_squared: no observations");
  if (predicted.size() != observed.size()) {
    throw std::invalid_argument("r_squared: " + std::to_string(observed.size()) + " observations but " +
                                std::to_string(predicted.size()) + " predictions");
  }
  double sum = 0;
  for (const double o : observed) sum += o;
  const double mean = sum / static_cast<double>(observed.size());
  double total = 0;
  double residual = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    total += (observed[i] - mean) * (observed[i] - mean);
    residual += (observed[i] - predicted[i]) * (observed[i] - predicted[i]);
  }
  // Equal observations have no spread, even when their rounded mean differs from them.
  const bool constant = std::all_of(observed.begin(), observed.end(), [&](double o) { return o == observed.front(); });
  if (constant || total == 0) return residual == 0 ? 1.0 : 0.0;
  return 1.0 - residual / total;
}

LmResult levenberg_marquardt(const BatchResiduals& residuals, std::vector<double> start,
                             const std::vector<double>& lower, const std::vector<double>& upper,
                             const LmOptions& options) {
  check_bounds(start, lower, upper, options);
  Problem problem(residuals, lower, upper, options.relative_step);
  const Index n = problem.size();

  LmResult result;
  Evaluated current =
      problem.evaluate(problem.clamped(Eigen::Map<const VectorXd>(start.data(), static_cast<Index>(start.size()))));
  double lambda = kStartLambda;
  for (;;) {
    if (current.cost < kZeroCost) {
      result.stop_reason = "cost below 1e-300";
      result.converged = true;
      break;
    }
    // Hold a parameter on a bound when descent (-gradient) points outside it.
    const VectorXd gradient = current.jacobian.transpose() * current.residuals;
    std::vector<bool> active(static_cast<std::size_t>(n));
    bool any_active = false;
    bool any_responsive = false;  // an active parameter whose finite difference moved the residuals
    bool any_gradient = false;
    for (Index i = 0; i < n; ++i) {
      const bool held = problem.fixed(i) || (problem.on_lower(current.parameters, i) && gradient[i] > 0) ||
                        (problem.on_upper(current.parameters, i) && gradient[i] < 0);
      active[static_cast<std::size_t>(i)] = !held;
      if (held) continue;
      any_active = true;
      any_responsive = any_responsive || current.jacobian.col(i).squaredNorm() > 0;
      any_gradient = any_gradient || gradient[i] != 0;
    }
    if (!any_active) {  // a stationary point of the bounded problem
      result.stop_reason = "every parameter is held at a bound";
      result.converged = true;
      break;
    }
    if (!any_responsive) {  // flat at the finite-difference scale: nothing to go on
      result.stop_reason = "residuals do not change with the parameters";
      break;
    }
    if (!any_gradient) {
      result.stop_reason = "gradient is zero";
      result.converged = true;
      break;
    }
    if (result.iterations >= options.max_iterations) {
      result.stop_reason = "iteration limit";
      break;
    }

    const VectorXd trial = problem.clamped(current.parameters + damped_step(current, active, lambda));
    double relative_step = 0;
    for (Index i = 0; i < n; ++i) {
      const double p_i = current.parameters[i];
      relative_step = std::max(relative_step, std::abs(trial[i] - p_i) / problem.scale(i, p_i));
    }
    if (relative_step <= options.tolerance) {
      result.stop_reason = "step below tolerance";
      result.converged = true;
      break;
    }

    ++result.iterations;
    Evaluated evaluated = problem.evaluate(trial);
    if (evaluated.cost < current.cost) {
      const double decrease = (current.cost - evaluated.cost) / current.cost;
      current = std::move(evaluated);
      lambda = std::max(lambda / kLambdaFactor, kMinLambda);
      if (decrease < options.tolerance) {
        result.stop_reason = "cost decrease below tolerance";
        result.converged = true;
        break;
      }
    } else {
      lambda = std::min(lambda * kLambdaFactor, kMaxLambda);
    }
  }

  result.parameters = to_std(current.parameters);
  result.residuals = to_std(current.residuals);
  result.cost = current.cost;
  result.standard_errors = standard_errors(current, problem);
  result.at_bound.resize(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    result.at_bound[static_cast<std::size_t>(i)] =
        problem.on_lower(current.parameters, i) || problem.on_upper(current.parameters, i);
  }
  result.evaluations = problem.evaluations();
  return result;
}

}  // namespace epsim::app
