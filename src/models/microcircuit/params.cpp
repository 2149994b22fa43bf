// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/params.hpp"

#include <algorithm>
#include <cmath>

#include "apical/core/error.hpp"

namespace apical::microcircuit {
namespace {

void require_positive(double v, const char* key) {
  if (!(v > 0) || !std::isfinite(v)) fail("{} = {} is out of range: must be a finite number > 0", key, v);
}
void require_nonnegative(double v, const char* key) {
  if (!(v >= 0) || !std::isfinite(v)) fail("{} = {} is out of range: must be a finite number >= 0", key, v);
}
void require_finite(double v, const char* key) {
  if (!std::isfinite(v)) fail("{} = {} is out of range: must be a finite number", key, v);
}

void require_rates(const std::vector<double>& eta, std::size_t expected, const char* key, const char* what,
                   int n_layers) {
  if (eta.size() != expected) {
    fail(
        "{} has {} values but model.layers has {} layers: give one learning rate per {} ({} values; 0 freezes "
        "a weight class)",
        key, eta.size(), n_layers, what, expected);
  }
  for (std::size_t i = 0; i < eta.size(); ++i) {
    if (!(eta[i] >= 0) || !std::isfinite(eta[i])) {
      fail("{}[{}] = {} is out of range: must be a finite number >= 0", key, i, eta[i]);
    }
  }
}

/// True if x is an integer multiple of dt (to rounding).
bool multiple_of(double x, double dt) {
  const double n = x / dt;
  return std::abs(n - std::round(n)) <= 1e-9 * std::max(1.0, n);
}

double softplus(double x) {
  return x > 30 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
double logistic(double x) {
  return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
}

}  // namespace

double Transfer::operator()(double u) const {
  // Spec 3.4: phi(u) = gamma ln(1 + exp(beta (u - theta))), or phi(u) = 1 / (1 + exp(-u)).
  if (kind == TransferKind::logistic) return logistic(u);
  return gamma * softplus(beta * (u - theta));
}

double Transfer::derivative(double u) const {
  // phi'(u) = gamma beta sigma(beta (u - theta)), or sigma(u) (1 - sigma(u)).
  if (kind == TransferKind::logistic) {
    const double s = logistic(u);
    return s * (1.0 - s);
  }
  return gamma * beta * logistic(beta * (u - theta));
}

void Params::validate() const {
  if (layers.size() < 2) {
    fail(
        "model.layers has {} entries: give the sizes of all layers, input first, at least input and output "
        "(e.g. [30, 50, 10])",
        layers.size());
  }
  for (std::size_t k = 0; k < layers.size(); ++k) {
    if (layers[k] < 1)
      fail("model.layers[{}] = {} is out of range: every layer needs at least 1 neuron", k, layers[k]);
  }
  require_positive(g_lk, "model.g_lk");
  require_positive(g_B, "model.g_B");
  require_nonnegative(g_A, "model.g_A");
  require_positive(g_D, "model.g_D");
  require_nonnegative(g_som, "model.g_som");
  require_nonnegative(g_som_interneuron, "model.g_som_interneuron");
  require_finite(E_exc, "model.E_exc");
  require_finite(E_inh, "model.E_inh");
  if (nudging == NudgingForm::conductance && !(E_exc > E_inh)) {
    fail("model.E_exc = {} must be above model.E_inh = {} for model.nudging = conductance", E_exc, E_inh);
  }
  if (transfer.kind == TransferKind::soft_relu) {
    require_positive(transfer.gamma, "model.gamma");
    require_positive(transfer.beta, "model.beta");
    require_finite(transfer.theta, "model.theta");
  }
  require_positive(dt, "dynamics.dt");
  if (dt > 1.0) {
    fail(
        "dynamics.dt = {} ms is out of range (0, 1]: the fastest somatic time constant is "
        "1 / (g_lk + g_B + g_A) ~ 0.5 ms, so forward Euler needs a step well below it (community value 0.1 ms)",
        dt);
  }
  // Forward Euler on du/dt = -g u is stable only for dt g < 2; g is the total conductance of a soma.
  const double g_max = std::max({g_lk + g_B + g_A, g_lk + g_B + g_som, g_lk + g_D + g_som_interneuron});
  if (!(dt * g_max < 2.0)) {
    fail(
        "dynamics.dt = {} ms is too large for the conductances: the largest total somatic conductance is {} / ms "
        "(g_lk + g_B + g_A, g_lk + g_B + g_som or g_lk + g_D + g_som_interneuron), and forward Euler needs "
        "dt * g < 2 (better << 1)",
        dt, g_max);
  }
  require_positive(pattern_duration, "dynamics.pattern_duration");
  if (!multiple_of(pattern_duration, dt)) {
    fail("dynamics.pattern_duration = {} ms is not a whole number of steps of dynamics.dt = {} ms",
         pattern_duration, dt);
  }
  require_nonnegative(input_tau, "dynamics.input_tau");
  if (input_tau > 0 && input_tau < dt) {
    fail("dynamics.input_tau = {} ms is out of range: must be 0 (no smoothing) or >= dynamics.dt = {} ms",
         input_tau, dt);
  }
  require_nonnegative(sigma, "noise.sigma");
  require_nonnegative(tau_w, "plasticity.tau_w");
  if (tau_w > 0 && tau_w < dt) {
    fail("plasticity.tau_w = {} ms is out of range: must be 0 (no filtering) or >= dynamics.dt = {} ms", tau_w,
         dt);
  }
  const int n_layers = static_cast<int>(layers.size());
  const auto n_hidden = static_cast<std::size_t>(n_top() - 1);
  require_rates(eta_up, static_cast<std::size_t>(n_top()), "plasticity.eta_up", "non-input layer (k = 1..N)",
                n_layers);
  require_rates(eta_down, n_hidden, "plasticity.eta_down", "hidden layer", n_layers);
  require_rates(eta_ip, n_hidden, "plasticity.eta_ip", "hidden layer", n_layers);
  require_rates(eta_pi, n_hidden, "plasticity.eta_pi", "hidden layer", n_layers);
  require_nonnegative(learning_lag, "plasticity.learning_lag");
  if (learning_lag >= pattern_duration) {
    fail("plasticity.learning_lag = {} ms is out of range: must be below dynamics.pattern_duration = {} ms",
         learning_lag, pattern_duration);
  }
  require_nonnegative(init_up, "init.scale_up");
  require_nonnegative(init_down, "init.scale_down");
  require_nonnegative(init_ip, "init.scale_ip");
  require_nonnegative(init_pi, "init.scale_pi");
}

Derived::Derived(const Params& p)
    : k_B(p.g_B / (p.g_lk + p.g_B + p.g_A)),
      k_B_out(p.g_B / (p.g_lk + p.g_B)),
      k_D(p.g_D / (p.g_lk + p.g_D)),
      lambda_A(p.g_A / (p.g_lk + p.g_B + p.g_A)),
      lambda_out(p.g_som / (p.g_lk + p.g_B + p.g_som)),
      lambda_I(p.g_som_interneuron / (p.g_lk + p.g_D + p.g_som_interneuron)),
      pattern_steps(std::llround(p.pattern_duration / p.dt)),
      lag_steps(std::llround(std::ceil(p.learning_lag / p.dt - 1e-9))),
      input_alpha(p.input_tau > 0 ? p.dt / p.input_tau : 1.0),
      trace_alpha(p.tau_w > 0 ? p.dt / p.tau_w : 1.0),
      noise_step(p.noise_scaling == NoiseScaling::euler_maruyama ? p.sigma * std::sqrt(p.dt) : p.sigma * p.dt) {}

Nudge nudge(const Params& p, double g_som, double u_target) {
  if (p.nudging == NudgingForm::current) return {g_som, g_som * u_target};
  // Spec 3.2: g_exc = g_som (u_trgt - E_inh) / (E_exc - E_inh), g_inh = -g_som (u_trgt - E_exc) / (E_exc - E_inh);
  // a conductance cannot be negative, so both are clipped at 0 (the only case in which the forms differ).
  const double span = p.E_exc - p.E_inh;
  const double g_exc = std::max(0.0, g_som * (u_target - p.E_inh) / span);
  const double g_inh = std::max(0.0, -g_som * (u_target - p.E_exc) / span);
  return {g_exc + g_inh, g_exc * p.E_exc + g_inh * p.E_inh};
}

double self_predicting_ip_factor(const Params& p, int k) {
  const double g_A_above = p.is_hidden(k + 1) ? p.g_A : 0.0;
  return p.g_B * (p.g_lk + p.g_D) / (p.g_D * (p.g_lk + p.g_B + g_A_above));
}

}  // namespace apical::microcircuit
