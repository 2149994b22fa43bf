// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/sweep.hpp"

#include <cmath>
#include <utility>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "batch_kernels.hpp"

namespace apical::microcircuit {
namespace {

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

double logistic(double u) {
  // Written so that exp never overflows.
  if (u >= 0) return 1.0 / (1.0 + std::exp(-u));
  const double e = std::exp(u);
  return e / (1.0 + e);
}

Matrix phi(const Matrix& u) {
  return u.unaryExpr([](double x) { return logistic(x); });
}

/// phi'(u) from the rate r = phi(u): r (1 - r).
Matrix phi_prime_from_rate(const Matrix& r) {
  return r.array() * (1.0 - r.array());
}

/// n x m, entries ~ U(-a, a) with a = gain / sqrt(fan_in), row by row from stream (seed, name, k).
Matrix uniform_matrix(int n, int m, double gain, int fan_in, std::uint64_t seed, const char* name, int k) {
  const double a = gain / std::sqrt(static_cast<double>(fan_in));
  Stream s(seed, name, static_cast<std::uint64_t>(k));
  Matrix w(n, m);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < m; ++j) w(i, j) = a * (2.0 * s.uniform() - 1.0);
  }
  return w;
}

/// x W^T + 1 b^T: the basal potentials of a batch.
Matrix basal(const Matrix& x, const Matrix& w, const Vector& b) {
  Matrix v = x * w.transpose();
  v.rowwise() += b.transpose();
  return v;
}

/// (1/B) post^T pre, scaled by eta: a batch-averaged Hebbian term.
Matrix outer_mean(const Matrix& post, const Matrix& pre, double eta) {
  return (eta / static_cast<double>(post.rows())) * (post.transpose() * pre);
}

Vector column_mean(const Matrix& post, double eta) {
  return (eta / static_cast<double>(post.rows())) * post.colwise().sum().transpose();
}

void require_rate(double v, const char* key) {
  if (!(v >= 0) || !std::isfinite(v)) fail("{} = {} is out of range: must be a finite number >= 0", key, v);
}

void require_list(const std::vector<double>& v, std::size_t n, bool allow_empty, const char* key,
                  const char* what) {
  if (v.empty() && allow_empty) return;
  if (v.size() != n) {
    fail("{} has {} entries, but model.layers needs {} ({}){}", key, v.size(), n, what,
         allow_empty ? "; or leave it empty" : "");
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!(v[i] >= 0) || !std::isfinite(v[i])) {
      fail("{}[{}] = {} is out of range: must be a finite number >= 0", key, i, v[i]);
    }
  }
}

/// Plain feedforward pass without attenuation: the baselines' network and the literal reading's upward sweep.
void feedforward_into(const SweepParams& p, const SweepWeights& w, SweepState& s, bool attenuate) {
  const int n_top = p.n_top();
  for (int k = 1; k <= n_top; ++k) {
    const auto K = sz(k);
    s.v_B[K] = basal(s.r[K - 1], w.w.up[K], w.w.up_bias[K]);
    const double keep = attenuate && p.is_hidden(k) ? 1.0 - p.lambda_A : 1.0;
    s.vhat_B[K] = keep * s.v_B[K];
    s.u[K] = s.vhat_B[K];
    s.r[K] = phi(s.u[K]);
  }
}

}  // namespace

std::string_view rule_name(Rule rule) {
  switch (rule) {
    case Rule::microcircuit:
      return "microcircuit";
    case Rule::backprop:
      return "backprop";
    case Rule::fa:
      return "fa";
    case Rule::dfa:
      return "dfa";
    case Rule::shallow:
      return "shallow";
  }
  return "?";
}

Rule parse_rule(std::string_view name) {
  for (Rule r : {Rule::microcircuit, Rule::backprop, Rule::fa, Rule::dfa, Rule::shallow}) {
    if (rule_name(r) == name) return r;
  }
  fail("learning rule '{}' is unknown; valid: microcircuit, backprop, fa, dfa, shallow", name);
}

