// SPDX-License-Identifier: Apache-2.0
#pragma once

// The dendritic cortical microcircuit (Sacramento et al. 2018) with its full continuous-time dynamics (spec
// sections 2-6.1): weights, state, the Euler time step with always-on, low-pass filtered plasticity, and the
// random and self-predicting initialisations.
//
// Structure (spec 2). Layer 0 is the input, whose rates r_0 are set from outside (low-pass filtered patterns).
// Each hidden layer 0 < k < N has n_k pyramidal neurons (basal, apical, soma) and n_{k+1} interneurons
// (dendrite, soma), interneuron i being nudged one-to-one by pyramid i of layer k + 1. The output layer N has
// pyramidal neurons with a basal dendrite and a soma, nudged towards a target potential. Weights, traces and
// potentials are stored per layer and indexed by the paper's k, so up[k] is W^PP_{k,k-1}; entries of classes a
// layer does not have are empty. Matrices are row-major (n_post x n_pre), the layout of the .npy files.
//
// Randomness: initial weights from the streams "init.up", "init.down", "init.ip", "init.pi" (index k), noise
// from "noise.pyramid" and "noise.interneuron" (index k), one stream per population, drawn in neuron order.

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "apical/core/rng.hpp"
#include "apical/models/microcircuit/params.hpp"

namespace apical::microcircuit {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// The four weight classes (spec 2), indexed by the layer k they belong to; unused entries are empty.
struct Weights {
  std::vector<Matrix> up;    ///< up[k] = W^PP_{k,k-1}, bottom-up into layer k's basal dendrites (n_k x n_{k-1})
  std::vector<Matrix> down;  ///< down[k] = W^PP_{k,k+1}, top-down into layer k's apical dendrites (n_k x n_{k+1})
  std::vector<Matrix> ip;    ///< ip[k] = W^IP_{k,k}, layer-k pyramids -> interneurons (n_{k+1} x n_k)
  std::vector<Matrix> pi;    ///< pi[k] = W^PI_{k,k}, interneurons -> layer-k apical dendrites (n_k x n_{k+1})
  std::vector<Vector> up_bias;  ///< learnable thresholds of layer k's pyramids (n_k); empty unless Params::bias
  std::vector<Vector> ip_bias;  ///< learnable thresholds of layer k's interneurons (n_{k+1}); idem

  /// Spec 4.1: every weight ~ U(-scale, scale) with the four scales init_up, init_down, init_ip, init_pi; biases
  /// 0. Not self-predicting.
  static Weights random(const Params& p, std::uint64_t seed);
  /// Random W^PP (bottom-up and top-down) as in random(), then the closed-form self-predicting lateral weights
  /// (make_self_predicting).
  static Weights self_predicting(const Params& p, std::uint64_t seed);
  /// Spec 4.2: W^PI_{k,k} = -W^PP_{k,k+1} and W^IP_{k,k} = c_k W^PP_{k+1,k} (c_k = self_predicting_ip_factor),
  /// interneuron thresholds c_k b^PP_{k+1}. With no target this cancels every apical potential at the fixed point.
  void make_self_predicting(const Params& p);
  /// Throws apical::Error unless every matrix has the shape Params describes.
  void check_shapes(const Params& p) const;
};

/// Rates and dendritic potentials of one state (spec 3.1-3.3): pure functions of the somatic potentials, the
/// input rates and the weights, since the dendrites have no dynamics of their own.
struct Activity {
  std::vector<Vector> r;    ///< r[k] = phi(u^P_k), k = 1..N; r[0] = the input rates
  std::vector<Vector> r_I;  ///< r_I[k] = phi(u^I_k), hidden k
  std::vector<Vector> v_B;  ///< basal potentials W^PP_{k,k-1} r_{k-1} (+ b_k), k = 1..N
  std::vector<Vector> v_A;  ///< apical potentials W^PP_{k,k+1} r_{k+1} + W^PI_{k,k} r_I_k, hidden k
  std::vector<Vector> v_I;  ///< interneuron dendrites W^IP_{k,k} r_k (+ b^I_k), hidden k
};

/// Rates and dendritic potentials for given somatic potentials (u_P[k], k = 1..N; u_I[k], hidden k).
Activity compute_activity(const Params& p, const Weights& w, const Vector& r_0, const std::vector<Vector>& u_P,
                          const std::vector<Vector>& u_I);

/// An instantaneous plasticity induction term post pre^T (spec 5.1); with Params::bias the threshold's term is
/// post (its presynaptic input is 1).
struct Factors {
  Vector post;
  Vector pre;
  Matrix outer() const { return post * pre.transpose(); }
};

/// The induction terms of Eqs. 7-10 for one state, per layer k (unused entries empty).
struct Induction {
  std::vector<Factors> up;    ///< Eq. 7: (phi(u^P_k) - phi(vhat_B,k)) r_{k-1}^T, k = 1..N
  std::vector<Factors> down;  ///< Eq. 10: (phi(u^P_k) - phi(W^PP_{k,k+1} r_{k+1})) r_{k+1}^T, hidden k
  std::vector<Factors> ip;    ///< Eq. 8: (phi(u^I_k) - phi(vhat^I_k)) r_k^T, hidden k
  std::vector<Factors> pi;    ///< Eq. 9: (v_rest - v^P_{A,k}) r_I_k^T with v_rest = 0, hidden k
};

/// Everything that evolves in time apart from the weights.
struct State {
  std::vector<Vector> u_P;  ///< somatic potentials of the pyramids, k = 1..N (u_P[0] empty)
  std::vector<Vector> u_I;  ///< somatic potentials of the interneurons, hidden k
  Vector r_in;              ///< low-pass filtered input rates r^P_0
  Vector pattern;           ///< the pattern presented now (what r_in relaxes to)
  Vector target;            ///< output target potential in use (filtered if Params::smooth_target)
  Vector target_pattern;    ///< the target given with set_target (what target relaxes to)
  bool nudged = false;      ///< output teaching current on
  /// Low-pass filtered induction Delta of each plastic class (spec 5.2), same shapes as the weights; kept only
  /// for classes with a non-zero learning rate.
  std::vector<Matrix> d_up, d_down, d_ip, d_pi;
  std::vector<Vector> d_up_bias, d_ip_bias;
  std::vector<Stream> noise_P, noise_I;  ///< per population (index k)
  std::int64_t step = 0;                 ///< steps since the start (time = step * dt)
  std::int64_t pattern_step = 0;         ///< steps since the current pattern's onset
};

/// The network and its Euler integration (spec 6.1).
class Network {
 public:
  /// Called after every step by run().
  using Observer = std::function<void(const Network&)>;

