// SPDX-License-Identifier: Apache-2.0
#pragma once

// The simplified steady-state ("two-sweep") microcircuit of Sacramento et al. 2018 used for MNIST (spec 6.2,
// 8.4, 8.5) and the rate-based baselines trained on the same architectures, data, initial forward weights and
// mini-batches (backprop, feedback alignment, direct feedback alignment, a shallow learner).
//
// Everything works on mini-batches held as row-major matrices, one row per example (B x n_k), so that every
// product is one Eigen GEMM. All units are logistic with learnable thresholds (spec 3.4).
//
// Two-sweep dynamics, self-consistent reading (decision 10.9; the default). With mixing factors lambda_k
// (hidden apical), lambda_N (output nudging) and lambda_I (interneuron nudging), i.e. the conductance ratios of
// spec 3.5 with g_lk -> 0:
//   upward, k = 1..N:  v_B,k = W_k r_{k-1} + b_k;  vhat_B,k = (1 - lambda_k) v_B,k (hidden), v_B,N (output);
//                      u_k = vhat_B,k;  interneurons v^I_k = W^IP_k r_k + b^I_k, u^I_k = v^I_k
//   output nudge:      u_N = (1 - lambda_N) v_B,N + lambda_N u_trgt
//   downward, k = N-1..1: u^I_k = (1 - lambda_I) v^I_k + lambda_I u_{k+1};
//                      v_A,k = W^down_k r_{k+1} + W^PI_k phi(u^I_k);  u_k = vhat_B,k + lambda_k v_A,k
// so that u_k = (1 - lambda_k) v_B,k + lambda_k v_A,k, the paper's convex combination, and the predictions
// vhat of Eqs. 7-8 equal the upward state. The literal reading (spec 6.2 as printed) uses u_k = v_B,k in the
// upward sweep and v_B,k as the prediction in Eq. 7.
//
// Plasticity (Eqs. 7-10), averaged over the mini-batch, with the state after both sweeps:
//   W_k    += eta_k / B   sum_b (phi(u_k) - phi(vhat_B,k)) r_{k-1}^T       (b_k: same post term)
//   W^IP_k += eta^IP_k / B sum_b (phi(u^I_k) - phi(v^I_k)) r_k^T           (b^I_k: same post term)
//   W^PI_k += eta^PI_k / B sum_b (0 - v_A,k) phi(u^I_k)^T
//   W^down_k += eta^down_k / B sum_b (phi(u_k) - phi(W^down_k r_{k+1})) r_{k+1}^T
// With `rescale` the bottom-up rates are divided by the factor by which the error is diluted on its way down
// (spec 7: "inverse mixing factor"): Lambda_N = lambda_N, Lambda_k = lambda_k (1 - lambda_I) Lambda_{k+1}.
//
// Randomness: initial weights from the streams "init.up", "init.down", "init.ip", "init.pi", "init.direct"
// (index k), each row by row; the same seed gives the same forward weights W_k (and W^down_k = the FA feedback)
// for every rule.

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apical/models/microcircuit/network.hpp"

namespace apical::microcircuit {

/// How the weights are learned.
enum class Rule {
  microcircuit,  ///< the dendritic microcircuit's two-sweep steady state with Eqs. 7-10
  backprop,      ///< gradient descent on the squared error of the output rates
  fa,            ///< feedback alignment (Lillicrap et al. 2016): W^T replaced by the fixed W^down_k
  dfa,           ///< direct feedback alignment (Nokland 2016): the output error through fixed D_k to every layer
  shallow,       ///< only the top layer W_N learns (the "shallow learner"; layers [784, 10] = single layer)
};
std::string_view rule_name(Rule rule);
/// "microcircuit", "backprop", "fa", "dfa", "shallow"; anything else throws apical::Error listing them.
Rule parse_rule(std::string_view name);

/// Spec 6.2 as printed (literal) or with attenuated predictions (self_consistent, decision 10.9).
enum class Reading { self_consistent, literal };

/// Parameters of a rate-based mini-batch network (the two-sweep microcircuit or a baseline).
struct SweepParams {
  std::vector<int> layers = {784, 500, 500, 10};  ///< all layer sizes, input first
  Rule rule = Rule::microcircuit;
  Reading reading = Reading::self_consistent;

