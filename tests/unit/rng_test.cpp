// SPDX-License-Identifier: Apache-2.0
// Tests of the counter-based named streams: reproducibility, independence, and distributions at a stated
// significance level. Every statistical test below uses a two-sided alpha of 1e-6 (|z| < 4.9), so a correct
// generator fails one of them with probability below 1e-5 in total; the seeds are fixed, so the outcome is
// deterministic anyway.
#include "apical/core/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <numeric>
#include <vector>

namespace apical {
namespace {

constexpr double kZ = 4.9;  // two-sided alpha = 1e-6

TEST(Stream, SameSeedNameAndIndicesGiveSameSequence) {
  Stream a(42, "spikes", 1, 2, 3);
  Stream b(42, "spikes", 1, 2, 3);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u64(), b.next_u64());
}

TEST(Stream, DifferentSeedNameOrIndexGiveDifferentSequences) {
  Stream base(42, "spikes", 1, 2, 3);
  Stream seed(43, "spikes", 1, 2, 3);
  Stream name(42, "order", 1, 2, 3);
  Stream idx(42, "spikes", 1, 2, 4);
  const auto first = base.next_u64();
  EXPECT_NE(first, seed.next_u64());
  EXPECT_NE(first, name.next_u64());
  EXPECT_NE(first, idx.next_u64());
}

TEST(Stream, SeekRestoresExactState) {
  Stream a(7, "x");
  for (int i = 0; i < 13; ++i) a.next_u64();
  const auto pos = a.position();
  std::vector<std::uint64_t> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(a.next_u64());
  Stream b(7, "x");
  b.seek(pos);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(b.next_u64(), expected[i]);
}

TEST(Stream, StreamsDoNotDependOnEachOther) {
  // Drawing from one stream must not change another: the values are a function of (seed, name, index, n).
  Stream alone(5, "a");
  const auto v = alone.next_u64();
  Stream other(5, "b");
  for (int i = 0; i < 100; ++i) other.next_u64();
  Stream again(5, "a");
  EXPECT_EQ(again.next_u64(), v);
}

TEST(Stream, UniformMeanAndVariance) {
  Stream s(1, "uniform");
  const int n = 1'000'000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = s.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
  }
  const double mean = sum / n;
  EXPECT_LT(std::abs(mean - 0.5) / std::sqrt(1.0 / 12.0 / n), kZ);
  const double var = sum2 / n - mean * mean;
  // Var of u^2 estimator: Var(U^2) = 1/5 - 1/9.
  EXPECT_LT(std::abs(var - 1.0 / 12.0) / std::sqrt((1.0 / 5.0 - 1.0 / 9.0) / n), kZ);
}

TEST(Stream, UniformChiSquareOver100Bins) {
  Stream s(2, "chi2");
  const int bins = 100, n = 1'000'000;
  std::vector<int> count(bins, 0);
  for (int i = 0; i < n; ++i) ++count[static_cast<int>(s.uniform() * bins)];
  double chi2 = 0;
  const double expected = static_cast<double>(n) / bins;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  // 99 degrees of freedom: the 1e-6 upper quantile is about 183.
  EXPECT_LT(chi2, 183.0);
}

TEST(Stream, NeighbouringSubstreamsAreUncorrelated) {
  const int n = 200'000;
  double sxy = 0;
  for (int i = 0; i < n; ++i) {
    Stream a(3, "spikes", static_cast<std::uint64_t>(i), 0);
    Stream b(3, "spikes", static_cast<std::uint64_t>(i), 1);
    sxy += (a.uniform() - 0.5) * (b.uniform() - 0.5);
  }
  // Correlation estimate; its SD under independence is 1/sqrt(n).
  const double r = sxy / n * 12.0;
  EXPECT_LT(std::abs(r) * std::sqrt(n), kZ);
}

TEST(Stream, ExponentialMean) {
  Stream s(4, "exp");
  const int n = 500'000;
  const double rate = 0.2;
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += s.exponential(rate);
  const double mean = sum / n;
  EXPECT_LT(std::abs(mean - 1.0 / rate) / (1.0 / rate / std::sqrt(n)), kZ);
}

TEST(Stream, ExponentialChiSquareVarianceAndTail) {
  // 256 bins of equal probability (edges -log(1 - k/256)), the variance, and the tail beyond the ziggurat's base
  // strip (x > 7.697, drawn separately) and far out (x > 12).
  Stream s(14, "exp.chi2");
  const int bins = 256, n = 2'000'000;
  std::vector<int> count(bins, 0);
  double sum = 0, sum2 = 0;
  int beyond_r = 0, beyond_12 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = s.standard_exponential();
    ASSERT_GE(x, 0.0);
    sum += x;
    sum2 += x * x;
    beyond_r += x > 7.69711747013104972 ? 1 : 0;
    beyond_12 += x > 12.0 ? 1 : 0;
    const double cdf = -std::expm1(-x);
    ++count[std::min(bins - 1, static_cast<int>(cdf * bins))];
  }
  double chi2 = 0;
  const double expected = static_cast<double>(n) / bins;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 377.0);  // 255 degrees of freedom: the 1e-6 upper quantile (Wilson-Hilferty) is about 377
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_LT(std::abs(mean - 1.0) * std::sqrt(n), kZ);
  EXPECT_LT(std::abs(var - 1.0) / std::sqrt(8.0 / n), kZ);  // central 4th moment 9: SD sqrt((9 - 1) / n)
  const double p_r = std::exp(-7.69711747013104972), p_12 = std::exp(-12.0);
  EXPECT_LT(std::abs(beyond_r - n * p_r) / std::sqrt(n * p_r), kZ);
  EXPECT_LT(std::abs(beyond_12 - n * p_12) / std::sqrt(n * p_12), kZ);
}

