// SPDX-License-Identifier: Apache-2.0
// Model tests of the segregated-dendrites network against analytic values (spec sections 2, 4, 8).
// Statistical tests use a two-sided significance level of 1e-6 (|z| < 4.9) with fixed seeds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/models/segregated/network.hpp"

namespace apical::segregated {
namespace {

TEST(ThinningTest, DecidesExactlyAsThePlainComparison) {
  // Random soma potentials over and beyond the grid, uniforms anywhere and right at the decision boundary (where
  // the exact rate must be computed); every decision must equal u bound < bound sigmoid(x).
  Stream s(21, "thinning-test");
  const double bound = 0.2;
  int boundary_cases = 0;
  for (int k = 0; k < 2'000'000; ++k) {
    const double x = -20.0 + 40.0 * s.uniform();
    double u = s.uniform();
    if (k % 4 == 0) {
      u = sigmoid(x) + (s.uniform() - 0.5) * 6e-5;  // within the margin of the interpolation
      ++boundary_cases;
    }
    const double ub = u * bound;
    ThinningTest test(x, bound);
    ASSERT_EQ(test.keep(ub), ub < bound * sigmoid(x)) << "x = " << x << ", u = " << u;
  }
  EXPECT_EQ(boundary_cases, 500'000);
}

using ::testing::HasSubstr;
constexpr double kZ = 4.9;

TEST(PspKernel, MatchesSpecValuesAndSum) {
  // Spec 2.1: kappa(1..10) and their sum 0.5104.
  const double expected[] = {0.02690, 0.04362, 0.05328, 0.05810, 0.05967,
                             0.05907, 0.05709, 0.05426, 0.05097, 0.04746};
  const Derived d{Params{}};
  ASSERT_EQ(d.kappa.size(), 10U);
  double sum = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_NEAR(d.kappa[static_cast<std::size_t>(i)], expected[i], 5e-6) << "kappa(" << i + 1 << ")";
    sum += d.kappa[static_cast<std::size_t>(i)];
  }
  EXPECT_NEAR(sum, 0.5104, 5e-5);
  // The untruncated kernel integrates to 1: sum over all steps of kappa(t) (t >= 1) is close to 1.
  double total = 0;
  for (int t = 1; t < 2000; ++t) total += psp_kernel(t, 3.0, 10.0);
  EXPECT_NEAR(total, 1.0, 0.05);
}

TEST(PspKernel, WindowWeightsGiveTheMeanOfThePerStepPsps) {
  // s-bar from the spikes themselves (window_psp_weight, as the engine and the reference compute it) against the
  // plain mean over the window steps of s(t) = sum_d kappa(d) S(t - d + 1), for windows shorter and longer than K.
  const std::vector<double> kappa = Derived(Params{}).kappa;
  const int k = static_cast<int>(kappa.size());
  Stream s(5, "window-psp");
  for (const int steps : {30, 50, 57}) {
    for (const int len : {1, 3, k, 20, 50}) {
      if (len > steps) continue;
      const int first = steps - len;
      // Counts of one unit for steps -K + 1 .. steps - 1 (index tau + K - 1), some of them above 1.
      std::vector<double> counts(static_cast<std::size_t>(steps + k - 1));
      for (auto& c : counts) c = s.uniform() < 0.3 ? (s.uniform() < 0.2 ? 2.0 : 1.0) : 0.0;
      auto count = [&](int tau) { return counts[static_cast<std::size_t>(tau + k - 1)]; };
      double plain = 0.0;
      for (int t = first; t < steps; ++t) {
        double psp = 0.0;
        for (int d = 1; d <= k; ++d) psp += kappa[static_cast<std::size_t>(d - 1)] * count(t - d + 1);
        plain += psp;
      }
      double weighted = 0.0;
      for (int d = k; d >= 1; --d) weighted += count(first - d + 1) * window_psp_weight(kappa, d, d + len - 1);
      for (int t = first + 1; t < steps; ++t) weighted += count(t) * window_psp_weight(kappa, 1, steps - t);
      EXPECT_NEAR(weighted / len, plain / len, 1e-14 * (1.0 + plain / len)) << "steps " << steps << ", len " << len;
    }
  }
  EXPECT_EQ(window_psp_weight(kappa, 3, 2), 0.0);
  EXPECT_EQ(window_psp_weight(kappa, 1, 100), window_psp_weight(kappa, 1, k));
}

TEST(SteadyStateFactors, MatchSpec) {
  Params p;
  EXPECT_NEAR(Derived(p).k_B, 0.857143, 1e-6);
  EXPECT_NEAR(Derived(p).k_D, 0.857143, 1e-6);
  p.g_A = 0.05;
  EXPECT_NEAR(Derived(p).k_B, 0.8, 1e-12);
  p.g_A = 0.6;
  EXPECT_NEAR(Derived(p).k_B, 0.461538, 1e-6);
}

TEST(Initialisation, MomentsMatchSpecTable) {
  const Params p;
  const struct {
    int n;
    double avg, sd;
  } rows[] = {{784, 0.0187075, 0.504903}, {500, 0.0293333, 0.632115}, {100, 0.1466667, 1.410408}};
  for (const auto& r : rows) {
    const InitMoments m = init_moments(p, r.n);
    EXPECT_NEAR(m.W_avg, r.avg, 1e-7) << "N = " << r.n;
    // The spec's table is rounded (for N = 100 the formula gives 1.4104058, the table 1.410408).
    EXPECT_NEAR(m.W_sd, r.sd, 3e-6) << "N = " << r.n;
  }
}

TEST(Initialisation, WeightStatisticsFollowTheCitedScheme) {
  Params p;
  p.layers = {500, 100, 10};
  p.learning_rates = {0.23, 0.23, 0.12};
  const Weights w = Weights::initialise(p, 1);
  ASSERT_EQ(w.layers.size(), 3U);
  // W^0: uniform, mean W_avg, SD W_sd (width 3.465 W_sd), n = 392,000 entries.
  const InitMoments m0 = init_moments(p, 784);
  double sum = 0, sum2 = 0, lo = 1e9, hi = -1e9;
  for (double v : w.layers[0].W) {
    sum += v;
    sum2 += v * v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double n = static_cast<double>(w.layers[0].W.size());
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_LT(std::abs(mean - m0.W_avg) / (m0.W_sd / std::sqrt(n)), kZ);
  EXPECT_NEAR(sd, m0.W_sd * 3.465 / std::sqrt(12.0), 0.005);
  EXPECT_GE(lo, m0.W_avg - 3.465 * m0.W_sd / 2);
  EXPECT_LE(hi, m0.W_avg + 3.465 * m0.W_sd / 2);
  for (double b : w.layers[0].b) EXPECT_NEAR(b, 0.8, 3.465 * 0.001 / 2 + 1e-15);
  // Y^1 (100 x 10) zero-mean, SD W_sd(100); Y^0 = R Y^1 has entry SD ~ sqrt(100) 0.632 1.41 ~ 8.9.
  EXPECT_EQ(w.layers[1].Y.size(), 100U * 10U);
  EXPECT_EQ(w.layers[0].Y.size(), 500U * 10U);
  double s2 = 0;
  for (double v : w.layers[0].Y) s2 += v * v;
  EXPECT_NEAR(std::sqrt(s2 / 5000.0), 8.9, 0.9);
  EXPECT_TRUE(w.layers[2].Y.empty());
  // No feedback bias by default (A.1).
  for (double c : w.layers[0].c) EXPECT_EQ(c, 0.0);
}

TEST(Initialisation, SameSeedSameWeightsOtherSeedOtherWeights) {
  const Params p;
  const Weights a = Weights::initialise(p, 3), b = Weights::initialise(p, 3), c = Weights::initialise(p, 4);
  EXPECT_EQ(a.layers[0].W, b.layers[0].W);
  EXPECT_EQ(a.layers[0].Y, b.layers[0].Y);
  EXPECT_NE(a.layers[0].W, c.layers[0].W);
}

TEST(Initialisation, SparseFeedbackZeroesEightyPercentAndScales) {
  Params p;
  p.feedback_sparsity = 0.8;
  const Weights sparse = Weights::initialise(p, 9);
  p.feedback_sparsity = 0;
  const Weights dense = Weights::initialise(p, 9);
  const auto& ys = sparse.layers[0].Y;
  const auto& yd = dense.layers[0].Y;
  int zeros = 0;
  for (std::size_t e = 0; e < ys.size(); ++e) {
    if (ys[e] == 0.0)
      ++zeros;
    else
      EXPECT_DOUBLE_EQ(ys[e], 5.0 * yd[e]);
  }
  EXPECT_EQ(zeros, 4000);
}

TEST(Initialisation, SymmetricFeedbackIsWTransposed) {
  Params p;
  p.feedback = FeedbackKind::symmetric;
  const Weights w = Weights::initialise(p, 2);
  for (int i = 0; i < 500; ++i) {
    for (int k = 0; k < 10; ++k)
      ASSERT_EQ(w.layers[0].Y[static_cast<std::size_t>(i * 10 + k)], w.layers[1].w(k, i));
  }
}

TEST(Dynamics, HiddenSomaConvergesToKbTimesBasal) {
  Params p;
  p.n_input = 4;
  p.layers = {3, 2};
  Weights w = Weights::initialise(p, 5);
  w.layers[0].b = {1.0, 2.0, -1.0};
  const Network net(p, w, 5);
  SimState s(p);
  net.open_test_generators(s, "spikes.test", 0, 0);
  const std::vector<double> dark(4, 0.0);  // no input spikes: B = b exactly
  net.classify(dark, s);
  const double k_b = net.derived().k_B;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(s.layer[0].soma[static_cast<std::size_t>(i)], k_b * w.layers[0].b[static_cast<std::size_t>(i)],
                1e-12);
  }
}

TEST(Dynamics, OutputSomaConvergesToTeachingSteadyState) {
  Params p;
  p.n_input = 4;
  p.layers = {3, 2};
  Weights w = Weights::initialise(p, 5);
  std::fill(w.layers[1].W.begin(), w.layers[1].W.end(), 0.0);  // V = b regardless of hidden spikes
  w.layers[1].b = {1.0, -0.5};
  const Network net(p, w, 5);
  SimState s(p);
  net.open_test_generators(s, "spikes.test", 0, 0);
  const std::vector<double> dark(4, 0.0);
  net.present(s, dark);
  std::vector<LayerAverages> avg;
  net.run_phase(s, 100, /*label=*/0, /*teach=*/true, avg);
  EXPECT_NEAR(s.layer[1].soma[0], (0.6 * 1.0 + 8.0) / 1.7, 1e-12);
  EXPECT_NEAR(s.layer[1].soma[1], (0.6 * -0.5 - 8.0) / 1.7, 1e-12);
  // Forward phase: U -> k_D V.
  net.run_phase(s, 150, 0, false, avg);
  EXPECT_NEAR(s.layer[1].soma[0], net.derived().k_D * 1.0, 1e-12);
  EXPECT_NEAR(s.layer[1].soma[1], net.derived().k_D * -0.5, 1e-12);
  // The averages of a converged phase equal the steady state too.
  EXPECT_NEAR(avg[1].soma[0], net.derived().k_D * 1.0, 1e-12);
}

TEST(Dynamics, RateReadoutAveragesTheOutputRate) {
  // With V fixed by the bias, the mean output over the test window is k_D V (voltage read-out) or
  // lambda_max sigma(k_D V) (rate read-out), and both pick the same class.
  Params p;
  p.n_input = 4;
  p.layers = {3, 2};
  p.test_settle_steps = 100;  // average only after convergence
  Weights w = Weights::initialise(p, 5);
  std::fill(w.layers[1].W.begin(), w.layers[1].W.end(), 0.0);
  w.layers[1].b = {-0.5, 1.0};
  const std::vector<double> dark(4, 0.0);
  for (const Readout r : {Readout::voltage, Readout::rate}) {
    p.readout = r;
    const Network net(p, w, 5);
    SimState s(p);
    net.open_test_generators(s, "spikes.test", 0, 0);
    std::vector<double> mean;
    EXPECT_EQ(net.classify(dark, s, &mean), 1);
    const double kd = net.derived().k_D;
    const double expected = r == Readout::voltage ? kd * 1.0 : 0.2 * sigmoid(kd * 1.0);
    EXPECT_NEAR(mean[1], expected, 1e-12);
  }
}

TEST(Dynamics, ExactKernelTracesReproduceKappa) {
  // One spike at step 1 must give s(t) = kappa(t) at step t (kappa(1) in the spike's own step).
  Params p;
  p.kernel = KernelKind::exact;
  const Derived d(p);
  double x_l = 0, x_s = 0;
  for (int t = 1; t <= 40; ++t) {
    const double spike = t == 1 ? 1.0 : 0.0;
    x_l = d.decay_L * (x_l + spike);
    x_s = d.decay_s * (x_s + spike);
    EXPECT_NEAR((x_l - x_s) / (p.tau_L - p.tau_s), psp_kernel(t, p.tau_s, p.tau_L), 1e-15);
  }
}

TEST(PoissonUnits, ConstantRateCountsArePoisson) {
  // Counts per step of a rate-0.15 input over n steps and units: mean = variance = 0.15, P(0) = e^-0.15.
  PoissonUnits units;
  const int n_units = 100, steps = 20000;
  units.open(1, "test.poisson", 0, 0, 0, n_units);
  std::vector<double> rate(n_units, 0.15);
  units.start_constant(rate);
  double sum = 0, sum2 = 0, zeros = 0;
  const double n = static_cast<double>(n_units) * steps;
  for (int t = 0; t < steps; ++t) {
    SpikeSlot slot;
    units.step_constant(slot);
    std::vector<int> c(n_units, 0);
    for (std::size_t e = 0; e < slot.size(); ++e) c[slot.unit[e]] = slot.count[e];
    for (int v : c) {
      sum += v;
      sum2 += v * v;
      zeros += v == 0;
    }
  }
  const double lambda = 0.15, mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_LT(std::abs(mean - lambda) / std::sqrt(lambda / n), kZ);
  // Var of the sample variance of Poisson ~ (mu4 - sigma^4) / n with mu4 = lambda (1 + 3 lambda).
  EXPECT_LT(std::abs(var - lambda) / std::sqrt((lambda * (1 + 3 * lambda) - lambda * lambda) / n), kZ);
  const double p0 = std::exp(-lambda);
  EXPECT_LT(std::abs(zeros / n - p0) / std::sqrt(p0 * (1 - p0) / n), kZ);
}

TEST(PoissonUnits, ThinnedCountsArePoissonWithTheStepRate) {
  // Rates that change every step: the count in each step must be Poisson(rate of that step).
  PoissonUnits units;
  const int n_units = 200, steps = 10000;
  units.open(2, "test.thinned", 0, 0, 1, n_units);
  double sum_low = 0, sum_high = 0, sum2_high = 0, n_low = 0, n_high = 0;
  for (int t = 0; t < steps; ++t) {
    const double r = t % 2 == 0 ? 0.02 : 0.18;
    std::vector<double> rate(n_units, r);
    SpikeSlot slot;
    units.step_thinned(rate, 0.2, slot);
    double total = 0, total2 = 0;
    for (std::size_t e = 0; e < slot.size(); ++e) {
      total += slot.count[e];
      total2 += static_cast<double>(slot.count[e]) * slot.count[e];
    }
    if (t % 2 == 0) {
      sum_low += total;
      n_low += n_units;
    } else {
      sum_high += total;
      sum2_high += total2;
      n_high += n_units;
    }
  }
  EXPECT_LT(std::abs(sum_low / n_low - 0.02) / std::sqrt(0.02 / n_low), kZ);
  EXPECT_LT(std::abs(sum_high / n_high - 0.18) / std::sqrt(0.18 / n_high), kZ);
  const double m = sum_high / n_high, var = sum2_high / n_high - m * m;
  EXPECT_LT(std::abs(var - 0.18) / std::sqrt((0.18 * (1 + 3 * 0.18) - 0.18 * 0.18) / n_high), kZ);
}

TEST(PoissonUnits, RestoreContinuesIdentically) {
  PoissonUnits a, b;
  a.open(3, "x", 0, 0, 1, 50);
  b.open(3, "x", 0, 0, 1, 50);
  std::vector<double> rate(50, 0.1);
  SpikeSlot s1, s2;
  for (int t = 0; t < 30; ++t) {
    s1.clear();
    a.step_thinned(rate, 0.2, s1);
  }
  b.step_thinned(rate, 0.2, s2);  // initialise b's candidate process, then overwrite its state
  b.restore(a.positions(), a.waits(), a.thinned_bound());
  for (int t = 0; t < 30; ++t) {
    s1.clear();
    s2.clear();
    a.step_thinned(rate, 0.2, s1);
    b.step_thinned(rate, 0.2, s2);
    ASSERT_EQ(s1.unit, s2.unit);
    ASSERT_EQ(s1.count, s2.count);
  }
}

/// E[floor(X)] for X ~ InverseGaussian(mu, lambda) = sum_{k>=1} P(X >= k), from the closed-form CDF.
double expected_floor_wald(double mu, double lambda) {
  auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
  double e = 0;
  for (int k = 1; k < 100000; ++k) {
    const double x = k;
    const double cdf = phi(std::sqrt(lambda / x) * (x / mu - 1)) +
                       std::exp(2 * lambda / mu) * phi(-std::sqrt(lambda / x) * (x / mu + 1));
    e += 1 - cdf;
    if (1 - cdf < 1e-16) break;
  }
  return e;
}

TEST(Schedule, PhaseExtrasAreFloorOfWald) {
  const Params p;
  const Network net(p, Weights::initialise(p, 1), 1);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  int at_most_10 = 0;
  for (int i = 0; i < n / 2; ++i) {
    const ExampleSchedule s = net.draw_schedule(1, static_cast<std::uint64_t>(i));
    for (int len : {s.forward_steps, s.target_steps}) {
      ASSERT_GE(len, 50);
      const double extra = len - 50;
      sum += extra;
      sum2 += extra * extra;
      at_most_10 += extra <= 10;
    }
  }
  const double expected = expected_floor_wald(2.0, 1.0);
  EXPECT_NEAR(expected, 1.52, 0.01);  // spec 4.2: "mean 1.52"
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_LT(std::abs(mean - expected) / (sd / std::sqrt(n)), kZ);
  EXPECT_NEAR(static_cast<double>(at_most_10) / n, 0.98, 0.01);  // spec: P(<= 10) ~ 0.98
  // The same (epoch, position) always gets the same schedule; another epoch gets another.
  EXPECT_EQ(net.draw_schedule(3, 7).forward_steps, net.draw_schedule(3, 7).forward_steps);
}

TEST(Schedule, StochasticPlateauOffsetsFollowTheCodeDistribution) {
  // Spec 5.1: P(d = 0..5) = 0.261, 0.234, 0.188, 0.135, 0.087, 0.095.
  Params p;
  p.plateau = PlateauTiming::stochastic_code;
  const Network net(p, Weights::initialise(p, 1), 1);
  std::vector<double> count(6, 0);
  double n = 0;
  for (int e = 0; e < 200; ++e) {
    const ExampleSchedule s = net.draw_schedule(0, static_cast<std::uint64_t>(e));
    for (int d : s.forward_offset[0]) {
      ASSERT_GE(d, 0);
      ASSERT_LE(d, 5);
      count[static_cast<std::size_t>(d)] += 1;
      n += 1;
    }
  }
  // Exact probabilities: P(|trunc(3Z)| = k) = P(k <= |3Z| < k+1) for k < 5, and P(|3Z| >= 5) for 5.
  auto tail = [](double x) { return std::erfc(x / 3.0 / std::sqrt(2.0)); };  // P(|3Z| >= x)
  for (int k = 0; k <= 5; ++k) {
    const double pk = k < 5 ? tail(k) - tail(k + 1) : tail(5);
    EXPECT_LT(std::abs(count[static_cast<std::size_t>(k)] / n - pk) / std::sqrt(pk * (1 - pk) / n), kZ)
        << "d = " << k;
  }
}

TEST(WeightUpdate, NonSpikingExampleMatchesHandComputation) {
  // A 3-2-2 network in non-spiking mode (A.16), computed by hand from the spec's equations.
  Params p;
  p.mode = Mode::nonspiking;
  p.n_input = 3;
  p.layers = {2, 2};
  p.learning_rates = {0.3, 0.2};
  Weights w = Weights::initialise(p, 1);
  const double W0[2][3] = {{0.5, -1.0, 2.0}, {-0.3, 0.8, 1.5}};
  const double b0[2] = {0.1, -0.2};
  const double Y0[2][2] = {{1.2, -0.7}, {-2.0, 0.4}};
  const double W1[2][2] = {{1.5, -2.5}, {-1.0, 3.0}};
  const double b1[2] = {0.3, -0.4};
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) w.layers[0].w(i, j) = W0[i][j];
    for (int j = 0; j < 2; ++j) w.layers[1].w(i, j) = W1[i][j];
    for (int k = 0; k < 2; ++k) w.layers[0].Y[static_cast<std::size_t>(i * 2 + k)] = Y0[i][k];
    w.layers[0].b[static_cast<std::size_t>(i)] = b0[i];
    w.layers[1].b[static_cast<std::size_t>(i)] = b1[i];
  }
  Network net(p, w, 1);
  const std::vector<double> pixels = {0.5, 0.0, 1.0};
  const int label = 1;
  ExampleTrace trace;
  net.train_example(pixels, label, net.draw_schedule(0, 0), nullptr, &trace);