void SweepParams::validate() const {
  if (layers.size() < 2) {
    fail("model.layers has {} entries: give all layer sizes, input first (e.g. [784, 500, 500, 10])",
         layers.size());
  }
  for (std::size_t k = 0; k < layers.size(); ++k) {
    if (layers[k] < 1)
      fail("model.layers[{}] = {} is out of range: every layer needs at least 1 neuron", k, layers[k]);
  }
  const auto mixing = [](double v, const char* key) {
    if (!(v >= 0 && v < 1)) fail("{} = {} is out of range: a mixing factor must lie in [0, 1)", key, v);
  };
  mixing(lambda_out, "model.lambda_out");
  mixing(lambda_A, "model.lambda_apical");
  mixing(lambda_I, "model.lambda_interneuron");
  const std::size_t n_top = layers.size() - 1;
  require_list(eta_up, n_top, false, "plasticity.eta_up", "one per non-input layer");
  require_list(eta_ip, n_top - 1, true, "plasticity.eta_ip", "one per hidden layer");
  require_list(eta_pi, n_top - 1, true, "plasticity.eta_pi", "one per hidden layer");
  require_list(eta_down, n_top - 1, true, "plasticity.eta_down", "one per hidden layer");
  if (rule == Rule::microcircuit && rescale) {
    for (int k = 1; k <= this->n_top(); ++k) {
      if (eta_up[sz(k - 1)] > 0 && dilution(k) == 0) {
        fail(
            "plasticity.rescale: layer {} learns (eta_up {}) but its error is diluted to 0 by a zero mixing "
            "factor "
            "(model.lambda_out = {}, model.lambda_apical = {}); make the mixing factors > 0 or switch rescale off",
            k, eta_up[sz(k - 1)], lambda_out, lambda_A);
      }
    }
  }
  require_rate(init_up, "init.up");
  require_rate(init_down, "init.down");
  require_rate(init_ip, "init.ip");
  require_rate(init_pi, "init.pi");
  require_rate(init_direct, "init.direct");
  if (!(target_low > 0 && target_low < target_high && target_high < 1)) {
    fail("training.target_low = {}, training.target_high = {}: need 0 < low < high < 1 (logistic rates)",
         target_low, target_high);
  }
}

double SweepParams::dilution(int k) const {
  double d = lambda_out;
  for (int l = n_top() - 1; l >= k; --l) d *= lambda_A * (1.0 - lambda_I);
  return d;
}

double SweepParams::effective_eta_up(int k) const {
  const double eta = eta_up[sz(k - 1)];
  if (rule != Rule::microcircuit || !rescale || eta == 0) return eta;
  return eta / dilution(k);
}

double SweepParams::ip_factor(int k) const {
  return reading == Reading::self_consistent && is_hidden(k + 1) ? 1.0 - lambda_A : 1.0;
}

double SweepParams::tracking_eta_ip(int k) const {
  if (lambda_I == 0) return 0;
  return ip_factor(k) * effective_eta_up(k + 1) / lambda_I;
}

double SweepParams::eta_ip_at(int k) const {
  return eta_ip.empty() ? tracking_eta_ip(k) : eta_ip[sz(k - 1)];
}
double SweepParams::eta_pi_at(int k) const {
  return eta_pi.empty() ? 0.0 : eta_pi[sz(k - 1)];
}
double SweepParams::eta_down_at(int k) const {
  return eta_down.empty() ? 0.0 : eta_down[sz(k - 1)];
}

