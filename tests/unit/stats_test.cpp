// SPDX-License-Identifier: Apache-2.0
// The analysis statistics against known answers: textbook t critical values, exact special cases, hand-computed
// correlations and eigenvalues, and the t / p pairs the paper reports.
#include "apical/analysis/stats.hpp"
#include "apical/core/error.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace apical::analysis {
namespace {

TEST(Angle, KnownAngles) {
  const std::vector<double> x = {1, 0, 0}, y = {0, 2, 0}, xy = {1, 1, 0}, minus_x = {-3, 0, 0};
  EXPECT_NEAR(angle_degrees(x, x), 0.0, 1e-6);
  EXPECT_NEAR(angle_degrees(x, y), 90.0, 1e-12);
  EXPECT_NEAR(angle_degrees(x, xy), 45.0, 1e-12);
  EXPECT_NEAR(angle_degrees(x, minus_x), 180.0, 1e-6);
  EXPECT_THROW(angle_degrees(x, std::vector<double>{0, 0, 0}), Error);
}

TEST(Pearson, ConstructedPairs) {
  const std::vector<double> x = {1, 2, 3, 4, 5};
  EXPECT_NEAR(pearson(x, std::vector<double>{3, 5, 7, 9, 11}), 1.0, 1e-15);
  EXPECT_NEAR(pearson(x, std::vector<double>{5, 4, 3, 2, 1}), -1.0, 1e-15);
  // sxy = 6, sxx = 10, syy = 6: r = 6 / sqrt(60).
  EXPECT_NEAR(pearson(x, std::vector<double>{2, 4, 5, 4, 5}), 6.0 / std::sqrt(60.0), 1e-15);
  EXPECT_THROW(pearson(x, std::vector<double>{1, 1, 1, 1, 1}), Error);
}

TEST(IncompleteBeta, SpecialCases) {
  for (double x : {0.1, 0.37, 0.5, 0.9}) {
    EXPECT_NEAR(incomplete_beta(1, 1, x), x, 1e-14);
    EXPECT_NEAR(incomplete_beta(3, 1, x), x * x * x, 1e-14);
    EXPECT_NEAR(incomplete_beta(1, 2, x), 1 - (1 - x) * (1 - x), 1e-14);
  }
  EXPECT_NEAR(incomplete_beta(7.5, 7.5, 0.5), 0.5, 1e-14);
}

TEST(TTest, TextbookCriticalValues) {
  // Two-tailed 5 % and 1 % critical values of Student's t.
  EXPECT_NEAR(t_two_tailed_p(2.228139, 10), 0.05, 1e-6);
  EXPECT_NEAR(t_two_tailed_p(3.169273, 10), 0.01, 1e-6);
  EXPECT_NEAR(t_two_tailed_p(2.024394, 38), 0.05, 1e-6);
  EXPECT_NEAR(t_two_tailed_p(1.959964, 1e7), 0.05, 1e-5);  // the normal limit
  EXPECT_NEAR(t_two_tailed_p(1.0, 1), 0.5, 1e-14);         // Cauchy: P(|T| > 1) = 1/2 exactly
  EXPECT_NEAR(t_two_tailed_p(0.0, 5), 1.0, 1e-14);
}

TEST(TTest, HandComputedTwoSampleTest) {
  // Means 3 and 5, both variances 2.5, n = 5 each: pooled SE = 1, t = -2 with 8 df, p = 0.080516.
  const std::vector<double> a = {1, 2, 3, 4, 5}, b = {3, 4, 5, 6, 7};
  const TTest r = t_test(a, b);
  EXPECT_NEAR(r.t, -2.0, 1e-14);
  EXPECT_EQ(r.df, 8.0);
  EXPECT_NEAR(r.p, 0.0805162, 1e-6);
}

TEST(TTest, ReproducesEveryPValueThePaperReports) {
  // Guerguiev et al. 2017 (spec section 11): every reported t_38 with its p-value. Pooled two-tailed t-tests;
  // the three-condition figures (6B, 8D, 8S1, 9B) are Bonferroni-corrected over 3 comparisons, the
  // two-condition Fig 8B is not. The printed t values are rounded, hence the 3 % tolerance.
  const struct {
    const char* what;
    double t, p;
    std::size_t comparisons;
  } reported[] = {
      {"6B 1 vs 2 layers", 197.11, 2.5e-58, 3}, {"6B 1 vs 3 layers", 238.26, 1.9e-61, 3},
      {"6B 2 vs 3 layers", 42.99, 2.3e-33, 3},  {"8B regular vs sparse", 16.43, 7.4e-19, 1},
      {"8D random vs symmetric", 18.46, 4.3e-20, 3}, {"8D random vs noisy", -71.54, 1.2e-41, 3},
      {"8D symmetric vs noisy", -80.35, 1.5e-43, 3}, {"8S1 regular vs amplified", 44.96, 4.4e-34, 3},
      {"8S1 regular vs not amplified", -51.30, 3.2e-36, 3}, {"8S1 amplified vs not", -100.73, 2.8e-47, 3},
      {"9B total vs strong", -4.00, 8.4e-4, 3}, {"9B total vs weak", -95.24, 2.4e-46, 3},
      {"9B strong vs weak", -92.51, 7.1e-46, 3}};
  for (const auto& r : reported) {
    EXPECT_NEAR(bonferroni(t_two_tailed_p(r.t, 38), r.comparisons) / r.p, 1.0, 0.03) << r.what;
  }
}

TEST(MaxRowCorrelations, FindsTheBestMatchingRow) {
  // a's rows are a scaled/shifted copy of b's row 1, and the negation of b's row 0.
  const std::vector<double> b = {1, 2, 3, 4, 4, 1, 3, 2};  // 2 rows of 4
  const std::vector<double> a = {9, 3, 7, 5,               // 2 * b1 + 1 -> r = 1 with b1
                                 -1, -2, -3, -4};          // -b0: r = -1 with b0; best is with b1
  const auto r = max_row_correlations(a, 2, b, 2, 4);
  EXPECT_NEAR(r[0], 1.0, 1e-14);
  EXPECT_NEAR(r[1], pearson(std::vector<double>{-1, -2, -3, -4}, std::vector<double>{4, 1, 3, 2}), 1e-14);
}

TEST(Summary, MeanSdMinMax) {
  const Summary s = summarize(std::vector<double>{2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_EQ(s.n, 8U);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_NEAR(s.sd, std::sqrt(32.0 / 7.0), 1e-14);
  EXPECT_EQ(s.min, 2.0);
  EXPECT_EQ(s.max, 9.0);
}

TEST(SlidingMean, TrailingWindow) {
  const auto m = sliding_mean(std::vector<double>{1, 2, 3, 4, 5}, 2);
  EXPECT_EQ(m, (std::vector<double>{1, 1.5, 2.5, 3.5, 4.5}));
  EXPECT_THROW(sliding_mean(std::vector<double>{1}, 0), Error);
}

TEST(Jacobian, MaxEigenvalueOfKnownMatrices) {
  EXPECT_NEAR(max_eig_i_minus_m(std::vector<double>{0, 0, 0, 0}, 2), 1.0, 1e-14);        // M = 0
  EXPECT_NEAR(max_eig_i_minus_m(std::vector<double>{1, 0, 0, 1}, 2), 0.0, 1e-14);        // M = I
  EXPECT_NEAR(max_eig_i_minus_m(std::vector<double>{0.5, 0, 0, 2}, 2), 1.0, 1e-14);      // diag(0.25, 1)
  // I - M = [[1, -1], [0, 1]]: (I - M)^T (I - M) = [[1, -1], [-1, 2]], eigenvalues (3 +- sqrt 5) / 2.
  EXPECT_NEAR(max_eig_i_minus_m(std::vector<double>{0, 1, 0, 0}, 2), (3 + std::sqrt(5.0)) / 2, 1e-12);
}

}  // namespace
}  // namespace apical::analysis