  // Mixing factors (spec 6.2): conductance ratios, in [0, 1). Defaults (and those of eta_up, init_up) are the
  // values chosen on the MNIST validation set (docs/models/dendritic-microcircuits.md, "Tuning").
  double lambda_out = 0.3;  ///< output nudging, g_som / (g_B + g_som)
  double lambda_A = 0.3;    ///< hidden apical, g_A / (g_B + g_A)
  double lambda_I = 0.3;    ///< interneuron nudging, g_som,I / (g_D + g_som,I)

  // Learning rates per mini-batch update (dimensionless).
  std::vector<double> eta_up = {20.0, 0.00252, 0.012};  ///< W_k and b_k, one per k = 1..N
  std::vector<double> eta_ip;    ///< W^IP_k, one per hidden k; empty = tracking rate (tracking_eta_ip)
  std::vector<double> eta_pi;    ///< W^PI_k, one per hidden k; empty = all 0 (fixed)
  std::vector<double> eta_down;  ///< W^down_k by Eq. 10, one per hidden k; empty = all 0 (fixed)
  bool rescale = true;           ///< divide eta_up[k] by Lambda_k (the inverse mixing factor)

  // Initialisation: every weight ~ U(-a, a) with a = gain / sqrt(fan_in), thresholds 0.
  double init_up = 4.0;         ///< gain of W_k (fan-in n_{k-1})
  double init_down = 1.0;       ///< gain of W^down_k and of the FA feedback (fan-in n_{k+1})
  double init_ip = 1.0;         ///< gain of a random W^IP_k (fan-in n_k); unused when self_predicting
  double init_pi = 1.0;         ///< gain of a random W^PI_k (fan-in n_{k+1}); unused when self_predicting
  double init_direct = 1.0;     ///< gain of the DFA matrices D_k (fan-in n_N)
  bool self_predicting = true;  ///< closed-form self-predicting W^IP, W^PI (spec 4.2, in the two-sweep reading)

  // Targets (spec 8.4): one-hot rates.
  double target_low = 0.1;
  double target_high = 0.8;

  /// Throws apical::Error naming the config key and the valid range.
  void validate() const;
  int n_top() const { return static_cast<int>(layers.size()) - 1; }
  int size(int k) const { return layers[static_cast<std::size_t>(k)]; }
  bool is_hidden(int k) const { return k > 0 && k < n_top(); }
  /// lambda_A for hidden k, lambda_out for k = N.
  double lambda(int k) const { return k == n_top() ? lambda_out : lambda_A; }
  /// Lambda_k, the dilution of the output error at layer k (see the top of this file).
  double dilution(int k) const;
  /// eta_up[k - 1], divided by dilution(k) when rescale is on.
  double effective_eta_up(int k) const;
  /// eta^IP_k with which W^IP_k follows c_k W_{k+1} to first order: c_k eta_eff,k+1 / lambda_I.
  double tracking_eta_ip(int k) const;
  double eta_ip_at(int k) const;
  double eta_pi_at(int k) const;
  double eta_down_at(int k) const;
  /// The self-predicting factor c_k of W^IP_k = c_k W_{k+1}: (1 - lambda_{k+1}) below a hidden layer in the
  /// self-consistent reading, else 1.
  double ip_factor(int k) const;
};

/// Weights of a rate network: the microcircuit's four classes with thresholds (network.hpp's Weights, all
/// indexed by k) and, for DFA, the direct feedback matrices direct[k] (n_k x n_N, hidden k).
struct SweepWeights {
  Weights w;
  std::vector<Matrix> direct;