SweepWeights SweepWeights::initial(const SweepParams& p, std::uint64_t seed) {
  p.validate();
  const int n_top = p.n_top();
  SweepWeights s;
  Weights& w = s.w;
  for (auto* v : {&w.up, &w.down, &w.ip, &w.pi, &s.direct}) v->resize(sz(n_top + 1));
  w.up_bias.resize(sz(n_top + 1));
  w.ip_bias.resize(sz(n_top + 1));
  for (int k = 1; k <= n_top; ++k) {
    const auto K = sz(k);
    w.up[K] = uniform_matrix(p.size(k), p.size(k - 1), p.init_up, p.size(k - 1), seed, "init.up", k);
    w.up_bias[K] = Vector::Zero(p.size(k));
    if (!p.is_hidden(k)) continue;
    w.down[K] = uniform_matrix(p.size(k), p.size(k + 1), p.init_down, p.size(k + 1), seed, "init.down", k);
    w.ip[K] = uniform_matrix(p.size(k + 1), p.size(k), p.init_ip, p.size(k), seed, "init.ip", k);
    w.pi[K] = uniform_matrix(p.size(k), p.size(k + 1), p.init_pi, p.size(k + 1), seed, "init.pi", k);
    w.ip_bias[K] = Vector::Zero(p.size(k + 1));
    s.direct[K] = uniform_matrix(p.size(k), p.size(n_top), p.init_direct, p.size(n_top), seed, "init.direct", k);
  }
  if (p.rule == Rule::microcircuit && p.self_predicting) s.make_self_predicting(p);
  return s;
}

void SweepWeights::make_self_predicting(const SweepParams& p) {
  for (int k = 1; k < p.n_top(); ++k) {
    const auto K = sz(k);
    const double c = p.ip_factor(k);
    w.pi[K] = -w.down[K];
    w.ip[K] = c * w.up[K + 1];
    w.ip_bias[K] = c * w.up_bias[K + 1];
  }
}

SweepState upward(const SweepParams& p, const SweepWeights& w, const Matrix& x) {
  const int n_top = p.n_top();
  if (x.cols() != p.size(0)) fail("input has {} columns, but model.layers[0] = {}", x.cols(), p.size(0));
  SweepState s;
  for (auto* v : {&s.u, &s.r, &s.v_B, &s.vhat_B, &s.v_A, &s.u_I, &s.r_I, &s.v_I}) v->resize(sz(n_top + 1));
  s.r[0] = x;
  const bool attenuate = p.rule == Rule::microcircuit && p.reading == Reading::self_consistent;
  feedforward_into(p, w, s, attenuate);
  s.r_out_up = s.r[sz(n_top)];
  if (p.rule != Rule::microcircuit) return s;
  // Interneurons at their dendritic prediction: u^I_k = v^I_k = W^IP_k r_k + b^I_k.
  for (int k = 1; k < n_top; ++k) {
    const auto K = sz(k);
    s.v_I[K] = basal(s.r[K], w.w.ip[K], w.w.ip_bias[K]);
    s.u_I[K] = s.v_I[K];
    s.r_I[K] = phi(s.u_I[K]);
    s.v_A[K] = Matrix::Zero(x.rows(), p.size(k));
  }
  return s;
}

void downward(const SweepParams& p, const SweepWeights& w, SweepState& s, const Matrix* u_target) {
  const int n_top = p.n_top();
  const auto N = sz(n_top);
  // Output nudge: u_N = (1 - lambda_N) v_B,N + lambda_N u_trgt.
  if (u_target != nullptr) {
    s.u[N] = (1.0 - p.lambda_out) * s.v_B[N] + p.lambda_out * (*u_target);
    s.r[N] = phi(s.u[N]);
  }
  for (int k = n_top - 1; k >= 1; --k) {
    const auto K = sz(k);
    // u^I_k = (1 - lambda_I) v^I_k + lambda_I u_{k+1}.
    s.u_I[K] = (1.0 - p.lambda_I) * s.v_I[K] + p.lambda_I * s.u[K + 1];
    s.r_I[K] = phi(s.u_I[K]);
    // v_A,k = W^down_k r_{k+1} + W^PI_k r^I_k.
    s.v_A[K] = s.r[K + 1] * w.w.down[K].transpose() + s.r_I[K] * w.w.pi[K].transpose();
    // u_k = (1 - lambda_k) v_B,k + lambda_k v_A,k: vhat_B,k + lambda v_A (self-consistent) or the same sum
    // with the unattenuated v_B (literal).
    s.u[K] = (1.0 - p.lambda_A) * s.v_B[K] + p.lambda_A * s.v_A[K];
    s.r[K] = phi(s.u[K]);
  }
}

