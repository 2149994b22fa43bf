// SPDX-License-Identifier: Apache-2.0
#include "apical/models/segregated/params.hpp"

#include "apical/core/error.hpp"
#include "apical/core/math.hpp"

#include <cmath>

namespace apical::segregated {
namespace {

void require_positive(double v, const char* key) {
  if (!(v > 0) || !std::isfinite(v)) fail("{} = {} is out of range: must be a finite number > 0", key, v);
}
void require_nonnegative(double v, const char* key) {
  if (!(v >= 0) || !std::isfinite(v)) fail("{} = {} is out of range: must be a finite number >= 0", key, v);
}

}  // namespace

void Params::validate() const {
  if (layers.empty()) fail("model.layers is empty: give the sizes of the non-input layers, e.g. [500, 10]");
  for (std::size_t m = 0; m < layers.size(); ++m) {
    if (layers[m] < 1) fail("model.layers[{}] = {} is out of range: every layer needs at least 1 neuron", m, layers[m]);
  }
  if (neurons_per_class < 1) fail("model.neurons_per_class = {} is out of range: must be >= 1", neurons_per_class);
  if (layers.back() % neurons_per_class != 0 || layers.back() / neurons_per_class < 2) {
    fail("model.layers: the output layer has {} neurons, which is not model.neurons_per_class = {} neurons for each "
         "of at least 2 classes (MNIST: 10 x neurons_per_class)",
         layers.back(), neurons_per_class);
  }
  if (n_input < 1) fail("model.n_input = {} must be >= 1", n_input);
  if (learning_rates.size() != layers.size()) {
    fail("training.learning_rates has {} values but model.layers has {} layers: give one learning rate per "
         "non-input layer (first hidden ... output), e.g. [0.21, 0.21] for layers [500, 10]",
         learning_rates.size(), layers.size());
  }
  for (std::size_t m = 0; m < learning_rates.size(); ++m) {
    if (!(learning_rates[m] > 0) || !std::isfinite(learning_rates[m])) {
      fail("training.learning_rates[{}] = {} is out of range: must be a finite number > 0", m, learning_rates[m]);
    }
  }
  require_positive(g_L, "model.g_L");
  require_nonnegative(g_B, "model.g_B");
  require_nonnegative(g_A, "model.g_A");
  require_nonnegative(g_D, "model.g_D");
  require_positive(lambda_max, "model.lambda_max");
  if (dt != 1.0) {
    fail("model.dt = {} is not supported: the model is defined for dt = 1 ms (kernel, phase lengths, windows and "
         "Euler factors are all in steps of 1 ms)", dt);
  }
  require_positive(tau_s, "model.tau_s");
  require_positive(tau_L, "model.tau_L");
  if (tau_s == tau_L) fail("model.tau_s and model.tau_L are both {}: the PSP kernel needs tau_L != tau_s", tau_s);
  if (kernel_steps < 1 || kernel_steps > 1000) fail("model.kernel_steps = {} is out of range [1, 1000]", kernel_steps);
  if (phase_min_steps < 2) fail("phases.min_steps = {} is out of range: must be >= 2", phase_min_steps);
  require_positive(phase_extra_mean, "phases.extra_mean");
  require_positive(phase_extra_shape, "phases.extra_shape");
  if (mode == Mode::spiking) {
    if (window == WindowRule::code && (window_steps < 1 || window_steps > phase_min_steps)) {
      fail("phases.window_steps = {} is out of range: must be in [1, phases.min_steps = {}]", window_steps,
           phase_min_steps);
    }
    if (window == WindowRule::paper && (settle_steps < 0 || settle_steps >= phase_min_steps)) {
      fail("phases.settle_steps = {} is out of range: must be in [0, phases.min_steps - 1 = {}]", settle_steps,
           phase_min_steps - 1);
    }
    if (test_steps < 1) fail("test.steps = {} is out of range: must be >= 1", test_steps);
    if (test_settle_steps < 0 || test_settle_steps >= test_steps) {
      fail("test.settle_steps = {} is out of range: must be in [0, test.steps - 1 = {}]", test_settle_steps,
           test_steps - 1);
    }
    if (plateau != PlateauTiming::synchronous) {
      const int avg = plateau == PlateauTiming::stochastic_code ? window_steps : settle_steps;
      if (avg + 5 > phase_min_steps) {
        fail("model.plateau = stochastic needs phases.min_steps >= averaging window + 5 (= {}), got {}", avg + 5,
             phase_min_steps);
      }
    }
  }
  require_positive(P_hidden, "training.P_hidden");
  require_positive(P_output, "training.P_output");
  require_positive(init_V_avg, "init.V_avg");
  require_positive(init_V_sd, "init.V_sd");
  require_nonnegative(init_b_sd, "init.b_sd");
  require_nonnegative(symmetric_noise_sd, "model.symmetric_noise_sd");
  if (!(feedback_sparsity >= 0 && feedback_sparsity < 1)) {
    fail("model.feedback_sparsity = {} is out of range: the fraction of zeroed feedback weights must be in [0, 1)",
         feedback_sparsity);
  }
  require_positive(feedback_sparse_gain, "model.feedback_sparse_gain");
  require_nonnegative(feedback_learning_rate, "training.feedback_learning_rate");
  if (feedback_learning_rate > 0 && feedback == FeedbackKind::symmetric) {
    fail("training.feedback_learning_rate = {} learns Y, but model.feedback = symmetric sets Y from W after every "
         "example: use one or the other",
         feedback_learning_rate);
  }
  if (n_layers() < 2 && (feedback == FeedbackKind::symmetric || feedback_sparsity > 0 || hidden_rule == HiddenRule::backprop ||
                          plateau != PlateauTiming::synchronous || feedback_bias || feedback_learning_rate > 0 ||
                          feedback_routing != FeedbackRouting::broadcast)) {
    fail("model.layers = [{}] has no hidden layer, so the feedback options (model.feedback, "
         "model.feedback_sparsity, model.hidden_rule, model.plateau, model.feedback_bias, model.feedback_routing, "
         "training.feedback_learning_rate) have nothing to act on; "
         "leave them at their defaults",
         layers.back());
  }
}

double psp_kernel(double t, double tau_s, double tau_L) {
  return (math::exp(-t / tau_L) - math::exp(-t / tau_s)) / (tau_L - tau_s);
}

Derived::Derived(const Params& p)
    : k_B(p.g_B / (p.g_L + p.g_B + p.g_A)),
      k_D(p.g_D / (p.g_L + p.g_D)),
      decay_L(math::exp(-p.dt / p.tau_L)),
      decay_s(math::exp(-p.dt / p.tau_s)) {
  kappa.resize(static_cast<std::size_t>(p.kernel_steps));
  for (int d = 1; d <= p.kernel_steps; ++d) kappa[static_cast<std::size_t>(d - 1)] = psp_kernel(d * p.dt, p.tau_s, p.tau_L);
}

InitMoments init_moments(const Params& p, int n_inputs) {
  // Spec 8.2: presynaptic rates ~ nu * voltage with voltage moments (V_avg, V_sm); solve for the weight moments
  // that give the postsynaptic dendrite the same mean and second moment.
  const double n = n_inputs;
  const double nu = p.lambda_max / 4.0;
  const double v_avg = p.init_V_avg;
  const double v_sm = p.init_V_sd * p.init_V_sd + v_avg * v_avg;
  const double b_avg = p.init_b_avg;
  InitMoments m;
  m.W_avg = (v_avg - b_avg) / (nu * n * v_avg);
  const double w_sm = (v_sm + nu * nu * (n - n * n) * m.W_avg * m.W_avg * v_avg * v_avg -
                       2.0 * n * nu * b_avg * v_avg * m.W_avg - b_avg * b_avg) /
                      (n * nu * nu * v_sm);
  // Algebraically the variance is [V_sd^2 + (V_avg - b_avg)^2 / N] / (N nu^2 V_sm) - W_avg^2 > 0 for V_sd > 0;
  // the check below only guards against rounding for extreme settings.
  const double variance = w_sm - m.W_avg * m.W_avg;
  if (!(variance > 0) || !std::isfinite(variance) || !std::isfinite(m.W_avg)) {
    fail("init.V_avg = {}, init.V_sd = {}, init.b_avg = {} give no valid weight distribution for a layer with {} "
         "inputs (weight variance {}): choose a bias mean below the mean dendritic potential and a larger V_sd",
         v_avg, p.init_V_sd, b_avg, n_inputs, variance);
  }
  m.W_sd = std::sqrt(variance);
  return m;
}

}  // namespace apical::segregated
