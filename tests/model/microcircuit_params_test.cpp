// SPDX-License-Identifier: Apache-2.0
// Parameters, transfer functions, derived constants, initialisation and hand-computed plasticity updates of the
// dendritic microcircuit (spec sections 3-5).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "apical/core/error.hpp"
#include "apical/models/microcircuit/network.hpp"
#include "apical/models/microcircuit/steady_state.hpp"

namespace apical::microcircuit {
namespace {

using ::testing::HasSubstr;

std::string error_of(const Params& p) {
  try {
    p.validate();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MicrocircuitTransfer, SoftReluMatchesSpecValues) {
  const Transfer phi;  // gamma = 0.1, beta = 1, theta = 3
  EXPECT_NEAR(phi(0.0), 0.1 * std::log1p(std::exp(-3.0)), 1e-15);
  EXPECT_NEAR(phi(0.0), 0.00486, 5e-6);            // spec 3.4
  EXPECT_NEAR(phi.derivative(1e3), 0.1, 1e-12);    // maximum slope gamma beta
  EXPECT_NEAR(phi(1e3), 0.1 * (1e3 - 3.0), 1e-9);  // no overflow far above threshold
  EXPECT_GT(phi(-1e3), -1e-300);
  for (double u : {-5.0, -1.0, 0.0, 2.5, 3.0, 7.0}) {
    const double h = 1e-6;
    EXPECT_NEAR(phi.derivative(u), (phi(u + h) - phi(u - h)) / (2 * h), 1e-9) << "u = " << u;
    // Inverse of spec 3.4: u = theta + ln(exp(r / gamma) - 1) / beta.
    EXPECT_NEAR(3.0 + std::log(std::exp(phi(u) / 0.1) - 1.0), u, 1e-8) << "u = " << u;
  }
}

TEST(MicrocircuitTransfer, LogisticAndSoftplus) {
  const Transfer logistic{.kind = TransferKind::logistic};
  EXPECT_DOUBLE_EQ(logistic(0.0), 0.5);
  EXPECT_NEAR(logistic(std::log(4.0)), 0.8, 1e-15);  // the MNIST "on" target rate
  EXPECT_NEAR(logistic.derivative(0.3), logistic(0.3) * (1 - logistic(0.3)), 1e-15);
  EXPECT_GT(logistic(-800.0), -1e-300);
  EXPECT_LT(logistic(800.0), 1.0 + 1e-15);
  const Transfer softplus{.gamma = 1.0, .beta = 1.0, .theta = 0.0};
  EXPECT_NEAR(softplus(0.0), std::log(2.0), 1e-15);
}

TEST(MicrocircuitParams, DerivedConstantsMatchSpec) {
  const Params p;
  const Derived d(p);
  // Spec 3.5: lambda_A = lambda_out = lambda_I = 0.8 / 1.9 with the community values.
  EXPECT_NEAR(d.lambda_A, 0.8 / 1.9, 1e-15);
  EXPECT_NEAR(d.lambda_out, 0.8 / 1.9, 1e-15);
  EXPECT_NEAR(d.lambda_I, 0.8 / 1.9, 1e-15);
  EXPECT_NEAR(d.k_B, 1.0 / 1.9, 1e-15);
  EXPECT_NEAR(d.k_B_out, 1.0 / 1.1, 1e-15);
  EXPECT_NEAR(d.k_D, 1.0 / 1.1, 1e-15);
  EXPECT_EQ(d.pattern_steps, 1000);  // 100 ms at dt = 0.1 ms
  EXPECT_NEAR(d.input_alpha, 0.1 / 3.0, 1e-15);
  EXPECT_NEAR(d.trace_alpha, 0.1 / 30.0, 1e-15);
  EXPECT_NEAR(d.noise_step, 0.3 * std::sqrt(0.1), 1e-15);
  // Spec 4.2: the W^IP factor is 1 below the output layer and 1.1 / 1.9 below a hidden layer.
  Params deep;
  deep.layers = {4, 5, 6, 3};
  deep.eta_up = {0, 0, 0};
  deep.eta_down = deep.eta_ip = deep.eta_pi = {0, 0};
  EXPECT_NEAR(self_predicting_ip_factor(deep, 2), 1.0, 1e-15);
  EXPECT_NEAR(self_predicting_ip_factor(deep, 1), 1.1 / 1.9, 1e-15);
}

TEST(MicrocircuitParams, ValidateNamesTheKey) {
  Params p;
  p.eta_up = {0.001};
  EXPECT_THAT(error_of(p), HasSubstr("plasticity.eta_up has 1 values"));
  p = Params{};
  p.eta_pi = {-1.0};
  EXPECT_THAT(error_of(p), HasSubstr("plasticity.eta_pi[0] = -1"));
  p = Params{};
  p.pattern_duration = 100.05;
  EXPECT_THAT(error_of(p), HasSubstr("dynamics.pattern_duration"));
  p = Params{};
  p.layers = {30};
  EXPECT_THAT(error_of(p), HasSubstr("model.layers"));
  p = Params{};
  p.g_lk = 0;
  EXPECT_THAT(error_of(p), HasSubstr("model.g_lk = 0"));
  p = Params{};
  p.tau_w = 0.01;
  EXPECT_THAT(error_of(p), HasSubstr("plasticity.tau_w"));
  p = Params{};
  p.learning_lag = 100;
  EXPECT_THAT(error_of(p), HasSubstr("plasticity.learning_lag"));
  p = Params{};
  p.nudging = NudgingForm::conductance;
  p.E_exc = -2;
  EXPECT_THAT(error_of(p), HasSubstr("model.E_exc"));
  p = Params{};
  p.g_som = 25;
  EXPECT_THAT(error_of(p), HasSubstr("dynamics.dt = 0.1 ms is too large"));
  EXPECT_EQ(error_of(Params{}), "");
}

TEST(MicrocircuitDynamics, DivergenceStopsWithAMessage) {
  // Guard rail: a runaway recurrent loop (steep transfer, large weights) is reported, not simulated further.
  Params p;
  p.layers = {5, 5, 5};
  p.transfer.gamma = 10;
  p.init_up = p.init_down = p.init_ip = p.init_pi = 40;
  p.sigma = 0;
  Network net(p, Weights::random(p, 1), 1);
  const std::vector<double> pattern(5, 1.0);
  try {
    net.present(pattern);
    FAIL() << "expected a divergence error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("non-finite potential"));
  }
}

TEST(MicrocircuitParams, ConductanceNudgingEqualsCurrentUnlessClipped) {
  // Spec 3.2: g_exc + g_inh = g_som and g_exc E_exc + g_inh E_inh = g_som u_trgt inside [E_inh, E_exc].
  Params p;
  p.nudging = NudgingForm::conductance;
  for (double t : {-1.0, -0.3, 0.0, 0.7, 1.0}) {
    const Nudge n = nudge(p, 0.8, t);
    EXPECT_NEAR(n.g_total, 0.8, 1e-15);
    EXPECT_NEAR(n.drive, 0.8 * t, 1e-15);
  }
  // Outside the range one conductance would be negative and is clipped: the target potential saturates at E_exc.
  const Nudge high = nudge(p, 0.8, 3.0);
  EXPECT_NEAR(high.drive / high.g_total, p.E_exc, 1e-15);
  EXPECT_GT(high.g_total, 0.8);
  p.nudging = NudgingForm::current;
  EXPECT_NEAR(nudge(p, 0.8, 3.0).drive, 2.4, 1e-15);
}

TEST(MicrocircuitWeights, RandomShapesRangesAndSeeds) {
  Params p;
  p.layers = {30, 20, 15, 10};
  p.eta_up = {0, 0, 0};
  p.eta_down = p.eta_ip = p.eta_pi = {0, 0};
  p.init_up = 0.1;
  p.init_down = 1.0;
  p.bias = true;
  const Weights w = Weights::random(p, 7);
  w.check_shapes(p);
  EXPECT_EQ(w.up[1].rows(), 20);
  EXPECT_EQ(w.up[1].cols(), 30);
  EXPECT_EQ(w.ip[2].rows(), 10);  // one interneuron per neuron of the layer above
  EXPECT_EQ(w.ip[2].cols(), 15);
  EXPECT_EQ(w.pi[1].rows(), 20);
  EXPECT_EQ(w.pi[1].cols(), 15);
  EXPECT_TRUE(w.down[3].size() == 0 && w.ip[3].size() == 0);  // the output layer has neither
  EXPECT_LE(w.up[1].cwiseAbs().maxCoeff(), 0.1);
  EXPECT_GT(w.up[1].cwiseAbs().maxCoeff(), 0.09);
  EXPECT_LE(w.down[1].cwiseAbs().maxCoeff(), 1.0);
  EXPECT_GT(w.down[1].cwiseAbs().maxCoeff(), 0.9);
  EXPECT_NEAR(w.down[1].mean(), 0.0, 4.9 * 1.0 / std::sqrt(3.0 * 300));  // U(-1,1): SD 1/sqrt(3), 300 entries
  EXPECT_EQ(w.up_bias[2].size(), 15);
  EXPECT_EQ(w.up_bias[2].cwiseAbs().maxCoeff(), 0.0);
  const Weights same = Weights::random(p, 7), other = Weights::random(p, 8);
  EXPECT_EQ(w.up[2], same.up[2]);
  EXPECT_EQ(w.pi[1], same.pi[1]);
  EXPECT_NE(w.up[2], other.up[2]);
  // Named streams: the bottom-up weights do not depend on the top-down scale.
  p.init_down = 0.5;
  EXPECT_EQ(Weights::random(p, 7).up[1], w.up[1]);
  Weights wrong = w;
  wrong.pi[1] = Matrix::Zero(3, 3);
  EXPECT_THROW(Network(p, wrong, 1), Error);
}

TEST(MicrocircuitWeights, SelfPredictingClosedForm) {
  Params p;
  p.layers = {6, 5, 4, 3};
  p.eta_up = {0, 0, 0};
  p.eta_down = p.eta_ip = p.eta_pi = {0, 0};
  p.bias = true;
  Weights w = Weights::random(p, 3);
  w.up_bias[3] = Vector::Constant(3, 0.25);
  w.make_self_predicting(p);
  EXPECT_EQ(w.pi[1], -w.down[1]);
  EXPECT_EQ(w.pi[2], -w.down[2]);
  EXPECT_TRUE(w.ip[1].isApprox((1.1 / 1.9) * w.up[2], 1e-15));
  EXPECT_TRUE(w.ip[2].isApprox(w.up[3], 1e-15));
  EXPECT_TRUE(w.ip_bias[2].isApprox(Vector::Constant(3, 0.25), 1e-15));
}

/// A 3-2-2 network with arbitrary potentials, for hand-computed updates.
struct Tiny {
  Params p;
  Weights w;
  Tiny() {
    p.layers = {3, 2, 2};
    p.eta_up = {0.3, 0.7};
    p.eta_down = {0.2};
    p.eta_ip = {0.5};
    p.eta_pi = {0.9};
    p.sigma = 0;
    p.input_tau = 0;  // the input equals the pattern from the first step
    w = Weights::random(p, 5);
    w.up[1] << 0.3, -0.2, 0.5, 0.1, 0.4, -0.6;
    w.up[2] << 0.7, -0.3, 0.2, 0.8;
    w.down[1] << 0.9, -0.4, 0.3, 0.6;
    w.ip[1] << 0.5, 0.2, -0.1, 0.4;
    w.pi[1] << -0.3, 0.1, 0.2, -0.5;
  }
  void set_state(Network& net) const {
    net.state().u_P[1] << 2.0, 4.5;
    net.state().u_P[2] << 3.5, 1.0;
    net.state().u_I[1] << 2.5, 5.0;
  }
};

TEST(MicrocircuitPlasticity, OneStepMatchesHandComputedRules) {
  // Eqs. 7-10 written out per synapse, without the network's code paths. tau_w = 0: W += dt eta post pre.
  Tiny t;
  t.p.tau_w = 0;
  Network net(t.p, t.w, 1);
  t.set_state(net);
  const double r0[3] = {0.2, 0.9, 0.5};
  net.set_input(r0);
  const Transfer phi = t.p.transfer;
  const double kB = 1.0 / 1.9, kB_out = 1.0 / 1.1, kD = 1.0 / 1.1;
  const auto& u1 = net.state().u_P[1];
  const auto& u2 = net.state().u_P[2];
  const auto& uI = net.state().u_I[1];
  double r1[2], r2[2], rI[2];
  for (int i = 0; i < 2; ++i) r1[i] = phi(u1[i]), r2[i] = phi(u2[i]), rI[i] = phi(uI[i]);
  const Weights& w = t.w;
  Weights expected = t.w;
  const double dt = 0.1;
  for (int i = 0; i < 2; ++i) {
    double vB1 = 0, vB2 = 0, vA = 0, vI = 0, vTD = 0;
    for (int j = 0; j < 3; ++j) vB1 += w.up[1](i, j) * r0[j];
    for (int j = 0; j < 2; ++j) {
      vB2 += w.up[2](i, j) * r1[j];
      vA += w.down[1](i, j) * r2[j] + w.pi[1](i, j) * rI[j];
      vI += w.ip[1](i, j) * r1[j];
      vTD += w.down[1](i, j) * r2[j];
    }
    for (int j = 0; j < 3; ++j) expected.up[1](i, j) += dt * 0.3 * (r1[i] - phi(kB * vB1)) * r0[j];
    for (int j = 0; j < 2; ++j) {
      expected.up[2](i, j) += dt * 0.7 * (r2[i] - phi(kB_out * vB2)) * r1[j];
      expected.down[1](i, j) += dt * 0.2 * (r1[i] - phi(vTD)) * r2[j];
      expected.ip[1](i, j) += dt * 0.5 * (rI[i] - phi(kD * vI)) * r1[j];
      expected.pi[1](i, j) += dt * 0.9 * (0.0 - vA) * rI[j];
    }
  }
  net.step();
  EXPECT_TRUE(net.weights().up[1].isApprox(expected.up[1], 1e-14));
  EXPECT_TRUE(net.weights().up[2].isApprox(expected.up[2], 1e-14));
  EXPECT_TRUE(net.weights().down[1].isApprox(expected.down[1], 1e-14));
  EXPECT_TRUE(net.weights().ip[1].isApprox(expected.ip[1], 1e-14));
  EXPECT_TRUE(net.weights().pi[1].isApprox(expected.pi[1], 1e-14));
}

TEST(MicrocircuitPlasticity, LowPassTraceFiltersTheInduction) {
  // Spec 5.2: from a zero trace, one step gives Delta = (dt / tau_w) I and dW = dt eta Delta; the trace of a
  // constant induction relaxes as 1 - (1 - dt / tau_w)^n.
  Tiny t;
  Params frozen = t.p;  // only W^PI learns, so the induction of W^PI stays constant apart from its own change
  frozen.eta_up = {0, 0};
  frozen.eta_down = frozen.eta_ip = {0};
  frozen.eta_pi = {1e-3};
  Network net(frozen, t.w, 1);
  t.set_state(net);
  net.set_learning(true);
  const double r0[3] = {0.2, 0.9, 0.5};
  net.set_input(r0);
  const Matrix inst = net.induction(net.activity()).pi[1].outer();
  net.step();
  const double alpha = 0.1 / 30.0;
  EXPECT_TRUE(net.state().d_pi[1].isApprox(alpha * inst, 1e-12));
  // A difference of O(1) weights: relative precision ~1e-8.
  EXPECT_TRUE((net.weights().pi[1] - t.w.pi[1]).isApprox(0.1 * 1e-3 * alpha * inst, 1e-6));
  // Trace reset at a pattern onset (diagnostic switch).
  frozen.reset_traces = true;
  Network reset(frozen, t.w, 1);
  reset.set_input(r0);
  reset.step();
  EXPECT_GT(reset.state().d_pi[1].norm(), 0.0);
  reset.set_input(r0);
  EXPECT_EQ(reset.state().d_pi[1].norm(), 0.0);
}

TEST(MicrocircuitPlasticity, LearningLagAndSwitches) {
  Tiny t;
  t.p.learning_lag = 2.0;  // 20 steps
  Network net(t.p, t.w, 1);
  const double r0[3] = {0.2, 0.9, 0.5};
  net.set_input(r0);
  net.run(20);
  EXPECT_EQ(net.weights().up[1], t.w.up[1]);
  net.step();
  EXPECT_NE(net.weights().up[1], t.w.up[1]);
  t.p.learning_lag = 0;
  Network off(t.p, t.w, 1);
  off.set_learning(false);
  off.set_input(r0);
  off.run(50);
  EXPECT_EQ(off.weights().pi[1], t.w.pi[1]);
}

TEST(MicrocircuitDynamics, InputFilterIsEulerLowPass) {
  Params p;
  p.layers = {2, 3, 2};
  Network net(p, Weights::random(p, 1), 1);
  const double pattern[2] = {1.0, -0.5};
  net.set_input(pattern);
  net.run(30);
  const double expected = 1.0 - std::pow(1.0 - 0.1 / 3.0, 30);  // tau_0 = 3 ms, dt = 0.1 ms
  EXPECT_NEAR(net.state().r_in[0], expected, 1e-14);
  EXPECT_NEAR(net.state().r_in[1], -0.5 * expected, 1e-14);
}

TEST(MicrocircuitDynamics, NoiseVarianceFollowsTheChosenScaling) {
  // With all weights 0 every hidden soma is an Ornstein-Uhlenbeck process du = -g u dt + sigma dW with
  // g = g_lk + g_B + g_A = 1.9; Euler-Maruyama's stationary variance is sigma^2 dt / (1 - (1 - g dt)^2), and with
  // the per-step scaling (dt sigma)^2 / (1 - (1 - g dt)^2). 200 neurons x 2000 steps (correlation time ~5 steps):
  // the relative standard error of the variance is ~1.5 %; a 10 % tolerance is > 6 standard errors.
  for (NoiseScaling scaling : {NoiseScaling::euler_maruyama, NoiseScaling::per_step}) {
    Params p;
    p.layers = {1, 200, 1};
    p.sigma = 0.5;
    p.noise_scaling = scaling;
    p.init_up = p.init_down = p.init_ip = p.init_pi = 0;
    p.eta_up = {0, 0};
    p.eta_ip = p.eta_pi = {0};
    Network net(p, Weights::random(p, 1), 11);
    net.run(200);  // burn-in: 20 ms >> 1 / g
    double sum = 0, sum2 = 0;
    std::int64_t n = 0;
    net.run(2000, [&](const Network& m) {
      for (double u : m.state().u_P[1]) sum += u, sum2 += u * u, ++n;
    });
    const double mean = sum / static_cast<double>(n), var = sum2 / static_cast<double>(n) - mean * mean;
    const double dt = 0.1, g = 1.9, a = 1 - g * dt;
    const double step_sd = scaling == NoiseScaling::euler_maruyama ? 0.5 * std::sqrt(dt) : 0.5 * dt;
    const double expected = step_sd * step_sd / (1 - a * a);
    EXPECT_NEAR(var / expected, 1.0, 0.1)
        << (scaling == NoiseScaling::euler_maruyama ? "euler_maruyama" : "per_step");
    EXPECT_NEAR(mean, 0.0, 0.05 * std::sqrt(expected));
  }
  // Same seed, same noise; noise switched off gives a deterministic zero state.
  Params p;
  p.layers = {1, 4, 2};
  p.init_up = p.init_down = p.init_ip = p.init_pi = 0;
  Network a(p, Weights::random(p, 1), 5), b(p, Weights::random(p, 1), 5), c(p, Weights::random(p, 1), 6);
  a.run(10);
  b.run(10);
  c.run(10);
  EXPECT_EQ(a.state().u_P[1], b.state().u_P[1]);
  EXPECT_NE(a.state().u_P[1], c.state().u_P[1]);
  Network quiet(p, Weights::random(p, 1), 5);
  quiet.set_noise(false);
  quiet.run(10);
  EXPECT_EQ(quiet.state().u_P[1].norm(), 0.0);
}

}  // namespace
}  // namespace apical::microcircuit