  /// Validates the parameters and weight shapes. All potentials, rates, traces start at 0; no target.
  Network(Params params, Weights weights, std::uint64_t seed);

  const Params& params() const { return params_; }
  const Derived& derived() const { return derived_; }
  const Weights& weights() const { return weights_; }
  Weights& weights() { return weights_; }
  const State& state() const { return state_; }
  State& state() { return state_; }

  /// Replaces the parameters of a running network (e.g. the learning rates between the phases of an experiment):
  /// everything may change except model.layers and model.bias. Traces of classes that become plastic start at 0.
  void set_params(const Params& params);

  /// A new input pattern (rates r_pattern, n_0 values): the pattern onset for the learning lag and trace reset.
  void set_input(std::span<const double> rates);
  /// Turns on the output teaching current towards u_target (n_N potentials).
  void set_target(std::span<const double> u_target);
  /// Turns the output teaching current off (i^P_N = 0).
  void clear_target();
  /// Plasticity on (the paper: always) or off (e.g. to measure a test error on a copy of the network).
  void set_learning(bool on) { learning_ = on; }
  bool learning() const { return learning_; }
  /// Noise on (default) or off (the paper measures test errors with sigma = 0).
  void set_noise(bool on) { noise_ = on; }
  bool noise() const { return noise_; }

  /// One Euler step of dt (see the schedule in network.cpp).
  void step();
  /// `steps` steps, calling `observe` after each one.
  void run(std::int64_t steps, const Observer& observe = {});
  /// set_input(rates), then one pattern duration (Params::pattern_duration) of steps. Checks that the state
  /// stayed finite (guard rail).
  void present(std::span<const double> rates, const Observer& observe = {});

  /// Rates and dendritic potentials of the current state.
  Activity activity() const;
  /// Induction terms of Eqs. 7-10 for the current potentials and the given activity of this state.
  Induction induction(const Activity& a) const;
  /// Throws apical::Error naming the population and neuron if a potential is not finite.
  void check_finite() const;

 private:
  void apply_plasticity(const Activity& a);
  void allocate_traces();

  Params params_;
  Derived derived_;
  Weights weights_;
  State state_;
  bool learning_ = true;
  bool noise_ = true;
  // Workspace of step(), kept to avoid allocations in the inner loop.
  Activity act_;
  Induction ind_;
  std::vector<Vector> du_P_, du_I_;
  Vector scratch_;
};

}  // namespace apical::microcircuit
