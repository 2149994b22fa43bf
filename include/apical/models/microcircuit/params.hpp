// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parameters of the dendritic cortical microcircuit of Sacramento, Ponte Costa, Bengio & Senn (NeurIPS 2018,
// arXiv 1810.11393). Defaults are the project's decisions of ../shared/spec/dendritic-microcircuits.md section
// 10: the "community values" every reimplementation agrees on for what the paper leaves to its supplement
// (sections 3.6, 5.2, 5.3, 6.1), and the paper's own values where it gives them. The defaults describe the
// paper's nonlinear-regression student (Fig 2: 30-50-10, soft-ReLU, sigma = 0.3, its learning rates); the other
// experiments override what differs. Every alternative is a named switch, documented in
// docs/models/dendritic-microcircuits.md.
//
// Units: time in ms, conductances in 1/ms (membrane capacitance 1), potentials dimensionless with rest 0, rates
// in the units of the transfer function. Layers are indexed as in the paper: k = 0 is the input, k = N the
// output, 0 < k < N the hidden layers.

#include <cstdint>
#include <vector>

namespace apical::microcircuit {

/// Transfer function phi(u) (spec 3.4).
enum class TransferKind {
  soft_relu,  ///< phi(u) = gamma ln(1 + exp(beta (u - theta))); gamma = beta = 1, theta = 0 is plain softplus
  logistic,   ///< phi(u) = 1 / (1 + exp(-u)) (the paper's MNIST units)
};

/// Teaching input of the output neurons and the interneurons (spec 3.2, decision 10.8).
enum class NudgingForm {
  current,      ///< i = g_som (u_target - u): the simple form (default)
  conductance,  ///< i = g_exc (E_exc - u) + g_inh (E_inh - u) with balanced conductances clipped at 0; equal to
                ///< the current form unless u_target lies outside [E_inh, E_exc]
};

/// Discretisation of the noise term sigma xi(t) (decision 10.7).
enum class NoiseScaling {
  euler_maruyama,  ///< sigma sqrt(dt) N(0, 1) per step: a white-noise current of intensity sigma (default)
  per_step,        ///< dt sigma N(0, 1) per step, as the reimplementations [R-E, R-H, R-M] (sqrt(10) weaker)
};

/// The transfer function with its parameters, phi(u) and its derivative.
struct Transfer {
  TransferKind kind = TransferKind::soft_relu;
  double gamma = 0.1;  ///< soft-ReLU: scale (maximum slope gamma beta)
  double beta = 1.0;   ///< soft-ReLU: steepness (1 / potential unit)
  double theta = 3.0;  ///< soft-ReLU: threshold (potential)

  double operator()(double u) const;
  double derivative(double u) const;
};

/// All parameters of one microcircuit network with the full continuous-time dynamics. Plain data; validate()
/// checks it as a whole and names the config key of anything out of range.
struct Params {
  // Architecture (spec 2).
  std::vector<int> layers = {30, 50, 10};  ///< sizes of all layers, input first ("30-50-10"); N = size - 1
  bool bias = false;  ///< learnable thresholds: an extra presynaptic input fixed at 1 with a plastic weight (3.4)

  // Neurons (spec 3, 3.6; community values, decision 10.1).
  double g_lk = 0.1;               ///< leak conductance (1/ms)
  double g_B = 1.0;                ///< basal dendrite -> soma (1/ms)
  double g_A = 0.8;                ///< apical dendrite -> soma, hidden pyramids (1/ms)
  double g_D = 1.0;                ///< interneuron dendrite -> soma (1/ms)
  double g_som = 0.8;              ///< output nudging conductance (1/ms)
  double g_som_interneuron = 0.8;  ///< interneuron nudging conductance (1/ms; the paper leaves it to the SM)
  NudgingForm nudging = NudgingForm::current;
  double E_exc = 1.0;   ///< excitatory reversal potential (conductance nudging only; [R-M])
  double E_inh = -1.0;  ///< inhibitory reversal potential (conductance nudging only; [R-M])
  Transfer transfer{};  ///< soft-ReLU gamma = 0.1, beta = 1, theta = 3 [P, Fig 2]

  // Dynamics (spec 6.1).
  double dt = 0.1;                ///< Euler step (ms)
  double pattern_duration = 100;  ///< presentation time of one pattern (ms); a multiple of dt
  double input_tau = 3.0;         ///< low-pass filter of the input rates, tau_0 (ms); 0 = no smoothing
  bool smooth_target = false;     ///< also low-pass filter the output target with input_tau ([R-H])
  double sigma = 0.3;             ///< noise amplitude (potential / sqrt(ms) for euler_maruyama); Fig 1, S1: 0.1
  NoiseScaling noise_scaling = NoiseScaling::euler_maruyama;

