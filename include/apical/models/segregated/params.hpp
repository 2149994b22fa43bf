// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parameters of the segregated-dendrites network of Guerguiev, Lillicrap & Richards (eLife 2017;6:e22901).
// Defaults are the project's decisions (spec section A): the code version the paper cites (23f2c66) without its
// feedback bias. Every paper/code difference (spec sections 14-15) is a named switch documented in
// docs/models/segregated-dendrites.md. Units: ms, spikes/ms, dimensionless voltages ("V" in the paper).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace apical::segregated {

enum class Mode { spiking, nonspiking };               ///< A.16: nonspiking = the authors' later rate mode
enum class InitScheme { cited, head };                 ///< section 8: 23f2c66 (paper era) or the later HEAD code
enum class WindowRule { code, paper };                 ///< A.4: last 20 steps, or phase length - 30
enum class KernelKind { truncated, exact };            ///< A.6: 10-step kappa(1..10), or untruncated recursive
enum class PlateauTiming { synchronous, stochastic_code, stochastic_paper };  ///< A.8, section 5.1
enum class FeedbackSignal { spikes, rates };           ///< section 9: spiking feedback or rate feedback (Fig 7A)
enum class FeedbackKind { random, symmetric };         ///< section 9: fixed random Y, or Y = W^T re-synced
enum class HiddenRule { local, backprop };             ///< section 9: local plateau rule, or backprop (Fig 7B)
enum class Readout { voltage, rate };                  ///< A.11: argmax of mean U (code, Methods) or of mean rate
enum class FeedbackRouting { broadcast, layerwise };   ///< section 1: from the output layer, or from the layer above

/// All parameters of one network. Plain data; validate() checks it as a whole.
struct Params {
  Mode mode = Mode::spiking;
  int n_input = 784;                    ///< input units (one per pixel)
  std::vector<int> layers = {500, 10};  ///< sizes of the non-input layers; the last is the output layer
  int neurons_per_class = 1;            ///< output neurons per class (code option; the paper uses 1)

  // Neurons [P Tab1].
  double g_L = 0.1;          ///< leak conductance (1/ms; C_m = 1)
  double g_B = 0.6;          ///< basal -> soma conductance
  double g_A = 0.0;          ///< apical -> soma conductance (0 = total segregation; 0.05 strong, 0.6 weak attenuation)
  double g_D = 0.6;          ///< output dendrite -> soma conductance
  double E_E = 8.0;          ///< excitatory teaching reversal potential
  double E_I = -8.0;         ///< inhibitory teaching reversal potential
  double lambda_max = 0.2;   ///< maximum rate (spikes/ms)
  double dt = 1.0;           ///< time step (ms); the model is defined for dt = 1

  // Postsynaptic potentials [P Eq. 11-12].
  KernelKind kernel = KernelKind::truncated;
  double tau_s = 3.0;        ///< PSP rise time constant (ms)
  double tau_L = 10.0;       ///< PSP decay time constant (ms)
  int kernel_steps = 10;     ///< spike memory of the truncated kernel (steps)

  // Phases [P Methods; C].
  int phase_min_steps = 50;          ///< minimum forward / target phase length (steps)
  bool random_phase_lengths = true;  ///< extra length floor(Wald(mean, shape)) per phase (A.7)
  double phase_extra_mean = 2.0;     ///< Wald mean (ms)
  double phase_extra_shape = 1.0;    ///< Wald shape (ms)
  WindowRule window = WindowRule::code;
  int window_steps = 20;             ///< averaging window for WindowRule::code (steps)
  int settle_steps = 30;             ///< settling time before averaging for WindowRule::paper (steps)
  int test_steps = 250;              ///< test phase length (A.5; paper: 500)
  int test_settle_steps = 30;        ///< test averages start after this many steps (250 - 30 = 220 averaged)
  Readout readout = Readout::voltage;  ///< classification statistic of the test phase

  // Learning [P Eq. 29, 35].
  std::vector<double> learning_rates = {0.21, 0.21};  ///< one per non-input layer (A.15)
  double P_hidden = 100.0;   ///< P_0 = 20 / lambda_max
  double P_output = 500.0;   ///< P_1 = 20 / lambda_max^2

  // Initialisation [section 8].
  InitScheme weight_init = InitScheme::cited;
  InitScheme feedback_init = InitScheme::cited;
  double init_V_avg = 3.0;   ///< desired mean dendritic potential
  double init_V_sd = 3.0;    ///< desired SD of the dendritic potential
  double init_b_avg = 0.8;   ///< mean bias
  double init_b_sd = 0.001;  ///< bias SD
  bool feedback_bias = false;  ///< A.1: 23f2c66's apical bias c = Y r (off: the paper has none)

  // Variants [section 9].
  FeedbackKind feedback = FeedbackKind::random;
  FeedbackRouting feedback_routing = FeedbackRouting::broadcast;  ///< the paper: broadcast from the output layer
  double feedback_learning_rate = 0.0;  ///< code-only "inverse loss" rule for Y (spec 6.4); 0 = Y fixed (the paper)
  double symmetric_noise_sd = 0.0;   ///< SD of N(0, sd) added to Y at every re-sync (A.9; Fig 8D uses 0.05)
  double feedback_sparsity = 0.0;    ///< fraction of Y entries set to zero (Fig 8: 0.8)
  double feedback_sparse_gain = 5.0; ///< factor applied to Y after sparsification (Fig 8B: 5; Fig 8S1: 1 and 5)
  FeedbackSignal feedback_signal = FeedbackSignal::spikes;
  PlateauTiming plateau = PlateauTiming::synchronous;
  HiddenRule hidden_rule = HiddenRule::local;

  /// Throws apical::Error naming the parameter (by its config key) and the valid range.
  void validate() const;

  int n_layers() const { return static_cast<int>(layers.size()); }
  int n_output() const { return layers.back(); }
  int n_classes() const { return layers.back() / neurons_per_class; }
  /// Size of the feedback signal into hidden layer m: the output layer (broadcast) or layer m + 1 (layerwise).
  int n_feedback(int m) const {
    return feedback_routing == FeedbackRouting::broadcast ? layers.back() : layers[static_cast<std::size_t>(m + 1)];
  }
  /// Input size of non-input layer m (784 for m = 0).
  int n_pre(int m) const { return m == 0 ? n_input : layers[static_cast<std::size_t>(m - 1)]; }
};

/// Constants derived once from Params.
struct Derived {
  double k_B = 0;            ///< g_B / (g_L + g_B + g_A) [P Eq. 34]
  double k_D = 0;            ///< g_D / (g_L + g_D)
  std::vector<double> kappa; ///< kappa(1..K) of the truncated kernel; kappa[0] weights the current step's spikes
  double decay_L = 0;        ///< exp(-dt / tau_L), exact kernel
  double decay_s = 0;        ///< exp(-dt / tau_s), exact kernel
  explicit Derived(const Params& p);
};

/// kappa(t) = (exp(-t / tau_L) - exp(-t / tau_s)) / (tau_L - tau_s) [P Eq. 12].
double psp_kernel(double t, double tau_s, double tau_L);

/// Moments of the "weight optimisation" initialisation for a layer with n inputs (spec 8.2).
struct InitMoments {
  double W_avg = 0;
  double W_sd = 0;
};
InitMoments init_moments(const Params& p, int n_inputs);

}  // namespace apical::segregated
