// The numeric core of `epsim tune` and `epsim calibrate`: a linear least-squares
// fit (for response surfaces over a sweep) and a bounded Levenberg-Marquardt
// (for matching a scenario's parameters to observed measures).
//
// The interface is std::vector only; Eigen stays inside least_squares.cpp so that
// the translation units including this header stay cheap to compile.
//
// Levenberg-Marquardt (Marquardt 1963, "An algorithm for least-squares estimation
// of nonlinear parameters"; Nocedal & Wright, Numerical Optimization, 2nd ed.,
// ch. 10) minimises cost(p) = sum_k r_k(p)^2 over lower <= p <= upper. Each
// residual evaluation is a whole simulation (~0.1-1 s, deterministic but not smooth
// at small scales: events are discrete), so:
//   - the Jacobian is a forward difference with a RELATIVE step (2% by default),
//     large enough to see through the discreteness;
//   - the residual function takes a batch of points that the caller may evaluate in
//     parallel. Each batch is one trial point plus its n Jacobian points (n + 1
//     points, one per free parameter plus the trial itself). The Jacobian is thus
//     evaluated speculatively, together with the trial: when the trial is accepted
//     (the usual case) its Jacobian is already there, so an iteration costs the
//     wall-clock time of one simulation given n + 1 cores; a rejected trial wastes
//     n evaluations of CPU time instead.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace epsim::app {

// Linear least squares: coefficients b minimising |A b - y|^2, minimum-norm when A is
// rank deficient (Eigen's CompleteOrthogonalDecomposition, rank decided by its default
// threshold relative to the largest pivot). rows = samples, each row the features of one
// sample (all rows the same length); there is no implicit intercept: put a 1 in each
// row for one. Empty input, rows without features, mismatched sizes or a non-finite
// value: std::invalid_argument.
struct LinearFit {
  std::vector<double> coefficients;  // one per feature (row entry)
  int rank = 0;                      // numerical rank of the rows' matrix
};
LinearFit fit_linear(const std::vector<std::vector<double>>& rows, const std::vector<double>& values);

// Coefficient of determination 1 - SS_res/SS_tot of `predicted` against `observed`.
// When the observations are all equal (SS_tot == 0) it is 1 if the predictions are
// exact and 0 otherwise (not -inf). Empty or different sizes: std::invalid_argument.
double r_squared(const std::vector<double>& observed, const std::vector<double>& predicted);

// Residuals at a batch of parameter points: one residual vector per point, in order,
// all of the same length m >= 1. Residuals should already be divided by each
// observation's sigma (standard errors below assume it).
using BatchResiduals =
    std::function<std::vector<std::vector<double>>(const std::vector<std::vector<double>>& points)>;

struct LmOptions {
  // Trial steps (accepted or rejected), i.e. batches after the first one. Each counts:
  // a batch is the unit of cost.
  int max_iterations = 25;
  // Forward-difference step relative to the parameter's scale: simulations are not
  // smooth at 1e-8.
  double relative_step = 0.02;
  // Stop when an accepted step lowers the cost by less than this fraction, or when a
  // step moves every parameter by less than this fraction of its scale.
  double tolerance = 1e-4;
};

struct LmResult {
  std::vector<double> parameters;
  std::vector<double> residuals;  // at parameters
  double cost = 0;                // sum of squared residuals at parameters
  // Standard error per parameter from the Jacobian J at the optimum:
  // sqrt(diag((J^T J)^+)), times sqrt(max(1, cost/(m-n))) when m > n (a poor fit widens
  // them; residuals are assumed already divided by each observation's sigma). NaN for
  // a parameter the residuals do not identify: its column of J is ~0 (a relative change
  // of the parameter moves the residuals by < 1e-12 of what the others do; a parameter
  // with lower == upper included), or it is involved in a null-space direction of J
  // (the rank of J with its columns scaled to unit norm, so that the parameters' units
  // do not matter, counts the pivots of a complete orthogonal decomposition above 1e-10
  // of the largest). These are the usual asymptotic errors: they ignore the bounds and
  // the finite-difference error of J.
  std::vector<double> standard_errors;
  std::vector<bool> at_bound;  // the parameter ended on lower or upper
  int iterations = 0;          // trial steps taken (accepted or rejected)
  int evaluations = 0;         // residual evaluations (points), Jacobian points included
  // Stopped at a (local, bounded) optimum as far as the tolerances tell: every reason
  // below but "residuals do not change with the parameters" and "iteration limit".
  bool converged = false;
  // Why it stopped, the first of these that held:
  //   "cost below 1e-300"
  //   "every parameter is held at a bound" (descent points outside each one's bound)
  //   "residuals do not change with the parameters" (every Jacobian column of the
  //     parameters not held is exactly 0: the finite-difference step is below the
  //     resolution of the simulation, or the residuals ignore them; not converged)
  //   "gradient is zero" (J^T r = 0 over the parameters not held)
  //   "step below tolerance", "cost decrease below tolerance", "iteration limit"
  std::string stop_reason;
};

// Bounded Levenberg-Marquardt on residuals r(p) (m residuals, n = start.size() >= 1
// parameters; m < n is allowed: the damping keeps each step solvable).
//
// Jacobian: forward differences, step_i = relative_step * scale_i with
// scale_i = max(|p_i|, 1% of (upper_i - lower_i) when both are finite and lower_i <= 0,
// 1e-8) (a positive parameter scales with itself, whatever the width of its bounds), taken
// backwards when the forward step would leave the bounds (and to the farther bound
// when both directions would). A parameter with lower == upper is fixed: it gets no
// Jacobian point (the batch then has one point fewer).
//
// Step: minimises |J d + r|^2 + lambda |D d|^2 with Marquardt's scaling
// D^2 = diag(J^T J), solved as an augmented least-squares problem (Nocedal & Wright
// §10.3) by a complete orthogonal decomposition. lambda starts at 1e-3 and is multiplied
// by 10 on a rejected step (the cost did not decrease), divided by 10 on an accepted one,
// within [1e-12, 1e30]. A parameter on a bound whose descent direction points outside
// is held there for the step; the trial point is clamped to [lower, upper]
// (projection). The start is clamped too.
//
// Stops (first that holds, see LmResult::stop_reason): the cost is below 1e-300; no
// parameter can move (all held on bounds, Jacobian columns all 0, or a zero gradient);
// the next step moves no parameter by more than tolerance * scale_i (checked before
// evaluating it); an accepted step lowered the cost by less than tolerance * cost;
// max_iterations trial steps were taken.
//
// Throws std::invalid_argument for sizes that do not match, an empty start, lower > upper
// or NaN bounds (infinite bounds are fine), a non-finite start, relative_step <= 0,
// tolerance < 0 or max_iterations < 0; std::runtime_error when the residual function
// returns the wrong number of vectors, vectors of different or zero length, or a
// non-finite residual (the message names the residual and the point).
LmResult levenberg_marquardt(const BatchResiduals& residuals, std::vector<double> start,
                             const std::vector<double>& lower, const std::vector<double>& upper,
                             const LmOptions& options = {});

}  // namespace epsim::app
