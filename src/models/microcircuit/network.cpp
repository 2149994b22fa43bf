// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/network.hpp"

#include <cmath>
#include <utility>

#include "apical/core/error.hpp"

namespace apical::microcircuit {
namespace {

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

/// n x m matrix with entries ~ U(-scale, scale), drawn row by row from stream (seed, name, k).
Matrix uniform_matrix(int n, int m, double scale, std::uint64_t seed, const char* name, int k) {
  Stream s(seed, name, static_cast<std::uint64_t>(k));
  Matrix w(n, m);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < m; ++j) w(i, j) = scale * (2.0 * s.uniform() - 1.0);
  }
  return w;
}

void check_matrix(const Matrix& w, int rows, int cols, const char* name, int k) {
  if (w.rows() != rows || w.cols() != cols) {
    fail("weights: {}[{}] has shape {} x {}, but model.layers gives {} x {}", name, k, w.rows(), w.cols(), rows,
         cols);
  }
}

void check_vector(const Vector& v, int n, const char* name, int k) {
  if (v.size() != n) fail("weights: {}[{}] has {} entries, but model.layers gives {}", name, k, v.size(), n);
}

void check_finite_vector(const Vector& v, const char* what, int k, std::int64_t step) {
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      fail(
          "non-finite potential {} in {} of layer {} (neuron {}) at step {}: the dynamics diverged; lower the "
          "learning rates (plasticity.eta_*), the initial weight scales (init.scale_*) or the conductances",
          v[i], what, k, i, step);
    }
  }
}

/// phi applied to v, written into out (no allocation once out has the right size).
void apply_into(const Transfer& phi, const Vector& v, Vector& out) {
  out.resize(v.size());
  for (Eigen::Index i = 0; i < v.size(); ++i) out[i] = phi(v[i]);
}