  static SweepWeights initial(const SweepParams& p, std::uint64_t seed);
  /// W^PI_k = -W^down_k, W^IP_k = c_k W_{k+1}, b^I_k = c_k b_{k+1}.
  void make_self_predicting(const SweepParams& p);
};

/// The state of a mini-batch after the sweeps (rows = examples). Indexed by k like Activity.
struct SweepState {
  std::vector<Matrix> u, r;           ///< somata and rates, k = 0..N (u[0] unused, r[0] = input)
  std::vector<Matrix> v_B, vhat_B;    ///< basal potentials and predictions, k = 1..N
  std::vector<Matrix> v_A;            ///< apical potentials, hidden k (zero after the upward sweep)
  std::vector<Matrix> u_I, r_I, v_I;  ///< interneurons, hidden k
  Matrix r_out_up;                    ///< output rates after the upward sweep (the prediction without nudging)
};

/// Upward sweep from input rates x (B x n_0).
SweepState upward(const SweepParams& p, const SweepWeights& w, const Matrix& x);
/// Output nudge (u_target: B x n_N potentials; null = no target) and downward sweep.
void downward(const SweepParams& p, const SweepWeights& w, SweepState& s, const Matrix* u_target);

/// Weight changes of one mini-batch (same layout as the weights; empty = no change).
struct SweepUpdate {
  std::vector<Matrix> up, down, ip, pi;
  std::vector<Vector> up_bias, ip_bias;
};

/// One-hot targets: rates (target_high for the label, target_low elsewhere) for B labels.
Matrix target_rates(const SweepParams& p, const std::vector<int>& labels);
/// logit of target_rates: the potentials the microcircuit's output is nudged towards.
Matrix target_potentials(const SweepParams& p, const std::vector<int>& labels);

/// The weight changes of one mini-batch under p.rule (already multiplied by the learning rates; add them).
/// `state`, if given, receives the state the changes were computed from.
SweepUpdate compute_update(const SweepParams& p, const SweepWeights& w, const Matrix& x,
                           const std::vector<int>& labels, SweepState* state = nullptr);
void apply_update(SweepWeights& w, const SweepUpdate& d);

/// The training step of the engine: compute_update and apply_update in one, with the weights changed in place by
/// the small-batch kernels of src/models/microcircuit/batch_kernels.hpp and every buffer kept from one mini-batch
/// to the next (no allocation after the first). It agrees with the reference pair to rounding (tested for every
/// rule, both readings and every plastic weight class); its summation order is fixed, so the same inputs give the
/// same weights on every machine and instruction set.
class SweepTrainer {
 public:
  explicit SweepTrainer(SweepParams p);
  /// Sweeps and learning of one mini-batch (x: B x n_0, B labels), the weights updated in place. Returns the
  /// state the changes were computed from (r_out_up: the prediction before learning); valid until the next call.
  const SweepState& train_batch(SweepWeights& w, const Matrix& x, const std::vector<int>& labels);

 private:
  void sweeps(const SweepWeights& w, const Matrix& x, const std::vector<int>& labels);
  void learn_microcircuit(SweepWeights& w);
  void learn_baseline(SweepWeights& w, const std::vector<int>& labels);

  SweepParams p_;
  SweepState s_;
  Matrix post_, tmp_;
  std::vector<Matrix> delta_;
};

/// The gradient of the baselines' loss L = 1/(2B) sum_b ||r_N - r_trgt||^2 by backprop (dL/dW, dL/db for every
/// layer), the reference of the finite-difference test. Rule-independent.
SweepUpdate loss_gradient(const SweepParams& p, const SweepWeights& w, const Matrix& x,
                          const std::vector<int>& labels);
double loss(const SweepParams& p, const SweepWeights& w, const Matrix& x, const std::vector<int>& labels);

/// Output rates of the feedforward (upward) sweep, no nudging: the readout at test time.
Matrix predict_rates(const SweepParams& p, const SweepWeights& w, const Matrix& x);
/// Index of the largest entry of each row.
std::vector<int> argmax_rows(const Matrix& m);

/// Throws apical::Error naming the weight class and layer if any weight is not finite (guard rail).
void check_finite(const SweepWeights& w);

}  // namespace apical::microcircuit