Matrix target_rates(const SweepParams& p, const std::vector<int>& labels) {
  const int n_out = p.size(p.n_top());
  Matrix t = Matrix::Constant(static_cast<Eigen::Index>(labels.size()), n_out, p.target_low);
  for (std::size_t b = 0; b < labels.size(); ++b) {
    if (labels[b] < 0 || labels[b] >= n_out)
      fail("label {} is out of range for {} output neurons", labels[b], n_out);
    t(static_cast<Eigen::Index>(b), labels[b]) = p.target_high;
  }
  return t;
}

Matrix target_potentials(const SweepParams& p, const std::vector<int>& labels) {
  // u_trgt = logit(r_trgt), so that phi(u_trgt) = r_trgt.
  return target_rates(p, labels).unaryExpr([](double r) { return std::log(r / (1.0 - r)); });
}

namespace {

SweepUpdate empty_update(int n_top) {
  SweepUpdate d;
  for (auto* v : {&d.up, &d.down, &d.ip, &d.pi}) v->resize(sz(n_top + 1));
  d.up_bias.resize(sz(n_top + 1));
  d.ip_bias.resize(sz(n_top + 1));
  return d;
}

/// Output error delta_N = (r_N - r_trgt) phi'(a_N) of the loss 1/(2B) sum ||r_N - r_trgt||^2 (per example).
Matrix output_delta(const SweepParams& p, const SweepState& s, const std::vector<int>& labels) {
  const auto N = sz(p.n_top());
  return (s.r[N] - target_rates(p, labels)).cwiseProduct(phi_prime_from_rate(s.r[N]));
}

/// The hidden deltas of backprop, FA or DFA, and the batch-mean gradient scaled by -eta (or +1 for gradients).
SweepUpdate baseline_update(const SweepParams& p, const SweepWeights& w, const SweepState& s,
                            const std::vector<int>& labels, Rule rule, bool gradient) {
  const int n_top = p.n_top();
  SweepUpdate d = empty_update(n_top);
  Matrix delta = output_delta(p, s, labels);
  const Matrix delta_out = delta;
  for (int k = n_top; k >= 1; --k) {
    const auto K = sz(k);
    if (k < n_top) {
      // delta_k = (delta_{k+1} M) phi'(a_k), M = W_{k+1} (backprop), W^down_k^T (FA); DFA: delta_N D_k^T.
      Matrix back;
      switch (rule) {
        case Rule::fa:
          back = delta * w.w.down[K].transpose();
          break;
        case Rule::dfa:
          back = delta_out * w.direct[K].transpose();
          break;
        default:
          back = delta * w.w.up[K + 1];
          break;
      }
      delta = back.cwiseProduct(phi_prime_from_rate(s.r[K]));
    }
    const double scale = gradient ? 1.0 : -p.eta_up[K - 1];
    if (!gradient && (scale == 0 || (rule == Rule::shallow && k < n_top))) continue;
    d.up[K] = outer_mean(delta, s.r[K - 1], scale);
    d.up_bias[K] = column_mean(delta, scale);
    if (rule == Rule::shallow && !gradient) break;
  }
  return d;
}

SweepUpdate microcircuit_update(const SweepParams& p, const SweepWeights& w, const SweepState& s) {
  const int n_top = p.n_top();
  SweepUpdate d = empty_update(n_top);
  for (int k = 1; k <= n_top; ++k) {
    const auto K = sz(k);
    // Eq. 7: (phi(u_k) - phi(vhat_B,k)) r_{k-1}^T.
    const double eta = p.effective_eta_up(k);
    if (eta != 0) {
      const Matrix post = s.r[K] - phi(s.vhat_B[K]);
      d.up[K] = outer_mean(post, s.r[K - 1], eta);
      d.up_bias[K] = column_mean(post, eta);
    }
    if (!p.is_hidden(k)) continue;
    // Eq. 8: (phi(u^I_k) - phi(v^I_k)) r_k^T (the interneuron's prediction is its dendrite, g_lk -> 0).
    const double eta_ip = p.eta_ip_at(k);
    if (eta_ip != 0) {
      const Matrix post = s.r_I[K] - phi(s.v_I[K]);
      d.ip[K] = outer_mean(post, s.r[K], eta_ip);
      d.ip_bias[K] = column_mean(post, eta_ip);
    }
    // Eq. 9: (v_rest - v_A,k) r^I_k^T with v_rest = 0.
    const double eta_pi = p.eta_pi_at(k);
    if (eta_pi != 0) d.pi[K] = outer_mean(-s.v_A[K], s.r_I[K], eta_pi);
    // Eq. 10: (phi(u_k) - phi(W^down_k r_{k+1})) r_{k+1}^T.
    const double eta_down = p.eta_down_at(k);
    if (eta_down != 0) {
      const Matrix post = s.r[K] - phi(s.r[K + 1] * w.w.down[K].transpose());
      d.down[K] = outer_mean(post, s.r[K + 1], eta_down);
    }
  }
  return d;
}

void add_if(Matrix& w, const Matrix& d) {
  if (d.size() > 0) w += d;
}
void add_if(Vector& w, const Vector& d) {
  if (d.size() > 0) w += d;
}

}  // namespace

