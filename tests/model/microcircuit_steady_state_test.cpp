// SPDX-License-Identifier: Apache-2.0
// Fixed points of the full microcircuit dynamics against the closed-form steady states (spec 3.5), and the
// self-predicting state (spec 4.2, test suggestions 12.1 and 12.2).
#include <gtest/gtest.h>

#include <ostream>
#include <vector>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/models/microcircuit/network.hpp"
#include "apical/models/microcircuit/steady_state.hpp"

namespace apical::microcircuit {
namespace {

/// Parameters for a network with the given layer sizes and every learning rate 0.
Params frozen_params(std::vector<int> layers) {
  Params p;
  p.layers = std::move(layers);
  const auto n_top = p.layers.size() - 1;
  p.eta_up.assign(n_top, 0.0);
  p.eta_down.assign(n_top - 1, 0.0);
  p.eta_ip.assign(n_top - 1, 0.0);
  p.eta_pi.assign(n_top - 1, 0.0);
  p.sigma = 0;
  return p;
}

Vector uniform_vector(int n, double lo, double hi, std::uint64_t seed, const char* name) {
  Stream s(seed, name);
  Vector v(n);
  for (auto& x : v) x = lo + (hi - lo) * s.uniform();
  return v;
}

std::vector<double> to_std(const Vector& v) {
  return {v.data(), v.data() + v.size()};
}

double max_abs_diff(const std::vector<Vector>& a, const std::vector<Vector>& b) {
  double m = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].size() == 0) continue;
    m = std::max(m, (a[k] - b[k]).cwiseAbs().maxCoeff());
  }
  return m;
}

/// Integrates the noise-free network for `ms` milliseconds with plasticity off.
void settle(Network& net, const Vector& input, double ms) {
  net.set_learning(false);
  net.set_noise(false);
  net.set_input(to_std(input));
  net.run(std::llround(ms / net.params().dt));
}