  // By hand.
  auto sg = [](double x) { return 1 / (1 + std::exp(-x)); };
  const double lm = 0.2, kb = 0.6 / 0.7, kd = 0.6 / 0.7;
  double r_in[3], c[2], lh[2], u_f[2], l_f[2], u_t[2], l_t[2], a_f[2], a_t[2];
  for (int j = 0; j < 3; ++j) r_in[j] = lm * pixels[static_cast<std::size_t>(j)];
  for (int i = 0; i < 2; ++i) {
    double b = b0[i];
    for (int j = 0; j < 3; ++j) b += W0[i][j] * r_in[j];
    c[i] = kb * b;
    lh[i] = lm * sg(c[i]);
  }
  for (int i = 0; i < 2; ++i) {
    double v = b1[i];
    for (int j = 0; j < 2; ++j) v += W1[i][j] * lh[j];
    u_f[i] = kd * v;
    l_f[i] = lm * sg(u_f[i]);
    const double ge = i == label ? 1 : 0, gi = 1 - ge;
    u_t[i] = (0.6 * v + ge * 8 + gi * -8) / (0.1 + 0.6 + ge + gi);
    l_t[i] = lm * sg(u_t[i]);
  }
  // Plateaus at the last (second) step of each phase use the output rates of the step before.
  for (int i = 0; i < 2; ++i) {
    a_f[i] = sg(Y0[i][0] * l_f[0] + Y0[i][1] * l_f[1]);
    a_t[i] = sg(Y0[i][0] * l_t[0] + Y0[i][1] * l_t[1]);
  }
  double e1[2], e0[2];
  for (int i = 0; i < 2; ++i) {
    e1[i] = -kd * lm * sg(u_f[i]) * (1 - sg(u_f[i])) * (l_t[i] - lm * sg(u_f[i]));
    e0[i] = -kb * lm * sg(c[i]) * (1 - sg(c[i])) * (a_t[i] - a_f[i]);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(trace.error[1][static_cast<std::size_t>(i)], e1[i], 1e-15);
    EXPECT_NEAR(trace.error[0][static_cast<std::size_t>(i)], e0[i], 1e-15);
    EXPECT_NEAR(trace.forward[0].plateau[static_cast<std::size_t>(i)], a_f[i], 1e-15);
    EXPECT_NEAR(trace.target[0].plateau[static_cast<std::size_t>(i)], a_t[i], 1e-15);
    for (int j = 0; j < 2; ++j) {
      EXPECT_NEAR(net.weights().layers[1].w(i, j), W1[i][j] - 0.2 * 500 * e1[i] * lh[j], 1e-14);
    }
    EXPECT_NEAR(net.weights().layers[1].b[static_cast<std::size_t>(i)], b1[i] - 0.2 * 500 * e1[i], 1e-14);
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(net.weights().layers[0].w(i, j), W0[i][j] - 0.3 * 100 * e0[i] * r_in[j], 1e-14);
    }
    EXPECT_NEAR(net.weights().layers[0].b[static_cast<std::size_t>(i)], b0[i] - 0.3 * 100 * e0[i], 1e-14);
  }
  // The hidden error is not zero (the test exercises the plateau rule), and W^0's second column is untouched
  // (its input is zero).
  EXPECT_GT(std::abs(e0[0]), 1e-6);
  EXPECT_EQ(net.weights().layers[0].w(0, 1), W0[0][1]);
}