TEST(Stream, NormalChiSquareMomentsAndTails) {
  // 256 bins of equal probability of the normal CDF, the moments up to the fourth, the sign, and the tails beyond
  // the ziggurat's base strip (|x| > 3.654, drawn separately) and far out (|x| > 4.5).
  Stream s(5, "normal");
  const int bins = 256, n = 2'000'000;
  std::vector<int> count(bins, 0);
  double sum = 0, sum2 = 0, sum4 = 0;
  int negative = 0, beyond_r = 0, beyond_45 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = s.normal();
    sum += x;
    sum2 += x * x;
    sum4 += x * x * x * x;
    negative += x < 0 ? 1 : 0;
    beyond_r += std::abs(x) > 3.6541528853610088 ? 1 : 0;
    beyond_45 += std::abs(x) > 4.5 ? 1 : 0;
    const double cdf = 0.5 * std::erfc(-x / std::numbers::sqrt2);
    ++count[std::min(bins - 1, static_cast<int>(cdf * bins))];
  }
  double chi2 = 0;
  const double expected = static_cast<double>(n) / bins;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 377.0);  // 255 degrees of freedom: the 1e-6 upper quantile (Wilson-Hilferty) is about 377
  EXPECT_LT(std::abs(sum / n) * std::sqrt(n), kZ);
  EXPECT_LT(std::abs(sum2 / n - 1.0) / std::sqrt(2.0 / n), kZ);   // Var(Z^2) = 2
  EXPECT_LT(std::abs(sum4 / n - 3.0) / std::sqrt(96.0 / n), kZ);  // E Z^4 = 3, Var(Z^4) = 105 - 9 = 96
  EXPECT_LT(std::abs(negative - n / 2.0) / std::sqrt(n / 4.0), kZ);
  const double p_r = std::erfc(3.6541528853610088 / std::numbers::sqrt2), p_45 = std::erfc(4.5 / std::numbers::sqrt2);
  EXPECT_LT(std::abs(beyond_r - n * p_r) / std::sqrt(n * p_r), kZ);
  EXPECT_LT(std::abs(beyond_45 - n * p_45) / std::sqrt(n * p_45), kZ);
}

TEST(Stream, NormalTailBeyondTheBaseStrip) {
  // The tail |x| > r (about 2.6e-4 of the draws) has its own sampler: check its mass and its shape with 2e7
  // draws, by the counts beyond r, 4 and 4.5 (a tail drawn as r plus an exponential without the acceptance step
  // puts 1.7 times too many draws beyond 4.5).
  Stream s(15, "normal.tail");
  const int n = 20'000'000;
  const std::array<double, 3> edge = {3.6541528853610088, 4.0, 4.5};
  std::array<int, 3> beyond{};
  for (int i = 0; i < n; ++i) {
    const double a = std::abs(s.normal());
    for (std::size_t j = 0; j < edge.size(); ++j) beyond[j] += a > edge[j] ? 1 : 0;
  }
  for (std::size_t j = 0; j < edge.size(); ++j) {
    const double p = std::erfc(edge[j] / std::numbers::sqrt2);
    EXPECT_LT(std::abs(beyond[j] - n * p) / std::sqrt(n * p), kZ) << "beyond " << edge[j];
  }
}

TEST(Stream, WaldMeanAndVariance) {
  // Inverse Gaussian(mean mu, shape lambda): variance mu^3 / lambda.
  Stream s(6, "wald");
  const int n = 400'000;
  const double mu = 2.0, shape = 1.0;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const double x = s.wald(mu, shape);
    ASSERT_GT(x, 0.0);
    sum += x;
  }
  const double sd = std::sqrt(mu * mu * mu / shape);
  EXPECT_LT(std::abs(sum / n - mu) / (sd / std::sqrt(n)), kZ);
}

TEST(Stream, BelowIsUniformAndInRange) {
  Stream s(8, "below");
  const int n = 700'000, k = 7;
  std::vector<int> count(k, 0);
  for (int i = 0; i < n; ++i) {
    const auto v = s.below(k);
    ASSERT_LT(v, static_cast<std::uint64_t>(k));
    ++count[v];
  }
  double chi2 = 0;
  for (int c : count) chi2 += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
  EXPECT_LT(chi2, 35.9);  // 6 dof, 1e-6 upper quantile
}

}  // namespace
}  // namespace apical
