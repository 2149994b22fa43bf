// SPDX-License-Identifier: Apache-2.0
#include "apical/analysis/stats.hpp"

#include "apical/core/error.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace apical::analysis {

Summary summarize(std::span<const double> x) {
  if (x.empty()) fail("summarize: no values");
  Summary s;
  s.n = x.size();
  double sum = 0;
  for (double v : x) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  double ss = 0;
  for (double v : x) ss += (v - s.mean) * (v - s.mean);
  s.sd = s.n > 1 ? std::sqrt(ss / static_cast<double>(s.n - 1)) : 0.0;
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  s.min = *lo;
  s.max = *hi;
  return s;
}

double incomplete_beta(double a, double b, double x) {
  if (!(a > 0) || !(b > 0)) fail("incomplete_beta: a = {} and b = {} must be > 0", a, b);
  if (x < 0 || x > 1) fail("incomplete_beta: x = {} must be in [0, 1]", x);
  if (x == 0 || x == 1) return x;
  // Use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the continued fraction converges fast.
  if (x > (a + 1) / (a + b + 2)) return 1.0 - incomplete_beta(b, a, 1.0 - x);
  // Prefactor x^a (1-x)^b / (a B(a, b)), in logs so that tiny values (p ~ 1e-60) stay accurate.
  const double log_front = a * std::log(x) + b * std::log1p(-x) - std::log(a) -
                           (std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b));
  // Continued fraction 1 / (1 + d1 / (1 + d2 / (1 + ...))) with
  // d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)), d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)),
  // evaluated with the modified Lentz method.
  constexpr double tiny = 1e-300;
  constexpr double eps = 1e-16;
  double f = 1.0, c = 1.0, d = 0.0;
  for (int i = 0; i <= 10000; ++i) {
    const int m = i / 2;
    double numerator = 1.0;
    if (i > 0) {
      numerator = i % 2 == 1 ? -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
                             : m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
    }
    d = 1.0 + numerator * d;
    if (std::abs(d) < tiny) d = tiny;
    d = 1.0 / d;
    c = 1.0 + numerator / c;
    if (std::abs(c) < tiny) c = tiny;
    const double delta = c * d;
    f *= delta;
    if (std::abs(1.0 - delta) < eps) return std::exp(log_front) * (f - 1.0);
  }
  fail("incomplete_beta({}, {}, {}) did not converge", a, b, x);
}

double t_two_tailed_p(double t, double df) {
  if (!(df > 0)) fail("t-test: {} degrees of freedom; need at least one", df);
  if (!std::isfinite(t)) return 0.0;
  return incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

TTest t_test(std::span<const double> a, std::span<const double> b) {
  if (a.size() < 2 || b.size() < 2) fail("t-test: needs at least 2 values per group, got {} and {}", a.size(), b.size());
  const Summary sa = summarize(a), sb = summarize(b);
  TTest r;
  r.df = static_cast<double>(sa.n + sb.n - 2);
  const double na = static_cast<double>(sa.n), nb = static_cast<double>(sb.n);
  const double pooled = ((na - 1) * sa.sd * sa.sd + (nb - 1) * sb.sd * sb.sd) / r.df;
  const double se = std::sqrt(pooled * (1.0 / na + 1.0 / nb));
  if (se == 0) fail("t-test: both groups are constant, the t statistic is undefined");
  r.t = (sa.mean - sb.mean) / se;
  r.p = t_two_tailed_p(r.t, r.df);
  return r;
}

double bonferroni(double p, std::size_t comparisons) {
  return std::min(1.0, p * static_cast<double>(comparisons));
}

double pearson(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) fail("pearson: {} and {} values", x.size(), y.size());
  if (x.size() < 2) fail("pearson: needs at least 2 pairs, got {}", x.size());
  const Summary sx = summarize(x), sy = summarize(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - sx.mean) * (y[i] - sy.mean);
    sxx += (x[i] - sx.mean) * (x[i] - sx.mean);
    syy += (y[i] - sy.mean) * (y[i] - sy.mean);
  }
  if (sxx == 0 || syy == 0) fail("pearson: a constant sample has no correlation");
  return sxy / std::sqrt(sxx * syy);
}

double angle_degrees(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) fail("angle: vectors of {} and {} elements", a.size(), b.size());
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa == 0 || bb == 0) fail("angle: a zero vector has no direction");
  const double c = std::clamp(ab / std::sqrt(aa * bb), -1.0, 1.0);
  return std::acos(c) * 180.0 / std::numbers::pi;
}

std::vector<double> sliding_mean(std::span<const double> x, std::size_t window) {
  if (window == 0) fail("sliding_mean: window must be >= 1");
  std::vector<double> out(x.size());
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sum += x[i];
    if (i >= window) sum -= x[i - window];
    out[i] = sum / static_cast<double>(std::min(i + 1, window));
  }
  return out;
}

std::vector<double> max_row_correlations(std::span<const double> a, std::size_t n_a, std::span<const double> b,
                                         std::size_t n_b, std::size_t dim) {
  if (a.size() != n_a * dim || b.size() != n_b * dim || dim < 2) {
    fail("max_row_correlations: {} and {} values for {} and {} rows of {}", a.size(), b.size(), n_a, n_b, dim);
  }
  // Standardise every row once (zero mean, unit norm); r is then a dot product.
  auto standardise = [dim](std::span<const double> m, std::size_t rows) {
    Eigen::MatrixXd z(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(dim));
    for (std::size_t r = 0; r < rows; ++r) {
      double mean = 0;
      for (std::size_t j = 0; j < dim; ++j) mean += m[r * dim + j];
      mean /= static_cast<double>(dim);
      double ss = 0;
      for (std::size_t j = 0; j < dim; ++j) ss += (m[r * dim + j] - mean) * (m[r * dim + j] - mean);
      const double inv = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;  // a constant row correlates with nothing
      for (std::size_t j = 0; j < dim; ++j) {
        z(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = (m[r * dim + j] - mean) * inv;
      }
    }
    return z;
  };
  const Eigen::MatrixXd za = standardise(a, n_a), zb = standardise(b, n_b);
  const Eigen::MatrixXd r = za * zb.transpose();
  std::vector<double> out(n_a);
  for (std::size_t i = 0; i < n_a; ++i) out[i] = r.row(static_cast<Eigen::Index>(i)).maxCoeff();
  return out;
}

double max_eig_i_minus_m(std::span<const double> m, std::size_t n) {
  if (m.size() != n * n) fail("max_eig_i_minus_m: {} values for a {}x{} matrix", m.size(), n, n);
  const auto nn = static_cast<Eigen::Index>(n);
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(nn, nn);
  for (Eigen::Index i = 0; i < nn; ++i) {
    for (Eigen::Index j = 0; j < nn; ++j) a(i, j) -= m[static_cast<std::size_t>(i * nn + j)];
  }
  const Eigen::MatrixXd s = a.transpose() * a;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(s, Eigen::EigenvaluesOnly);
  return solver.eigenvalues().maxCoeff();
}

}  // namespace apical::analysis
