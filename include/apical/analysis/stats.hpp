// SPDX-License-Identifier: Apache-2.0
#pragma once

// Statistics and geometry used by the paper analyses (Guerguiev et al. 2017, section 10 of the spec): summaries
// of repeated tests, two-tailed Student t-tests with Bonferroni correction, Pearson correlation, the angle between
// weight updates, sliding-window means and the Jacobian eigenvalue statistic of Theorem 1.

#include <cstddef>
#include <span>
#include <vector>

namespace apical::analysis {

struct Summary {
  std::size_t n = 0;
  double mean = 0;
  double sd = 0;  ///< sample standard deviation (n - 1)
  double min = 0;
  double max = 0;
};
Summary summarize(std::span<const double> x);

/// Two-sample Student t-test with pooled variance (df = n_a + n_b - 2, as the paper's t_38 for 20 vs 20).
struct TTest {
  double t = 0;       ///< positive when sample a has the larger mean
  double df = 0;
  double p = 0;       ///< two-tailed p-value
};
TTest t_test(std::span<const double> a, std::span<const double> b);
/// Two-tailed p-value of Student's t with df degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2).
double t_two_tailed_p(double t, double df);
/// Bonferroni correction of one p-value among m comparisons: min(1, m p).
double bonferroni(double p, std::size_t comparisons);
/// Regularised incomplete beta function I_x(a, b) (continued fraction, modified Lentz).
double incomplete_beta(double a, double b, double x);

/// Pearson correlation coefficient. Throws if the sizes differ, n < 2 or a sample is constant.
double pearson(std::span<const double> x, std::span<const double> y);

/// Angle between two vectors in degrees (0 for parallel, 90 for orthogonal, 180 for opposite).
double angle_degrees(std::span<const double> a, std::span<const double> b);

/// Mean over a trailing window: out[i] = mean of x[max(0, i - window + 1) .. i].
std::vector<double> sliding_mean(std::span<const double> x, std::size_t window);

/// Fig 7C: for each row of `a` (n_a x dim, row-major), the largest Pearson r with any row of `b` (n_b x dim).
std::vector<double> max_row_correlations(std::span<const double> a, std::size_t n_a, std::span<const double> b,
                                         std::size_t n_b, std::size_t dim);

/// Largest eigenvalue of (I - M)^T (I - M) for a square n x n matrix M (row-major): Theorem 1's condition (ii)
/// holds when it is below 1.
double max_eig_i_minus_m(std::span<const double> m, std::size_t n);

}  // namespace apical::analysis