struct Case {
  const char* name;
  std::vector<int> layers;
  TransferKind transfer;
  bool bias;
  bool target;
  NudgingForm nudging;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class MicrocircuitFixedPoint : public ::testing::TestWithParam<Case> {};

TEST_P(MicrocircuitFixedPoint, DynamicsConvergeToTheClosedFormSteadyStates) {
  // Spec 12.1: with fixed weights and no noise, the long-time limit of the Euler dynamics is the fixed point
  // of the closed forms of 3.5. Random (not self-predicting) weights U(-1, 1), so every apical potential,
  // interneuron nudging current and output teaching current is non-zero.
  const Case& c = GetParam();
  Params p = frozen_params(c.layers);
  p.transfer.kind = c.transfer;
  p.bias = c.bias;
  p.nudging = c.nudging;
  p.init_up = p.init_down = p.init_ip = p.init_pi = 1.0;
  Weights w = Weights::random(p, 21);
  if (c.bias) {
    for (int k = 1; k <= p.n_top(); ++k) w.up_bias[k] = uniform_vector(p.size(k), -1, 1, 3, "test.bias");
    for (int k = 1; k < p.n_top(); ++k) w.ip_bias[k] = uniform_vector(p.size(k + 1), -1, 1, 4, "test.bias");
  }
  const Vector input = uniform_vector(p.n_input(), 0, 1, 1, "test.input");
  // Targets in [-3, 3] reach outside [E_inh, E_exc] = [-1, 1], where conductance nudging clips.
  const Vector target = uniform_vector(p.n_output(), -3, 3, 2, "test.target");

  Network net(p, w, 1);
  if (c.target) net.set_target(to_std(target));
  settle(net, input, 300.0);  // >> tau_0 = 3 ms and the somatic time constants (~1 ms)
  const Potentials fixed = fixed_point(p, w, input, c.target ? &target : nullptr);

  // (1) Equal to the independently iterated fixed point of the closed forms.
  EXPECT_LT(max_abs_diff(net.state().u_P, fixed.u_P), 1e-12);
  EXPECT_LT(max_abs_diff(net.state().u_I, fixed.u_I), 1e-12);
  // (2) Each population equals its closed form, evaluated on the dendrites of the settled state.
  const Activity a = net.activity();
  for (int k = 1; k <= p.n_top(); ++k) {
    const Vector& u = net.state().u_P[k];
    const Vector expected = p.is_hidden(k) ? hidden_steady_state(p, a.v_B[k], a.v_A[k])
                                           : output_steady_state(p, a.v_B[k], c.target ? &target : nullptr);
    EXPECT_LT((u - expected).cwiseAbs().maxCoeff(), 1e-12) << "pyramids of layer " << k;
    if (!p.is_hidden(k)) continue;
    EXPECT_GT(a.v_A[k].norm(), 1e-3) << "the test needs non-zero apical potentials";
    const Vector uI = interneuron_steady_state(p, a.v_I[k], net.state().u_P[k + 1]);
    EXPECT_LT((net.state().u_I[k] - uI).cwiseAbs().maxCoeff(), 1e-12) << "interneurons of layer " << k;
  }
  // (3) The mixing-factor form of spec 3.5 for the hidden layers: u = vhat_B + lambda_A v_A.
  const Derived d(p);
  for (int k = 1; k < p.n_top(); ++k) {
    const Vector mixed = d.k_B * a.v_B[k] + d.lambda_A * a.v_A[k];
    EXPECT_LT((net.state().u_P[k] - mixed).cwiseAbs().maxCoeff(), 1e-12);
  }
  if (c.target && c.nudging == NudgingForm::current) {
    const int N = p.n_top();
    const Vector mixed = (1 - d.lambda_out) * d.k_B_out * a.v_B[N] + d.lambda_out * target;
    EXPECT_LT((net.state().u_P[N] - mixed).cwiseAbs().maxCoeff(), 1e-12);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Microcircuit, MicrocircuitFixedPoint,
    ::testing::Values(
        Case{"regression_net_target", {30, 20, 10}, TransferKind::soft_relu, false, true, NudgingForm::current},
        Case{"no_target", {30, 20, 10}, TransferKind::soft_relu, false, false, NudgingForm::current},
        Case{"two_hidden_logistic_bias", {12, 9, 7, 5}, TransferKind::logistic, true, true, NudgingForm::current},
        Case{"conductance_nudging_clipped",
             {12, 9, 7, 5},
             TransferKind::soft_relu,
             false,
             true,
             NudgingForm::conductance}),
    [](const ::testing::TestParamInfo<Case>& param_info) { return std::string(param_info.param.name); });

TEST(MicrocircuitSelfPredicting, ApicalSilentAndInterneuronsMatchTheLayerAbove) {
  // Spec 12.2: with W^PI and W^IP from the closed form of 4.2 and no target, the settled network has every apical
  // potential 0, u^I_k = u^P_{k+1}, and computes the feedforward function u_k = vhat_B,k layer by layer.
  for (bool bias : {false, true}) {
    Params p = frozen_params({30, 20, 15, 10});
    p.init_up = p.init_down = 1.0;
    p.bias = bias;
    Weights w = Weights::random(p, 5);
    if (bias) {
      for (int k = 1; k <= p.n_top(); ++k) w.up_bias[k] = uniform_vector(p.size(k), -1, 1, 6, "test.bias");
    }
    w.make_self_predicting(p);
    const Vector input = uniform_vector(p.n_input(), 0, 1, 7, "test.input");
    Network net(p, w, 1);
    settle(net, input, 200.0);
    const Activity a = net.activity();
    const Potentials ff = feedforward(p, w, input);
    for (int k = 1; k < p.n_top(); ++k) {
      EXPECT_LT(a.v_A[k].cwiseAbs().maxCoeff(), 1e-13) << "apical potential of layer " << k << " bias " << bias;
      EXPECT_GT((w.down[k] * a.r[k + 1]).norm(), 0.01) << "the top-down input itself is not small";
      EXPECT_LT((net.state().u_I[k] - net.state().u_P[k + 1]).cwiseAbs().maxCoeff(), 1e-13);
      EXPECT_LT((ff.u_I[k] - ff.u_P[k + 1]).cwiseAbs().maxCoeff(), 1e-13);
    }
    EXPECT_LT(max_abs_diff(net.state().u_P, ff.u_P), 1e-13);

    // Plasticity switched on in this state changes nothing: every induction term of Eqs. 7-9 vanishes.
    Params plastic = p;
    plastic.eta_up = {0.01, 0.01, 0.01};
    plastic.eta_ip = {0.01, 0.01};
    plastic.eta_pi = {0.01, 0.01};
    Network learner(plastic, w, 1);
    learner.state().u_P = net.state().u_P;
    learner.state().u_I = net.state().u_I;
    learner.state().r_in = net.state().r_in;
    learner.state().pattern = net.state().pattern;
    learner.set_noise(false);
    learner.run(500);
    for (int k = 1; k <= p.n_top(); ++k) {
      EXPECT_LT((learner.weights().up[k] - w.up[k]).cwiseAbs().maxCoeff(), 1e-15) << "W_up " << k;
      if (!p.is_hidden(k)) continue;
      EXPECT_LT((learner.weights().ip[k] - w.ip[k]).cwiseAbs().maxCoeff(), 1e-15) << "W_ip " << k;
      EXPECT_LT((learner.weights().pi[k] - w.pi[k]).cwiseAbs().maxCoeff(), 1e-15) << "W_pi " << k;
    }
  }
}

TEST(MicrocircuitSelfPredicting, ATargetOpensAnApicalError) {
  // Spec 4.2 / 7: a self-predicting network nudged at the output leaves the self-predicting state: apical
  // potentials become non-zero and the hidden layer moves away from its basal prediction by lambda_A v_A.
  Params p = frozen_params({30, 20, 10});
  p.init_up = p.init_down = 1.0;
  const Weights w = Weights::self_predicting(p, 8);
  const Vector input = uniform_vector(p.n_input(), 0, 1, 9, "test.input");
  const Vector target = uniform_vector(p.n_output(), -1, 1, 10, "test.target");
  Network net(p, w, 1);
  net.set_target(to_std(target));
  settle(net, input, 200.0);
  const Activity a = net.activity();
  EXPECT_GT(a.v_A[1].norm(), 1e-3);
  const Potentials ff = feedforward(p, w, input);
  EXPECT_GT((net.state().u_P[1] - ff.u_P[1]).norm(), 1e-4);
  const Potentials fixed = fixed_point(p, w, input, &target);
  EXPECT_LT(max_abs_diff(net.state().u_P, fixed.u_P), 1e-12);
}

TEST(MicrocircuitFixedPointSolver, ReportsNonConvergence) {
  Params p = frozen_params({5, 5, 5});
  p.transfer.gamma = 10;  // slope 10: the recurrent loop amplifies
  p.g_A = 5;
  p.g_som = p.g_som_interneuron = 5;
  p.init_up = p.init_down = p.init_ip = p.init_pi = 40.0;
  const Weights w = Weights::random(p, 1);
  const Vector input = Vector::Constant(5, 0.5);
  try {
    fixed_point(p, w, input, nullptr, 1e-14, 50);
    FAIL() << "expected non-convergence";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did not converge"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace apical::microcircuit