SweepUpdate compute_update(const SweepParams& p, const SweepWeights& w, const Matrix& x,
                           const std::vector<int>& labels, SweepState* state) {
  if (static_cast<std::size_t>(x.rows()) != labels.size()) {
    fail("mini-batch has {} inputs but {} labels", x.rows(), labels.size());
  }
  SweepState s = upward(p, w, x);
  SweepUpdate d;
  if (p.rule == Rule::microcircuit) {
    const Matrix u_target = target_potentials(p, labels);
    downward(p, w, s, &u_target);
    d = microcircuit_update(p, w, s);
  } else {
    d = baseline_update(p, w, s, labels, p.rule, false);
  }
  if (state != nullptr) *state = std::move(s);
  return d;
}

void apply_update(SweepWeights& w, const SweepUpdate& d) {
  for (std::size_t k = 0; k < d.up.size(); ++k) {
    add_if(w.w.up[k], d.up[k]);
    add_if(w.w.up_bias[k], d.up_bias[k]);
    add_if(w.w.down[k], d.down[k]);
    add_if(w.w.ip[k], d.ip[k]);
    add_if(w.w.ip_bias[k], d.ip_bias[k]);
    add_if(w.w.pi[k], d.pi[k]);
  }
}

SweepUpdate loss_gradient(const SweepParams& p, const SweepWeights& w, const Matrix& x,
                          const std::vector<int>& labels) {
  SweepParams q = p;
  q.rule = Rule::backprop;
  const SweepState s = upward(q, w, x);
  return baseline_update(q, w, s, labels, Rule::backprop, true);
}

double loss(const SweepParams& p, const SweepWeights& w, const Matrix& x, const std::vector<int>& labels) {
  const Matrix r = predict_rates(p, w, x);
  return 0.5 * (r - target_rates(p, labels)).squaredNorm() / static_cast<double>(x.rows());
}

Matrix predict_rates(const SweepParams& p, const SweepWeights& w, const Matrix& x) {
  SweepState s;
  const int n_top = p.n_top();
  for (auto* v : {&s.u, &s.r, &s.v_B, &s.vhat_B}) v->resize(sz(n_top + 1));
  s.r[0] = x;
  feedforward_into(p, w, s, p.rule == Rule::microcircuit && p.reading == Reading::self_consistent);
  return s.r[sz(n_top)];
}

std::vector<int> argmax_rows(const Matrix& m) {
  std::vector<int> out(static_cast<std::size_t>(m.rows()));
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    Eigen::Index j = 0;
    m.row(i).maxCoeff(&j);
    out[static_cast<std::size_t>(i)] = static_cast<int>(j);
  }
  return out;
}

