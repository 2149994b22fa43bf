// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/steady_state.hpp"

#include <algorithm>
#include <cmath>

#include "apical/core/error.hpp"

namespace apical::microcircuit {
namespace {

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

/// Steady state of du/dt = -g_lk u + g (v - u) + drive - g_nudge u = 0 for one neuron.
double steady(double g_lk, double g, double v, const Nudge& n) {
  return (g * v + n.drive) / (g_lk + g + n.g_total);
}

}  // namespace

Vector apply(const Transfer& phi, const Vector& u) {
  Vector r(u.size());
  for (Eigen::Index i = 0; i < u.size(); ++i) r[i] = phi(u[i]);
  return r;
}

Vector apply_derivative(const Transfer& phi, const Vector& u) {
  Vector r(u.size());
  for (Eigen::Index i = 0; i < u.size(); ++i) r[i] = phi.derivative(u[i]);
  return r;
}

Vector hidden_steady_state(const Params& p, const Vector& v_B, const Vector& v_A) {
  // u^P_k = (g_B v_B + g_A v_A) / (g_lk + g_B + g_A).
  return (p.g_B * v_B + p.g_A * v_A) / (p.g_lk + p.g_B + p.g_A);
}

Vector output_steady_state(const Params& p, const Vector& v_B, const Vector* u_target) {
  // u^P_N = (g_B v_B + g_som u_trgt) / (g_lk + g_B + g_som); without a target g_B v_B / (g_lk + g_B).
  Vector u(v_B.size());
  for (Eigen::Index i = 0; i < v_B.size(); ++i) {
    const Nudge n = u_target != nullptr ? nudge(p, p.g_som, (*u_target)[i]) : Nudge{};
    u[i] = steady(p.g_lk, p.g_B, v_B[i], n);
  }
  return u;
}

Vector interneuron_steady_state(const Params& p, const Vector& v_I, const Vector& u_above) {
  // u^I_k = (g_D v^I + g_som u^P_{k+1}) / (g_lk + g_D + g_som).
  Vector u(v_I.size());
  for (Eigen::Index i = 0; i < v_I.size(); ++i) {
    u[i] = steady(p.g_lk, p.g_D, v_I[i], nudge(p, p.g_som_interneuron, u_above[i]));
  }
  return u;
}

Potentials feedforward(const Params& p, const Weights& w, const Vector& r_0) {
  p.validate();
  w.check_shapes(p);
  const Derived d(p);
  const int n_top = p.n_top();
  Potentials x;
  x.u_P.resize(sz(n_top + 1));
  x.u_I.resize(sz(n_top + 1));
  std::vector<Vector> rates(sz(n_top + 1));
  rates[0] = r_0;
  for (int k = 1; k <= n_top; ++k) {
    // u^-_k = vhat_B,k = k_B W^PP_{k,k-1} r^-_{k-1} (+ b_k).
    Vector v_B = w.up[sz(k)] * rates[sz(k - 1)];
    if (p.bias) v_B += w.up_bias[sz(k)];
    x.u_P[sz(k)] = (p.is_hidden(k) ? d.k_B : d.k_B_out) * v_B;
    rates[sz(k)] = apply(p.transfer, x.u_P[sz(k)]);
  }
  for (int k = 1; k < n_top; ++k) {
    // vhat^I_k = k_D W^IP_{k,k} r^-_k (+ b^I_k).
    Vector v_I = w.ip[sz(k)] * rates[sz(k)];
    if (p.bias) v_I += w.ip_bias[sz(k)];
    x.u_I[sz(k)] = d.k_D * v_I;
  }
  return x;
}

Potentials fixed_point(const Params& p, const Weights& w, const Vector& r_0, const Vector* u_target,
                       double tolerance, int max_iterations) {
  const int n_top = p.n_top();
  if (u_target != nullptr && u_target->size() != p.n_output()) {
    fail("target has {} values, but the output layer has {} units", u_target->size(), p.n_output());
  }
  Potentials x = feedforward(p, w, r_0);
  double change = 0;
  for (int it = 0; it < max_iterations; ++it) {
    // Jacobi iteration of the closed forms: every population from the previous iterate.
    const Activity a = compute_activity(p, w, r_0, x.u_P, x.u_I);
    Potentials next;
    next.u_P.resize(sz(n_top + 1));
    next.u_I.resize(sz(n_top + 1));
    change = 0;
    double scale = 1;
    for (int k = 1; k <= n_top; ++k) {
      const auto K = sz(k);
      next.u_P[K] =
          p.is_hidden(k) ? hidden_steady_state(p, a.v_B[K], a.v_A[K]) : output_steady_state(p, a.v_B[K], u_target);
      change = std::max(change, (next.u_P[K] - x.u_P[K]).cwiseAbs().maxCoeff());
      scale = std::max(scale, next.u_P[K].cwiseAbs().maxCoeff());
      if (!p.is_hidden(k)) continue;
      next.u_I[K] = interneuron_steady_state(p, a.v_I[K], x.u_P[K + 1]);
      change = std::max(change, (next.u_I[K] - x.u_I[K]).cwiseAbs().maxCoeff());
      scale = std::max(scale, next.u_I[K].cwiseAbs().maxCoeff());
    }
    x = std::move(next);
    if (!std::isfinite(change)) break;
    if (change <= tolerance * scale) return x;
  }
  fail(
      "fixed_point: the iteration of the closed-form steady states did not converge in {} iterations (last "
      "change {}): the recurrent loop is too strong for a stable fixed point; lower the weights or g_A, g_som",
      max_iterations, change);
}

}  // namespace apical::microcircuit