TEST(WeightUpdate, BackpropRuleUsesUpdatedOutputWeights) {
  Params p;
  p.mode = Mode::nonspiking;
  p.n_input = 5;
  p.layers = {4, 3};
  p.learning_rates = {0.2, 0.2};
  p.hidden_rule = HiddenRule::backprop;
  Network net(p, Weights::initialise(p, 4), 4);
  const std::vector<double> pixels = {0.1, 0.9, 0.0, 0.4, 1.0};
  ExampleTrace trace;
  net.train_example(pixels, 2, net.draw_schedule(0, 0), nullptr, &trace);
  const double kb = net.derived().k_B, lm = 0.2;
  for (int i = 0; i < 4; ++i) {
    double acc = 0;
    for (int k = 0; k < 3; ++k)
      acc += net.weights().layers[1].w(k, i) * trace.error[1][static_cast<std::size_t>(k)];
    const double s = sigmoid(trace.forward[0].soma[static_cast<std::size_t>(i)]);
    EXPECT_NEAR(trace.error[0][static_cast<std::size_t>(i)], acc * kb * lm * s * (1 - s), 1e-16);
  }
}

TEST(GuardRails, NonFiniteWeightsStopTheRunWithAClearMessage) {
  Params p;
  p.n_input = 4;
  p.layers = {3, 2};
  Weights w = Weights::initialise(p, 1);
  w.layers[0].b[1] = std::numeric_limits<double>::quiet_NaN();
  Network net(p, w, 1);
  const std::vector<double> pixels(4, 0.5);
  try {
    net.train_example(pixels, 0, net.draw_schedule(0, 0));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("non-finite"));
    EXPECT_THAT(e.what(), HasSubstr("layer 0"));
  }
}

TEST(Params, ValidationNamesTheConfigKey) {
  Params p;
  p.learning_rates = {0.21};
  EXPECT_THROW(
      {
        try {
          p.validate();
        } catch (const Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("training.learning_rates"));
          throw;
        }
      },
      Error);
  p.learning_rates = {0.21, -0.1};
  try {
    p.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("training.learning_rates[1] = -0.1"));
  }
}

}  // namespace
}  // namespace apical::segregated