void check_finite(const SweepWeights& w) {
  const auto check = [](const auto& list, const char* name) {
    for (std::size_t k = 0; k < list.size(); ++k) {
      if (list[k].size() > 0 && !list[k].allFinite()) {
        fail(
            "non-finite weight in {}[{}]: training diverged; lower the learning rates (plasticity.eta_up) or the "
            "mixing factors' rescaling (plasticity.rescale)",
            name, k);
      }
    }
  };
  check(w.w.up, "W_up");
  check(w.w.up_bias, "b_up");
  check(w.w.down, "W_down");
  check(w.w.ip, "W_ip");
  check(w.w.ip_bias, "b_ip");
  check(w.w.pi, "W_pi");
}

// ---- The engine's training step ----

namespace {

std::size_t cols(const Matrix& m) {
  return static_cast<std::size_t>(m.cols());
}
std::size_t rows(const Matrix& m) {
  return static_cast<std::size_t>(m.rows());
}

/// out = x W^T (+ 1 b^T), or out += x W^T with accumulate.
void times_transposed(const Matrix& x, const Matrix& w, const Vector* b, Matrix& out, bool accumulate = false) {
  if (!accumulate) out.resize(x.rows(), w.rows());
  kernels::times_transposed(x.data(), rows(x), cols(x), w.data(), rows(w), b != nullptr ? b->data() : nullptr,
                            out.data(), accumulate);
}

/// W += scale post^T pre (and b += scale post^T 1 when b is given).
void add_outer(Matrix& w, Vector* b, const Matrix& post, const Matrix& pre, double scale) {
  kernels::add_outer(w.data(), rows(w), cols(w), post.data(), pre.data(), rows(post), scale);
  if (b != nullptr) kernels::add_column_sums(b->data(), cols(post), post.data(), rows(post), scale);
}

template <typename Expr>
auto logistic_of(const Expr& u) {
  return u.unaryExpr([](double x) { return logistic(x); });
}

}  // namespace

SweepTrainer::SweepTrainer(SweepParams p) : p_(std::move(p)) {
  p_.validate();
  const std::size_t n = sz(p_.n_top() + 1);
  for (auto* v : {&s_.u, &s_.r, &s_.v_B, &s_.vhat_B, &s_.v_A, &s_.u_I, &s_.r_I, &s_.v_I, &delta_}) v->resize(n);
}

void SweepTrainer::sweeps(const SweepWeights& w, const Matrix& x, const std::vector<int>& labels) {
  // The operations of upward() and downward(), element for element.
  const int n_top = p_.n_top();
  const auto N = sz(n_top);
  SweepState& s = s_;
  s.r[0] = x;
  const bool microcircuit = p_.rule == Rule::microcircuit;
  const bool attenuate = microcircuit && p_.reading == Reading::self_consistent;
  for (int k = 1; k <= n_top; ++k) {
    const auto K = sz(k);
    times_transposed(s.r[K - 1], w.w.up[K], &w.w.up_bias[K], s.v_B[K]);
    const double keep = attenuate && p_.is_hidden(k) ? 1.0 - p_.lambda_A : 1.0;
    s.vhat_B[K] = keep * s.v_B[K];
    s.u[K] = s.vhat_B[K];
    s.r[K] = logistic_of(s.u[K]);
  }
  s.r_out_up = s.r[N];
  if (!microcircuit) return;
  for (int k = 1; k < n_top; ++k) {
    const auto K = sz(k);
    times_transposed(s.r[K], w.w.ip[K], &w.w.ip_bias[K], s.v_I[K]);
    s.u_I[K] = s.v_I[K];
    s.r_I[K] = logistic_of(s.u_I[K]);
  }
  s.u[N] = (1.0 - p_.lambda_out) * s.v_B[N] + p_.lambda_out * target_potentials(p_, labels);
  s.r[N] = logistic_of(s.u[N]);
  for (int k = n_top - 1; k >= 1; --k) {
    const auto K = sz(k);
    s.u_I[K] = (1.0 - p_.lambda_I) * s.v_I[K] + p_.lambda_I * s.u[K + 1];
    s.r_I[K] = logistic_of(s.u_I[K]);
    times_transposed(s.r[K + 1], w.w.down[K], nullptr, s.v_A[K]);
    times_transposed(s.r_I[K], w.w.pi[K], nullptr, s.v_A[K], true);
    s.u[K] = (1.0 - p_.lambda_A) * s.v_B[K] + p_.lambda_A * s.v_A[K];
    s.r[K] = logistic_of(s.u[K]);
  }
}