/// Spec 5.2: tau_w dDelta/dt = -Delta + post pre^T, dW/dt = eta Delta, by Euler:
/// Delta <- (1 - dt / tau_w) Delta + (dt / tau_w) post pre^T;  W <- W + dt eta Delta.
/// With tau_w = 0 (alpha = 1) the trace is the induction itself.
void learn(Matrix& w, Vector* bias, Matrix& trace, Vector* bias_trace, const Factors& f, double alpha,
           double dt_eta) {
  // One fused pass over each row (row-major storage), so trace and weight are read and written once.
  const double keep = 1.0 - alpha;
  const Eigen::Index n_pre = f.pre.size();
  for (Eigen::Index i = 0; i < f.post.size(); ++i) {
    const double a_post = alpha * f.post[i];
    double* d = trace.row(i).data();
    double* wi = w.row(i).data();
    const double* pre = f.pre.data();
    for (Eigen::Index j = 0; j < n_pre; ++j) {
      d[j] = keep * d[j] + a_post * pre[j];
      wi[j] += dt_eta * d[j];
    }
  }
  if (bias != nullptr) {
    for (Eigen::Index i = 0; i < f.post.size(); ++i) {
      (*bias_trace)[i] = keep * (*bias_trace)[i] + alpha * f.post[i];
      (*bias)[i] += dt_eta * (*bias_trace)[i];
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Initialisation (spec 4)

Weights Weights::random(const Params& p, std::uint64_t seed) {
  p.validate();
  const int n_top = p.n_top();
  Weights w;
  w.up.resize(sz(n_top + 1));
  w.down.resize(sz(n_top + 1));
  w.ip.resize(sz(n_top + 1));
  w.pi.resize(sz(n_top + 1));
  w.up_bias.resize(sz(n_top + 1));
  w.ip_bias.resize(sz(n_top + 1));
  for (int k = 1; k <= n_top; ++k) {
    w.up[sz(k)] = uniform_matrix(p.size(k), p.size(k - 1), p.init_up, seed, "init.up", k);
    if (p.bias) w.up_bias[sz(k)] = Vector::Zero(p.size(k));
    if (!p.is_hidden(k)) continue;
    w.down[sz(k)] = uniform_matrix(p.size(k), p.size(k + 1), p.init_down, seed, "init.down", k);
    w.ip[sz(k)] = uniform_matrix(p.size(k + 1), p.size(k), p.init_ip, seed, "init.ip", k);
    w.pi[sz(k)] = uniform_matrix(p.size(k), p.size(k + 1), p.init_pi, seed, "init.pi", k);
    if (p.bias) w.ip_bias[sz(k)] = Vector::Zero(p.size(k + 1));
  }
  return w;
}

Weights Weights::self_predicting(const Params& p, std::uint64_t seed) {
  Weights w = random(p, seed);
  w.make_self_predicting(p);
  return w;
}

void Weights::make_self_predicting(const Params& p) {
  check_shapes(p);
  for (int k = 1; k < p.n_top(); ++k) {
    // Spec 4.2, condition 1: W^PI_{k,k} = -W^PP_{k,k+1}, so that W^PI r_I cancels the top-down input when
    // r_I = r_{k+1}.
    pi[sz(k)] = -down[sz(k)];
    // Condition 2: vhat^I_k = vhat^P_{B,k+1}, i.e. k_D W^IP = k_B^{(k+1)} W^PP_{k+1,k}.
    const double c = self_predicting_ip_factor(p, k);
    ip[sz(k)] = c * up[sz(k + 1)];
    if (p.bias) ip_bias[sz(k)] = c * up_bias[sz(k + 1)];
  }
}

void Weights::check_shapes(const Params& p) const {
  const int n_top = p.n_top();
  const auto n = sz(n_top + 1);
  if (up.size() != n || down.size() != n || ip.size() != n || pi.size() != n || up_bias.size() != n ||
      ip_bias.size() != n) {
    fail("weights: expected {} entries (layers 0..N) per weight class for model.layers with N = {}", n, n_top);
  }
  for (int k = 1; k <= n_top; ++k) {
    check_matrix(up[sz(k)], p.size(k), p.size(k - 1), "up", k);
    if (p.bias) check_vector(up_bias[sz(k)], p.size(k), "up_bias", k);
    if (!p.is_hidden(k)) continue;
    check_matrix(down[sz(k)], p.size(k), p.size(k + 1), "down", k);
    check_matrix(ip[sz(k)], p.size(k + 1), p.size(k), "ip", k);
    check_matrix(pi[sz(k)], p.size(k), p.size(k + 1), "pi", k);
    if (p.bias) check_vector(ip_bias[sz(k)], p.size(k + 1), "ip_bias", k);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Dendrites and plasticity induction (spec 3, 5.1)

namespace {

void activity_into(const Params& p, const Weights& w, const Vector& r_0, const std::vector<Vector>& u_P,
                   const std::vector<Vector>& u_I, Activity& a) {
  const int n_top = p.n_top();
  const auto n = sz(n_top + 1);
  a.r.resize(n);
  a.r_I.resize(n);
  a.v_B.resize(n);
  a.v_A.resize(n);
  a.v_I.resize(n);
  a.r[0] = r_0;
  for (int k = 1; k <= n_top; ++k) apply_into(p.transfer, u_P[sz(k)], a.r[sz(k)]);
  for (int k = 1; k < n_top; ++k) apply_into(p.transfer, u_I[sz(k)], a.r_I[sz(k)]);
  for (int k = 1; k <= n_top; ++k) {
    // Eq. 3: v^P_{B,k} = W^PP_{k,k-1} r_{k-1} (+ b_k).
    a.v_B[sz(k)].noalias() = w.up[sz(k)] * a.r[sz(k - 1)];
    if (p.bias) a.v_B[sz(k)] += w.up_bias[sz(k)];
    if (!p.is_hidden(k)) continue;
    // Eq. 4: v^P_{A,k} = W^PP_{k,k+1} r_{k+1} + W^PI_{k,k} r^I_k.
    a.v_A[sz(k)].noalias() = w.down[sz(k)] * a.r[sz(k + 1)];
    a.v_A[sz(k)].noalias() += w.pi[sz(k)] * a.r_I[sz(k)];
    // Eq. 5: v^I_k = W^IP_{k,k} r_k (+ b^I_k).
    a.v_I[sz(k)].noalias() = w.ip[sz(k)] * a.r[sz(k)];
    if (p.bias) a.v_I[sz(k)] += w.ip_bias[sz(k)];
  }
}

/// Which induction terms to compute.
struct Needed {
  bool up = true, down = true, ip = true, pi = true;
};

void induction_into(const Params& p, const Derived& d, const Weights& w, const Activity& a, const Needed& need,
                    Induction& ind, Vector& scratch) {
  const int n_top = p.n_top();
  const auto n = sz(n_top + 1);
  ind.up.resize(n);
  ind.down.resize(n);
  ind.ip.resize(n);
  ind.pi.resize(n);
  for (int k = 1; k <= n_top; ++k) {
    const auto K = sz(k);
    if (need.up) {
      // Eq. 7: dW^PP_{k,k-1}/dt = eta (phi(u^P_k) - phi(vhat_B,k)) r_{k-1}^T,
      // vhat_B,k = g_B / (g_lk + g_B + g_A) v_B,k (g_A = 0 for the output layer).
      const double attenuation = p.is_hidden(k) ? d.k_B : d.k_B_out;
      apply_into(p.transfer, attenuation * a.v_B[K], scratch);
      ind.up[K].post = a.r[K] - scratch;
      ind.up[K].pre = a.r[K - 1];
    }
    if (!p.is_hidden(k)) continue;
    if (need.down) {
      // Eq. 10: dW^PP_{k,k+1}/dt = eta (phi(u^P_k) - phi(vhat_TD,k)) r_{k+1}^T, vhat_TD,k = W^PP_{k,k+1} r_{k+1}.
      scratch.noalias() = w.down[K] * a.r[K + 1];
      for (Eigen::Index i = 0; i < scratch.size(); ++i) scratch[i] = p.transfer(scratch[i]);
      ind.down[K].post = a.r[K] - scratch;
      ind.down[K].pre = a.r[K + 1];
    }
    if (need.ip) {
      // Eq. 8: dW^IP_{k,k}/dt = eta (phi(u^I_k) - phi(vhat^I_k)) r_k^T, vhat^I_k = g_D / (g_lk + g_D) v^I_k.
      apply_into(p.transfer, d.k_D * a.v_I[K], scratch);
      ind.ip[K].post = a.r_I[K] - scratch;
      ind.ip[K].pre = a.r[K];
    }
    if (need.pi) {
      // Eq. 9: dW^PI_{k,k}/dt = eta (v_rest - v^P_{A,k}) r_I_k^T, v_rest = 0.
      ind.pi[K].post = -a.v_A[K];
      ind.pi[K].pre = a.r_I[K];
    }
  }
}

}  // namespace

Activity compute_activity(const Params& p, const Weights& w, const Vector& r_0, const std::vector<Vector>& u_P,
                          const std::vector<Vector>& u_I) {
  Activity a;
  activity_into(p, w, r_0, u_P, u_I, a);
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// Network

namespace {
Params validated(Params p) {
  p.validate();
  return p;
}
}  // namespace

Network::Network(Params params, Weights weights, std::uint64_t seed)
    : params_(validated(std::move(params))), derived_(params_), weights_(std::move(weights)) {
  weights_.check_shapes(params_);
  const Params& p = params_;
  const int n_top = p.n_top();
  const auto n = sz(n_top + 1);
  State& s = state_;
  s.u_P.resize(n);
  s.u_I.resize(n);
  s.noise_P.resize(n);
  s.noise_I.resize(n);
  s.d_up.resize(n);
  s.d_down.resize(n);
  s.d_ip.resize(n);
  s.d_pi.resize(n);
  s.d_up_bias.resize(n);
  s.d_ip_bias.resize(n);
  s.r_in = Vector::Zero(p.n_input());
  s.pattern = Vector::Zero(p.n_input());
  s.target = Vector::Zero(p.n_output());
  s.target_pattern = Vector::Zero(p.n_output());
  for (int k = 1; k <= n_top; ++k) {
    s.u_P[sz(k)] = Vector::Zero(p.size(k));
    s.noise_P[sz(k)] = Stream(seed, "noise.pyramid", static_cast<std::uint64_t>(k));
    if (!p.is_hidden(k)) continue;
    s.u_I[sz(k)] = Vector::Zero(p.size(k + 1));
    s.noise_I[sz(k)] = Stream(seed, "noise.interneuron", static_cast<std::uint64_t>(k));
  }
  allocate_traces();
}

void Network::allocate_traces() {
  const Params& p = params_;
  State& s = state_;
  // Traces are kept for plastic classes only; one that exists already keeps its value.
  const auto need = [](Matrix& m, bool plastic, int rows, int cols) {
    if (plastic && m.size() == 0) m = Matrix::Zero(rows, cols);
  };
  const auto need_vector = [](Vector& v, bool plastic, int rows) {
    if (plastic && v.size() == 0) v = Vector::Zero(rows);
  };
  for (int k = 1; k <= p.n_top(); ++k) {
    const auto K = sz(k);
    need(s.d_up[K], p.eta_up[K - 1] > 0, p.size(k), p.size(k - 1));
    need_vector(s.d_up_bias[K], p.bias && p.eta_up[K - 1] > 0, p.size(k));
    if (!p.is_hidden(k)) continue;
    need(s.d_down[K], p.eta_down[K - 1] > 0, p.size(k), p.size(k + 1));
    need(s.d_ip[K], p.eta_ip[K - 1] > 0, p.size(k + 1), p.size(k));
    need_vector(s.d_ip_bias[K], p.bias && p.eta_ip[K - 1] > 0, p.size(k + 1));
    need(s.d_pi[K], p.eta_pi[K - 1] > 0, p.size(k), p.size(k + 1));
  }
}

void Network::set_params(const Params& params) {
  params.validate();
  if (params.layers != params_.layers || params.bias != params_.bias) {
    fail("set_params: model.layers and model.bias cannot change in a running network");
  }
  params_ = params;
  derived_ = Derived(params_);
  allocate_traces();
}

void Network::set_input(std::span<const double> rates) {
  if (rates.size() != sz(params_.n_input())) {
    fail("input pattern has {} values, but the input layer (model.layers[0]) has {} units", rates.size(),
         params_.n_input());
  }
  state_.pattern = Eigen::Map<const Vector>(rates.data(), static_cast<Eigen::Index>(rates.size()));
  state_.pattern_step = 0;
  if (params_.reset_traces) {
    for (auto* traces : {&state_.d_up, &state_.d_down, &state_.d_ip, &state_.d_pi}) {
      for (auto& t : *traces) t.setZero();
    }
    for (auto* traces : {&state_.d_up_bias, &state_.d_ip_bias}) {
      for (auto& t : *traces) t.setZero();
    }
  }
}

void Network::set_target(std::span<const double> u_target) {
  if (u_target.size() != sz(params_.n_output())) {
    fail("target has {} values, but the output layer (model.layers[{}]) has {} units", u_target.size(),
         params_.n_top(), params_.n_output());
  }
  state_.target_pattern = Eigen::Map<const Vector>(u_target.data(), static_cast<Eigen::Index>(u_target.size()));
  // Without target smoothing the target applies at once; with it, a target switched on starts from the current
  // output potential, so the teaching current rises smoothly from 0.
  if (!params_.smooth_target) {
    state_.target = state_.target_pattern;
  } else if (!state_.nudged) {
    state_.target = state_.u_P[sz(params_.n_top())];
  }
  state_.nudged = true;
}

void Network::clear_target() {
  state_.nudged = false;
}

Activity Network::activity() const {
  return compute_activity(params_, weights_, state_.r_in, state_.u_P, state_.u_I);
}

Induction Network::induction(const Activity& a) const {
  Induction ind;
  Vector scratch;
  induction_into(params_, derived_, weights_, a, Needed{}, ind, scratch);
  return ind;
}

// One time step (spec 6.1). The order, and why:
//  1. Input (and target) filters relax towards the current pattern: tau_0 dr_0/dt = r_pattern - r_0. First, so
//     that a pattern presented now drives this step.
//  2. Rates of every soma and all dendritic potentials from the *current* potentials (Eqs. 3-5): a synchronous
//     update, no population sees another's new value within a step.
//  3. du of every soma (Eqs. 1, 2 and the output equation) with its noise draw.
//  4. Plasticity (Eqs. 7-10, filtered as in 5.2) from the same current potentials and dendrites.
//  5. All somata take their new potentials at once.
void Network::step() {
  const Params& p = params_;
  const Derived& d = derived_;
  State& s = state_;
  const int n_top = p.n_top();
  const double dt = p.dt;

  // 1. tau_0 dr_0/dt = r_pattern - r_0 (Euler; alpha = dt / tau_0, or 1 without smoothing).
  s.r_in += d.input_alpha * (s.pattern - s.r_in);
  if (s.nudged && p.smooth_target) s.target += d.input_alpha * (s.target_pattern - s.target);

  // 2. Rates and dendrites.
  activity_into(p, weights_, s.r_in, s.u_P, s.u_I, act_);

  // 3. Somatic derivatives, times dt, plus noise.
  const bool noisy = noise_ && d.noise_step > 0;
  du_P_.resize(sz(n_top + 1));
  du_I_.resize(sz(n_top + 1));
  for (int k = 1; k <= n_top; ++k) {
    const auto K = sz(k);
    const Vector& u = s.u_P[K];
    Vector& du = du_P_[K];
    if (p.is_hidden(k)) {
      // Eq. 1: du^P_k/dt = -g_lk u + g_B (v_B - u) + g_A (v_A - u) + sigma xi.
      du = dt * (-p.g_lk * u + p.g_B * (act_.v_B[K] - u) + p.g_A * (act_.v_A[K] - u));
    } else {
      // Output: du^P_N/dt = -g_lk u + g_B (v_B - u) + i^P_N + sigma xi, i^P_N = g_som (u_trgt - u) or 0.
      du = dt * (-p.g_lk * u + p.g_B * (act_.v_B[K] - u));
      if (s.nudged) {
        for (Eigen::Index i = 0; i < u.size(); ++i) {
          const Nudge n = nudge(p, p.g_som, s.target[i]);
          du[i] += dt * (n.drive - n.g_total * u[i]);
        }
      }
    }
    if (noisy) {
      for (Eigen::Index i = 0; i < du.size(); ++i) du[i] += d.noise_step * s.noise_P[K].normal();
    }
    if (!p.is_hidden(k)) continue;
    // Eq. 2: du^I_k/dt = -g_lk u^I + g_D (v^I - u^I) + i^I_k + sigma xi, i^I_k = g_som (u^P_{k+1} - u^I) one to
    // one.
    const Vector& uI = s.u_I[K];
    const Vector& u_above = s.u_P[K + 1];
    Vector& duI = du_I_[K];
    duI = dt * (-p.g_lk * uI + p.g_D * (act_.v_I[K] - uI));
    for (Eigen::Index i = 0; i < uI.size(); ++i) {
      const Nudge n = nudge(p, p.g_som_interneuron, u_above[i]);
      duI[i] += dt * (n.drive - n.g_total * uI[i]);
    }
    if (noisy) {
      for (Eigen::Index i = 0; i < duI.size(); ++i) duI[i] += d.noise_step * s.noise_I[K].normal();
    }
  }

  // 4. Plasticity: always on (the paper), unless switched off or within the learning lag after a pattern onset.
  if (learning_ && s.pattern_step >= d.lag_steps) apply_plasticity(act_);

  // 5. New potentials.
  for (int k = 1; k <= n_top; ++k) {
    s.u_P[sz(k)] += du_P_[sz(k)];
    if (p.is_hidden(k)) s.u_I[sz(k)] += du_I_[sz(k)];
  }
  ++s.step;
  ++s.pattern_step;
}

void Network::apply_plasticity(const Activity& a) {
  const Params& p = params_;
  State& s = state_;
  Weights& w = weights_;
  const double alpha = derived_.trace_alpha;
  const int n_top = p.n_top();
  bool any_up = false, any_down = false, any_ip = false, any_pi = false;
  for (int k = 1; k <= n_top; ++k) any_up = any_up || p.eta_up[sz(k - 1)] > 0;
  for (int k = 1; k < n_top; ++k) {
    any_down = any_down || p.eta_down[sz(k - 1)] > 0;
    any_ip = any_ip || p.eta_ip[sz(k - 1)] > 0;
    any_pi = any_pi || p.eta_pi[sz(k - 1)] > 0;
  }
  if (!(any_up || any_down || any_ip || any_pi)) return;
  induction_into(p, derived_, w, a, Needed{any_up, any_down, any_ip, any_pi}, ind_, scratch_);
  for (int k = 1; k <= n_top; ++k) {
    const auto K = sz(k);
    if (const double eta = p.eta_up[K - 1]; eta > 0) {
      learn(w.up[K], p.bias ? &w.up_bias[K] : nullptr, s.d_up[K], p.bias ? &s.d_up_bias[K] : nullptr, ind_.up[K],
            alpha, p.dt * eta);
    }
    if (!p.is_hidden(k)) continue;
    if (const double eta = p.eta_down[K - 1]; eta > 0) {
      learn(w.down[K], nullptr, s.d_down[K], nullptr, ind_.down[K], alpha, p.dt * eta);
    }
    if (const double eta = p.eta_ip[K - 1]; eta > 0) {
      learn(w.ip[K], p.bias ? &w.ip_bias[K] : nullptr, s.d_ip[K], p.bias ? &s.d_ip_bias[K] : nullptr, ind_.ip[K],
            alpha, p.dt * eta);
    }
    if (const double eta = p.eta_pi[K - 1]; eta > 0) {
      learn(w.pi[K], nullptr, s.d_pi[K], nullptr, ind_.pi[K], alpha, p.dt * eta);
    }
  }
}

void Network::run(std::int64_t steps, const Observer& observe) {
  for (std::int64_t t = 0; t < steps; ++t) {
    step();
    if (observe) observe(*this);
  }
}

void Network::present(std::span<const double> rates, const Observer& observe) {
  set_input(rates);
  run(derived_.pattern_steps, observe);
  check_finite();
}

void Network::check_finite() const {
  for (int k = 1; k <= params_.n_top(); ++k) {
    check_finite_vector(state_.u_P[sz(k)], "the pyramidal somata", k, state_.step);
    if (params_.is_hidden(k)) check_finite_vector(state_.u_I[sz(k)], "the interneuron somata", k, state_.step);
  }
}

}  // namespace apical::microcircuit
