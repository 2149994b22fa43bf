// SPDX-License-Identifier: Apache-2.0
// The two-sweep steady-state microcircuit (spec 6.2) and the rate-based baselines: the sweeps against the full
// model's fixed point, a hand-computed update, the backprop limit (spec 7), a finite-difference check of the
// backprop gradient, and the FA / DFA / shallow updates.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/models/microcircuit/steady_state.hpp"
#include "apical/models/microcircuit/sweep.hpp"
#include "test_support.hpp"

namespace apical::microcircuit {
namespace {

Matrix random_input(int rows, int cols, std::uint64_t seed) {
  Stream s(seed, "test.input");
  Matrix x(rows, cols);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = s.uniform();
  return x;
}

/// Small random thresholds everywhere, so that the bias paths are exercised.
void randomise_biases(SweepWeights& w, std::uint64_t seed) {
  Stream s(seed, "test.bias");
  for (auto* list : {&w.w.up_bias, &w.w.ip_bias}) {
    for (auto& b : *list) {
      for (Eigen::Index i = 0; i < b.size(); ++i) b[i] = 0.4 * (s.uniform() - 0.5);
    }
  }
}

/// Full-model parameters whose closed-form steady states (g_lk -> 0) have the given mixing factors.
Params full_params(const SweepParams& q) {
  Params p;
  p.layers = q.layers;
  p.bias = true;
  p.transfer.kind = TransferKind::logistic;
  p.g_lk = 1e-13;
  p.g_B = 1.0;
  p.g_D = 1.0;
  // lambda = g / (g_B + g)  <=>  g = lambda g_B / (1 - lambda).
  p.g_A = q.lambda_A / (1.0 - q.lambda_A);
  p.g_som = q.lambda_out / (1.0 - q.lambda_out);
  p.g_som_interneuron = q.lambda_I / (1.0 - q.lambda_I);
  const auto n_top = p.layers.size() - 1;
  p.eta_up.assign(n_top, 0.0);
  p.eta_down.assign(n_top - 1, 0.0);
  p.eta_ip.assign(n_top - 1, 0.0);
  p.eta_pi.assign(n_top - 1, 0.0);
  p.sigma = 0;
  return p;
}

SweepParams small_params(double lambda) {
  SweepParams p;
  p.layers = {6, 5, 4, 3};
  p.lambda_A = p.lambda_out = p.lambda_I = lambda;
  p.eta_up = {0.1, 0.1, 0.1};
  return p;
}

double max_abs(const Matrix& a) {
  return a.cwiseAbs().maxCoeff();
}

TEST(MicrocircuitSweep, WithoutTargetTheSweepsAreTheFullModelsFixedPoint) {
  // Self-predicting, no target: the full dynamics settle with v_A = 0, every soma at its basal prediction; the
  // upward sweep gives exactly that, and the downward sweep changes nothing.
  const SweepParams q = small_params(0.3);
  SweepWeights w = SweepWeights::initial(q, 5);
  randomise_biases(w, 5);
  w.make_self_predicting(q);
  const Matrix x = random_input(1, 6, 5);
  SweepState s = upward(q, w, x);
  const SweepState up = s;
  downward(q, w, s, nullptr);
  const Params p = full_params(q);
  const Potentials fp = fixed_point(p, w.w, x.row(0).transpose(), nullptr);
  for (int k = 1; k <= 3; ++k) {
    const auto K = static_cast<std::size_t>(k);
    EXPECT_LT((s.u[K].row(0).transpose() - fp.u_P[K]).cwiseAbs().maxCoeff(), 1e-9) << "layer " << k;
    EXPECT_LT(max_abs(s.u[K] - up.u[K]), 1e-15) << "layer " << k;
    if (k < 3) {
      EXPECT_LT((s.u_I[K].row(0).transpose() - fp.u_I[K]).cwiseAbs().maxCoeff(), 1e-9) << "layer " << k;
      EXPECT_LT(max_abs(s.v_A[K]), 1e-15);
    }
  }
}

TEST(MicrocircuitSweep, WithATargetTheSweepsApproachTheFixedPointAsLambdaSquared) {
  // Spec 6.2: the two sweeps approximate the full relaxation; the neglected terms are second order in lambda.
  std::vector<double> err;
  for (double lambda : {0.1, 0.01}) {
    const SweepParams q = small_params(lambda);
    SweepWeights w = SweepWeights::initial(q, 9);
    randomise_biases(w, 9);
    w.make_self_predicting(q);
    const Matrix x = random_input(1, 6, 9);
    const Matrix u_trgt = target_potentials(q, {2});
    SweepState s = upward(q, w, x);
    downward(q, w, s, &u_trgt);
    const Vector target = u_trgt.row(0).transpose();
    const Potentials fp = fixed_point(full_params(q), w.w, x.row(0).transpose(), &target);
    double e = 0;
    for (std::size_t k = 1; k <= 3; ++k) e = std::max(e, (s.u[k].row(0).transpose() - fp.u_P[k]).cwiseAbs().maxCoeff());
    // Relative to the nudge itself (order lambda).
    const double nudge = (fp.u_P[3] - s.vhat_B[3].row(0).transpose()).cwiseAbs().maxCoeff();
    err.push_back(e / nudge);
  }
  EXPECT_LT(err[0], 0.2);
  EXPECT_LT(err[1], err[0] / 5);  // first order in lambda relative to the nudge: a factor ~10 per decade
}

TEST(MicrocircuitSweep, UpdateOfATinyNetworkMatchesAHandComputation) {
  // 1-1-1-1 network, one example, every quantity written out as a scalar from the equations at the top of
  // sweep.hpp.
  SweepParams p;
  p.layers = {1, 1, 1, 1};
  p.lambda_A = 0.2;
  p.lambda_out = 0.3;
  p.lambda_I = 0.25;
  p.eta_up = {0.5, 0.4, 0.3};
  p.eta_ip = {0.7, 0.6};
  p.eta_pi = {0.2, 0.1};
  p.eta_down = {0.05, 0.04};
  p.rescale = false;
  p.self_predicting = false;
  SweepWeights w = SweepWeights::initial(p, 1);
  const double W1 = 0.9, W2 = -0.7, W3 = 1.3, b1 = 0.1, b2 = -0.2, b3 = 0.3;
  const double D1 = 0.8, D2 = -0.6, P1 = -0.5, P2 = 0.4, I1 = -0.6, I2 = 1.1, c1 = 0.05, c2 = -0.1;
  w.w.up[1](0, 0) = W1, w.w.up[2](0, 0) = W2, w.w.up[3](0, 0) = W3;
  w.w.up_bias[1][0] = b1, w.w.up_bias[2][0] = b2, w.w.up_bias[3][0] = b3;
  w.w.down[1](0, 0) = D1, w.w.down[2](0, 0) = D2;
  w.w.pi[1](0, 0) = P1, w.w.pi[2](0, 0) = P2;
  w.w.ip[1](0, 0) = I1, w.w.ip[2](0, 0) = I2;
  w.w.ip_bias[1][0] = c1, w.w.ip_bias[2][0] = c2;
  const double x = 0.6;
  const auto f = [](double u) { return 1.0 / (1.0 + std::exp(-u)); };
  // Upward (self-consistent): hidden somata at (1 - lambda_A) v_B.
  const double vB1 = W1 * x + b1, vh1 = 0.8 * vB1, r1u = f(vh1);
  const double vB2 = W2 * r1u + b2, vh2 = 0.8 * vB2, r2u = f(vh2);
  const double vB3 = W3 * r2u + b3;
  const double vI1 = I1 * r1u + c1, vI2 = I2 * r2u + c2;
  // Target label 0 of a single output: rate 0.8.
  const double ut = std::log(0.8 / 0.2);
  const double u3 = 0.7 * vB3 + 0.3 * ut, r3 = f(u3);
  const double uI2 = 0.75 * vI2 + 0.25 * u3, rI2 = f(uI2);
  const double vA2 = D2 * r3 + P2 * rI2, u2 = vh2 + 0.2 * vA2, r2 = f(u2);
  const double uI1 = 0.75 * vI1 + 0.25 * u2, rI1 = f(uI1);
  const double vA1 = D1 * r2 + P1 * rI1, u1 = vh1 + 0.2 * vA1, r1 = f(u1);
  SweepState s;
  const SweepUpdate d = compute_update(p, w, Matrix::Constant(1, 1, x), {0}, &s);
  EXPECT_NEAR(s.u[1](0, 0), u1, 1e-15);
  EXPECT_NEAR(s.u[3](0, 0), u3, 1e-15);
  EXPECT_NEAR(d.up[3](0, 0), 0.3 * (r3 - f(vB3)) * r2, 1e-15);
  EXPECT_NEAR(d.up_bias[3][0], 0.3 * (r3 - f(vB3)), 1e-15);
  EXPECT_NEAR(d.up[2](0, 0), 0.4 * (r2 - f(vh2)) * r1, 1e-15);
  EXPECT_NEAR(d.up[1](0, 0), 0.5 * (r1 - f(vh1)) * x, 1e-15);
  EXPECT_NEAR(d.up_bias[1][0], 0.5 * (r1 - f(vh1)), 1e-15);
  EXPECT_NEAR(d.ip[1](0, 0), 0.7 * (rI1 - f(vI1)) * r1, 1e-15);
  EXPECT_NEAR(d.ip[2](0, 0), 0.6 * (rI2 - f(vI2)) * r2, 1e-15);
  EXPECT_NEAR(d.ip_bias[2][0], 0.6 * (rI2 - f(vI2)), 1e-15);
  EXPECT_NEAR(d.pi[1](0, 0), 0.2 * (-vA1) * rI1, 1e-15);
  EXPECT_NEAR(d.pi[2](0, 0), 0.1 * (-vA2) * rI2, 1e-15);
  EXPECT_NEAR(d.down[1](0, 0), 0.05 * (r1 - f(D1 * r2)) * r2, 1e-15);
  EXPECT_NEAR(d.down[2](0, 0), 0.04 * (r2 - f(D2 * r3)) * r3, 1e-15);
}

TEST(MicrocircuitSweep, LiteralReadingUsesUnattenuatedPredictions) {
  SweepParams p = small_params(0.2);
  p.reading = Reading::literal;
  SweepWeights w = SweepWeights::initial(p, 3);
  const Matrix x = random_input(2, 6, 3);
  const SweepState s = upward(p, w, x);
  const Matrix vB1 = x * w.w.up[1].transpose();
  EXPECT_LT(max_abs(s.u[1] - vB1), 1e-15);
  EXPECT_DOUBLE_EQ(p.ip_factor(1), 1.0);
  p.reading = Reading::self_consistent;
  EXPECT_LT(max_abs(upward(p, w, x).u[1] - 0.8 * vB1), 1e-15);
  EXPECT_DOUBLE_EQ(p.ip_factor(1), 0.8);
}

TEST(MicrocircuitSweep, SelfPredictingNetworkDoesNotLearnWithoutError) {
  // Targets equal to the network's own output rates: no nudge, so no weight changes at all.
  SweepParams p = small_params(0.1);
  p.eta_pi = {0.1, 0.1};
  SweepWeights w = SweepWeights::initial(p, 4);
  randomise_biases(w, 4);
  w.make_self_predicting(p);
  const Matrix x = random_input(3, 6, 4);
  SweepState s = upward(p, w, x);
  const Matrix u_own = s.u[3];
  downward(p, w, s, &u_own);
  for (std::size_t k = 1; k <= 2; ++k) EXPECT_LT(max_abs(s.v_A[k]), 1e-14);
  for (std::size_t k = 1; k <= 3; ++k) EXPECT_LT(max_abs(s.u[k] - upward(p, w, x).u[k]), 1e-14);
}

/// Cosine similarity of two matrices as vectors.
double cosine(const Matrix& a, const Matrix& b) {
  return (a.array() * b.array()).sum() / (a.norm() * b.norm());
}

TEST(MicrocircuitSweep, ApproachesBackpropWithSymmetricFeedbackAsLambdaShrinks) {
  // Spec 7: with self-prediction and W^down_k = W_{k+1}^T, the rescaled update of every layer tends to backprop
  // of e = u_trgt - u^-_N through the feedforward network, delta_N = phi'(u_N) e, delta_k = phi'(u_k) W^T delta.
  std::vector<double> cos1;
  for (double lambda : {0.1, 0.01, 0.001}) {
    SweepParams p = small_params(lambda);
    SweepWeights w = SweepWeights::initial(p, 8);
    randomise_biases(w, 8);
    for (std::size_t k = 1; k <= 2; ++k) w.w.down[k] = w.w.up[k + 1].transpose();
    w.make_self_predicting(p);
    const Matrix x = random_input(4, 6, 8);
    const std::vector<int> labels = {0, 2, 1, 2};
    const SweepUpdate d = compute_update(p, w, x, labels);
    const SweepState s = upward(p, w, x);
    Matrix delta = (target_potentials(p, labels) - s.u[3]).cwiseProduct(Matrix(s.r[3].array() * (1 - s.r[3].array())));
    std::vector<Matrix> bp(4);
    for (int k = 3; k >= 1; --k) {
      const auto K = static_cast<std::size_t>(k);
      if (k < 3) delta = (delta * w.w.up[K + 1]).cwiseProduct(Matrix(s.r[K].array() * (1 - s.r[K].array())));
      bp[K] = 0.1 / 4 * delta.transpose() * s.r[K - 1];
    }
    for (std::size_t k = 1; k <= 3; ++k) {
      EXPECT_GT(cosine(d.up[k], bp[k]), 0.9) << "lambda " << lambda << " layer " << k;
      EXPECT_NEAR(d.up[k].norm() / bp[k].norm(), 1.0, 20 * lambda) << "lambda " << lambda << " layer " << k;
    }
    cos1.push_back(cosine(d.up[1], bp[1]));
  }
  EXPECT_GT(cos1[2], 1 - 1e-5);
  EXPECT_LT(1 - cos1[1], 1 - cos1[0]);
  EXPECT_LT(1 - cos1[2], 1 - cos1[1]);
}

TEST(MicrocircuitBaselines, BackpropGradientMatchesFiniteDifferences) {
  SweepParams p = small_params(0.1);
  p.rule = Rule::backprop;
  SweepWeights w = SweepWeights::initial(p, 11);
  randomise_biases(w, 11);
  const Matrix x = random_input(3, 6, 11);
  const std::vector<int> labels = {1, 0, 2};
  const SweepUpdate g = loss_gradient(p, w, x, labels);
  const double h = 1e-5;
  int checked = 0;
  double worst = 0;  // largest |numeric - analytic| relative to the largest gradient entry
  double largest = 0;
  for (std::size_t k = 1; k <= 3; ++k) largest = std::max({largest, max_abs(g.up[k]), g.up_bias[k].cwiseAbs().maxCoeff()});
  const auto check = [&](double& param, double analytic) {
    const double keep = param;
    param = keep + h;
    const double lp = loss(p, w, x, labels);
    param = keep - h;
    const double lm = loss(p, w, x, labels);
    param = keep;
    const double numeric = (lp - lm) / (2 * h);
    worst = std::max(worst, std::abs(numeric - analytic) / largest);
    ++checked;
  };
  for (std::size_t k = 1; k <= 3; ++k) {
    for (Eigen::Index i = 0; i < w.w.up[k].size(); ++i) check(w.w.up[k].data()[i], g.up[k].data()[i]);
    for (Eigen::Index i = 0; i < w.w.up_bias[k].size(); ++i) check(w.w.up_bias[k][i], g.up_bias[k][i]);
  }
  EXPECT_EQ(checked, 5 * 6 + 4 * 5 + 3 * 4 + 5 + 4 + 3);
  EXPECT_GT(largest, 1e-3);
  EXPECT_LT(worst, 1e-7);
  // And the backprop rule's update is -eta times this gradient.
  const SweepUpdate d = compute_update(p, w, x, labels);
  EXPECT_LT(max_abs(d.up[1] + 0.1 * g.up[1]), 1e-16);
}

TEST(MicrocircuitBaselines, FeedbackAlignmentWithTransposedFeedbackEqualsBackprop) {
  SweepParams p = small_params(0.1);
  p.rule = Rule::backprop;
  SweepWeights w = SweepWeights::initial(p, 12);
  randomise_biases(w, 12);
  const Matrix x = random_input(5, 6, 12);
  const std::vector<int> labels = {1, 0, 2, 2, 0};
  const SweepUpdate bp = compute_update(p, w, x, labels);
  p.rule = Rule::fa;
  const SweepUpdate fa_random = compute_update(p, w, x, labels);
  EXPECT_GT(max_abs(fa_random.up[1] - bp.up[1]), 1e-6);  // random feedback: a different update
  EXPECT_LT(max_abs(fa_random.up[3] - bp.up[3]), 1e-18);  // the output layer is the same
  for (std::size_t k = 1; k <= 2; ++k) w.w.down[k] = w.w.up[k + 1].transpose();
  const SweepUpdate fa = compute_update(p, w, x, labels);
  for (std::size_t k = 1; k <= 3; ++k) {
    // Equal up to the rounding of W^T W versus W W (a different GEMM order).
    EXPECT_LT(max_abs(fa.up[k] - bp.up[k]), 1e-12 * max_abs(bp.up[k])) << "layer " << k;
    EXPECT_LT((fa.up_bias[k] - bp.up_bias[k]).cwiseAbs().maxCoeff(), 1e-12 * bp.up_bias[k].cwiseAbs().maxCoeff());
  }
}

TEST(MicrocircuitBaselines, DfaAndShallowUpdates) {
  SweepParams p = small_params(0.1);
  p.rule = Rule::dfa;
  SweepWeights w = SweepWeights::initial(p, 13);
  const Matrix x = random_input(4, 6, 13);
  const std::vector<int> labels = {1, 0, 2, 2};
  const SweepUpdate dfa = compute_update(p, w, x, labels);
  for (std::size_t k = 1; k <= 3; ++k) {
    ASSERT_EQ(dfa.up[k].rows(), p.layers[k]);
    ASSERT_EQ(dfa.up[k].cols(), p.layers[k - 1]);
    ASSERT_EQ(dfa.up_bias[k].size(), p.layers[k]);
    EXPECT_GT(dfa.up[k].norm(), 0);
  }
  ASSERT_EQ(w.direct[1].rows(), 5);
  ASSERT_EQ(w.direct[1].cols(), 3);
  // Layer 1's DFA delta is (delta_N D_1^T) phi'(a_1), not routed through layer 2.
  const SweepState s = upward(p, w, x);
  const Matrix delta_out = (s.r[3] - target_rates(p, labels)).cwiseProduct(Matrix(s.r[3].array() * (1 - s.r[3].array())));
  const Matrix delta1 = (delta_out * w.direct[1].transpose()).cwiseProduct(Matrix(s.r[1].array() * (1 - s.r[1].array())));
  EXPECT_LT(max_abs(dfa.up[1] + 0.1 / 4 * delta1.transpose() * x), 1e-15);
  p.rule = Rule::shallow;
  const SweepUpdate sh = compute_update(p, w, x, labels);
  EXPECT_EQ(sh.up[1].size(), 0);
  EXPECT_EQ(sh.up[2].size(), 0);
  EXPECT_EQ(sh.up[3], dfa.up[3]);
}

TEST(MicrocircuitSweep, SameSeedGivesTheSameForwardWeightsForEveryRule) {
  SweepParams p = small_params(0.1);
  const SweepWeights mc = SweepWeights::initial(p, 21);
  p.rule = Rule::backprop;
  const SweepWeights bp = SweepWeights::initial(p, 21);
  for (std::size_t k = 1; k <= 3; ++k) EXPECT_EQ(mc.w.up[k], bp.w.up[k]);
  EXPECT_EQ(mc.w.down[1], bp.w.down[1]);  // the microcircuit's top-down weights are FA's feedback
  const double a = p.init_up / std::sqrt(6.0);
  EXPECT_LE(bp.w.up[1].cwiseAbs().maxCoeff(), a);
  EXPECT_GT(bp.w.up[1].cwiseAbs().maxCoeff(), 0.8 * a);
}

TEST(MicrocircuitSweep, DilutionAndTrackingRates) {
  SweepParams p = small_params(0.1);
  p.lambda_out = 0.3;
  p.lambda_A = 0.2;
  p.lambda_I = 0.25;
  p.eta_up = {0.5, 0.4, 0.3};
  EXPECT_DOUBLE_EQ(p.dilution(3), 0.3);
  EXPECT_DOUBLE_EQ(p.dilution(2), 0.3 * 0.2 * 0.75);
  EXPECT_DOUBLE_EQ(p.dilution(1), 0.3 * 0.2 * 0.75 * 0.2 * 0.75);
  EXPECT_DOUBLE_EQ(p.effective_eta_up(3), 0.3 / 0.3);
  EXPECT_DOUBLE_EQ(p.effective_eta_up(1), 0.5 / (0.3 * 0.15 * 0.15));
  // W^IP_2 tracks the output layer (c = 1), W^IP_1 the hidden layer 2 (c = 1 - lambda_A).
  EXPECT_DOUBLE_EQ(p.tracking_eta_ip(2), 1.0 / 0.25);
  EXPECT_DOUBLE_EQ(p.tracking_eta_ip(1), 0.8 * (0.4 / (0.3 * 0.15)) / 0.25);
  p.rescale = false;
  EXPECT_DOUBLE_EQ(p.effective_eta_up(1), 0.5);
  p.rule = Rule::backprop;
  p.rescale = true;
  EXPECT_DOUBLE_EQ(p.effective_eta_up(1), 0.5);  // rescaling is the microcircuit's only
}

TEST(MicrocircuitSweep, ParameterErrorsNameTheKey) {
  SweepParams p = small_params(0.1);
  p.eta_up = {0.1, 0.1};
  EXPECT_NE(test::error_of([&] { p.validate(); }).find("plasticity.eta_up has 2 entries"), std::string::npos);
  p = small_params(0.1);
  p.eta_up[1] = -1;
  EXPECT_NE(test::error_of([&] { p.validate(); }).find("plasticity.eta_up[1] = -1"), std::string::npos);
  p = small_params(0.1);
  p.lambda_A = 1.0;
  EXPECT_NE(test::error_of([&] { p.validate(); }).find("model.lambda_apical"), std::string::npos);
  p = small_params(0.1);
  p.lambda_out = 0;
  EXPECT_NE(test::error_of([&] { p.validate(); }).find("diluted to 0"), std::string::npos);
}

}  // namespace
}  // namespace apical::microcircuit