void SweepTrainer::learn_microcircuit(SweepWeights& w) {
  // Eqs. 7-10 as in microcircuit_update(); each class only reads the state and, for Eq. 10, its own old weights.
  const SweepState& s = s_;
  const double batch = static_cast<double>(s.r[0].rows());
  for (int k = 1; k <= p_.n_top(); ++k) {
    const auto K = sz(k);
    const double eta = p_.effective_eta_up(k);
    if (eta != 0) {
      post_ = s.r[K] - logistic_of(s.vhat_B[K]);
      add_outer(w.w.up[K], &w.w.up_bias[K], post_, s.r[K - 1], eta / batch);
    }
    if (!p_.is_hidden(k)) continue;
    const double eta_ip = p_.eta_ip_at(k);
    if (eta_ip != 0) {
      post_ = s.r_I[K] - logistic_of(s.v_I[K]);
      add_outer(w.w.ip[K], &w.w.ip_bias[K], post_, s.r[K], eta_ip / batch);
    }
    const double eta_pi = p_.eta_pi_at(k);
    if (eta_pi != 0) {
      post_ = -s.v_A[K];
      add_outer(w.w.pi[K], nullptr, post_, s.r_I[K], eta_pi / batch);
    }
    const double eta_down = p_.eta_down_at(k);
    if (eta_down != 0) {
      times_transposed(s.r[K + 1], w.w.down[K], nullptr, tmp_);
      post_ = s.r[K] - logistic_of(tmp_);
      add_outer(w.w.down[K], nullptr, post_, s.r[K + 1], eta_down / batch);
    }
  }
}

void SweepTrainer::learn_baseline(SweepWeights& w, const std::vector<int>& labels) {
  // The deltas of baseline_update() from the weights before the mini-batch, then every layer's change.
  const SweepState& s = s_;
  const int n_top = p_.n_top();
  const auto N = sz(n_top);
  delta_[N] = (s.r[N] - target_rates(p_, labels)).cwiseProduct(phi_prime_from_rate(s.r[N]));
  const int lowest = p_.rule == Rule::shallow ? n_top : 1;
  for (int k = n_top - 1; k >= lowest; --k) {
    const auto K = sz(k);
    switch (p_.rule) {
      case Rule::fa:
        times_transposed(delta_[K + 1], w.w.down[K], nullptr, tmp_);
        break;
      case Rule::dfa:
        times_transposed(delta_[N], w.direct[K], nullptr, tmp_);
        break;
      default:
        tmp_.resize(delta_[K + 1].rows(), w.w.up[K + 1].cols());
        kernels::times(delta_[K + 1].data(), rows(delta_[K + 1]), cols(delta_[K + 1]), w.w.up[K + 1].data(),
                       cols(w.w.up[K + 1]), tmp_.data());
        break;
    }
    delta_[K] = tmp_.cwiseProduct(phi_prime_from_rate(s.r[K]));
  }
  const double batch = static_cast<double>(s.r[0].rows());
  for (int k = n_top; k >= lowest; --k) {
    const auto K = sz(k);
    const double scale = -p_.eta_up[K - 1];
    if (scale != 0) add_outer(w.w.up[K], &w.w.up_bias[K], delta_[K], s.r[K - 1], scale / batch);
  }
}

const SweepState& SweepTrainer::train_batch(SweepWeights& w, const Matrix& x, const std::vector<int>& labels) {
  if (static_cast<std::size_t>(x.rows()) != labels.size()) {
    fail("mini-batch has {} inputs but {} labels", x.rows(), labels.size());
  }
  if (x.cols() != p_.size(0)) fail("input has {} columns, but model.layers[0] = {}", x.cols(), p_.size(0));
  sweeps(w, x, labels);
  if (p_.rule == Rule::microcircuit) {
    learn_microcircuit(w);
  } else {
    learn_baseline(w, labels);
  }
  return s_;
}

}  // namespace apical::microcircuit