  // Plasticity (spec 5; learning rates of 5.3, Fig 2 row). 0 freezes a weight class.
  double tau_w = 30.0;  ///< low-pass filter of the plasticity induction (ms); 0 = apply the induction directly
  std::vector<double> eta_up = {0.0011875, 0.0005};  ///< W^PP_{k,k-1}, Eq. 7, one per k = 1..N (1/ms)
  std::vector<double> eta_down = {0.0};              ///< W^PP_{k,k+1}, Eq. 10, one per hidden k = 1..N-1
  std::vector<double> eta_ip = {0.0011875};          ///< W^IP_{k,k}, Eq. 8, one per hidden k
  std::vector<double> eta_pi = {0.0059375};          ///< W^PI_{k,k}, Eq. 9, one per hidden k
  double learning_lag = 0.0;  ///< no plasticity for this long after each pattern onset (ms; [R-H]; 0 = paper)
  bool reset_traces = false;  ///< zero the low-pass plasticity traces at each pattern onset (diagnostic)

  // Random initialisation (spec 4.1, decision 10.3): every weight ~ U(-scale, scale), biases 0.
  double init_up = 0.1;    ///< W^PP_{k,k-1}
  double init_down = 1.0;  ///< W^PP_{k,k+1} (the paper chose a large top-down scale for strong feedback)
  double init_ip = 0.1;    ///< W^IP_{k,k}
  double init_pi = 0.1;    ///< W^PI_{k,k}

  /// Throws apical::Error naming the parameter by its config key and giving the valid range.
  void validate() const;

  /// N: the index of the output layer.
  int n_top() const { return static_cast<int>(layers.size()) - 1; }
  /// Neurons in layer k (k = 0 is the input).
  int size(int k) const { return layers[static_cast<std::size_t>(k)]; }
  int n_input() const { return layers.front(); }
  int n_output() const { return layers.back(); }
  /// True for 0 < k < N.
  bool is_hidden(int k) const { return k > 0 && k < n_top(); }
};

/// Constants derived once from Params: attenuation factors of the dendritic predictions and mixing factors of
/// the steady states (spec 3.5), and the per-step factors of the Euler scheme.
struct Derived {
  double k_B = 0;                  ///< hidden basal prediction: g_B / (g_lk + g_B + g_A)
  double k_B_out = 0;              ///< output basal prediction: g_B / (g_lk + g_B)
  double k_D = 0;                  ///< interneuron dendritic prediction: g_D / (g_lk + g_D)
  double lambda_A = 0;             ///< hidden mixing factor: g_A / (g_lk + g_B + g_A)
  double lambda_out = 0;           ///< output mixing factor: g_som / (g_lk + g_B + g_som)
  double lambda_I = 0;             ///< interneuron mixing factor: g_som_int / (g_lk + g_D + g_som_int)
  std::int64_t pattern_steps = 0;  ///< steps per pattern
  std::int64_t lag_steps = 0;      ///< steps without plasticity after a pattern onset
  double input_alpha = 1;          ///< dt / tau_0 (1 = no smoothing)
  double trace_alpha = 1;          ///< dt / tau_w (1 = no filtering)
  double noise_step = 0;           ///< factor of N(0, 1) per step: sigma sqrt(dt) or sigma dt
  explicit Derived(const Params& p);
};

/// A teaching input written as i = g_total (u_eff - u) = drive - g_total u: the current form gives
/// g_total = g_som, drive = g_som u_target; the conductance form g_total = g_exc + g_inh,
/// drive = g_exc E_exc + g_inh E_inh with both conductances clipped at 0 (spec 3.2).
struct Nudge {
  double g_total = 0;
  double drive = 0;
};
Nudge nudge(const Params& p, double g_som, double u_target);

/// Factor c of the self-predicting interneuron weights W^IP_{k,k} = c W^PP_{k+1,k} (spec 4.2): the ratio of the
/// basal attenuation of layer k + 1 to the interneuron's dendritic attenuation,
/// c = g_B (g_lk + g_D) / (g_D (g_lk + g_B + g_A^{(k+1)})), with g_A^{(k+1)} = 0 if layer k + 1 is the output.
double self_predicting_ip_factor(const Params& p, int k);

}  // namespace apical::microcircuit
