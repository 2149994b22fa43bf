// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/experiments.hpp"

#include <cmath>
#include <span>

#include "apical/analysis/stats.hpp"
#include "apical/core/error.hpp"
#include "apical/models/microcircuit/steady_state.hpp"

namespace apical::microcircuit {
namespace {

std::vector<double> uniform(Stream& s, int n, double lo, double hi) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = lo + (hi - lo) * s.uniform();
  return v;
}

}  // namespace

Params fig1_params() {
  Params p;
  p.layers = {30, 20, 10};
  p.sigma = 0.1;
  p.eta_up = {0.0011875, 0.0005};
  p.eta_down = {0.0};
  p.eta_ip = {0.0011875};
  p.eta_pi = {0.0005};
  p.init_up = p.init_down = p.init_ip = p.init_pi = 1.0;
  return p;
}

Fig1Result run_fig1(const Fig1Settings& settings, std::uint64_t seed) {
  const Params& p = settings.params;
  p.validate();
  if (p.n_top() < 2) {
    fail("fig1: model.layers = {} layers has no hidden layer; the association needs at least input-hidden-output",
         p.layers.size());
  }
  if (!(settings.baseline >= 0) || !(settings.duration > 0) || !(settings.record_every >= p.dt)) {
    fail(
        "fig1: baseline = {} ms must be >= 0, duration = {} ms > 0 and record_every = {} ms >= dynamics.dt = {} "
        "ms",
        settings.baseline, settings.duration, settings.record_every, p.dt);
  }
  if (settings.pretrain_patterns < 0)
    fail("fig1: pretrain_patterns = {} must be >= 0", settings.pretrain_patterns);
  const int N = p.n_top();
  const auto top = static_cast<std::size_t>(N);
  const auto hidden = static_cast<std::size_t>(N - 1);

  Weights w = Weights::random(p, seed);
  if (settings.start == SelfPredictingStart::closed_form) w.make_self_predicting(p);
  Network net(p, std::move(w), seed);
  if (settings.start == SelfPredictingStart::learned) {
    // Spec 4.3: only the lateral weights learn, on random U(0, 1) patterns without a target.
    Params pre = p;
    pre.eta_up.assign(pre.eta_up.size(), 0.0);
    pre.eta_down.assign(pre.eta_down.size(), 0.0);
    pre.eta_ip.assign(pre.eta_ip.size(), settings.eta_ip_pretrain);
    pre.eta_pi.assign(pre.eta_pi.size(), settings.eta_pi_pretrain);
    net.set_params(pre);
    Stream patterns(seed, "fig1.pretrain");
    for (int i = 0; i < settings.pretrain_patterns; ++i) net.present(uniform(patterns, p.n_input(), 0, 1));
    net.set_params(p);
  }

  Stream draw(seed, "fig1.pattern");
  const std::vector<double> pattern = uniform(draw, p.n_input(), 0, 1);
  const std::vector<double> target_values = uniform(draw, p.n_output(), settings.target_low, settings.target_high);
  const Vector target = Eigen::Map<const Vector>(target_values.data(), p.n_output());

  Fig1Result result;
  const std::int64_t every = std::llround(settings.record_every / p.dt);
  const std::int64_t start = net.state().step;
  const auto record = [&](const Network& m) {
    const std::int64_t t = m.state().step - start;
    if (t % every != 0) return;
    const Activity a = m.activity();
    result.time.push_back(static_cast<double>(t) * p.dt);
    result.apical.push_back(a.v_A[hidden].norm());
    result.interneuron.push_back((m.state().u_P[top] - m.state().u_I[hidden]).squaredNorm());
    result.output_error.push_back((m.state().u_P[top] - target).squaredNorm());
    result.prediction_error.push_back((m.derived().k_B_out * a.v_B[top] - target).squaredNorm());
  };

  net.clear_target();
  net.set_input(pattern);
  net.run(std::llround(settings.baseline / p.dt), record);
  result.target_on = static_cast<double>(net.state().step - start) * p.dt;
  result.initial = net.weights();
  net.set_target(target_values);
  net.run(std::llround(settings.duration / p.dt), record);
  net.check_finite();
  result.final = net.weights();
  return result;
}

}  // namespace apical::microcircuit

namespace apical::microcircuit {
namespace {

Vector uniform_vector(Stream& s, int n, double lo, double hi) {
  Vector v(n);
  for (Eigen::Index i = 0; i < n; ++i) v[i] = lo + (hi - lo) * s.uniform();
  return v;
}

std::span<const double> as_span(const Vector& v) {
  return {v.data(), static_cast<std::size_t>(v.size())};
}

/// Noise-free, plasticity-free potentials of `net`'s weights for one input without a target: one pattern
/// duration of the dynamics from rest (robust where the closed-form iteration might not converge).
Network quiet_copy(const Network& net) {
  Network copy(net.params(), net.weights(), 0);
  copy.set_learning(false);
  copy.set_noise(false);
  copy.clear_target();
  return copy;
}

}  // namespace

Params s1_params() {
  Params p = fig1_params();
  p.transfer.gamma = 1.0;
  p.transfer.beta = 1.0;
  p.transfer.theta = 0.0;
  p.eta_up = {0.0, 0.0};
  p.eta_ip = {0.0002375};
  p.eta_pi = {0.0005};
  return p;
}

S1Result run_s1(const S1Settings& st, std::uint64_t seed, const std::function<void(int)>& progress) {
  const Params& p = st.params;
  p.validate();
  if (p.n_top() < 2) fail("s1: model.layers needs at least one hidden layer, got {} layers", p.layers.size());
  if (st.patterns < 0 || st.probe_every < 1 || st.probe_patterns < 1) {
    fail("s1: patterns = {} must be >= 0, probe_every = {} and probe_patterns = {} >= 1", st.patterns,
         st.probe_every, st.probe_patterns);
  }
  Network net(p, Weights::random(p, seed), seed);
  S1Result result;
  result.initial = net.weights();
  Stream probe_stream(seed, "s1.probe");
  std::vector<Vector> probes;
  for (int i = 0; i < st.probe_patterns; ++i) probes.push_back(uniform_vector(probe_stream, p.n_input(), st.input_low, st.input_high));
  const auto probe = [&](int done) {
    Network q = quiet_copy(net);
    double apical = 0, inter = 0;
    for (const Vector& x : probes) {
      q.present(as_span(x));
      const Activity a = q.activity();
      for (int k = 1; k < p.n_top(); ++k) {
        const auto K = static_cast<std::size_t>(k);
        apical += a.v_A[K].norm();
        inter += (q.state().u_P[K + 1] - q.state().u_I[K]).squaredNorm();
      }
    }
    const double n = static_cast<double>(probes.size()) * (p.n_top() - 1);
    double pi = 0, ip = 0;
    const Weights& w = net.weights();
    for (int k = 1; k < p.n_top(); ++k) {
      const auto K = static_cast<std::size_t>(k);
      pi += (w.pi[K] + w.down[K]).norm() / w.down[K].norm();
      const Matrix target = self_predicting_ip_factor(p, k) * w.up[K + 1];
      ip += (w.ip[K] - target).norm() / target.norm();
    }
    result.pattern.push_back(done);
    result.apical.push_back(apical / n);
    result.interneuron.push_back(inter / n);
    result.pi_error.push_back(pi / (p.n_top() - 1));
    result.ip_error.push_back(ip / (p.n_top() - 1));
  };
  probe(0);
  Stream patterns(seed, "s1.patterns");
  for (int i = 1; i <= st.patterns; ++i) {
    net.present(as_span(uniform_vector(patterns, p.n_input(), st.input_low, st.input_high)));
    if (i % st.probe_every == 0 || i == st.patterns) probe(i);
    if (progress) progress(i);
  }
  result.final = net.weights();
  return result;
}

Vector teacher_potential(const Fig2Settings& st, std::uint64_t seed, const Vector& r_0) {
  const auto& L = st.teacher_layers;
  if (L.size() < 2 || L.front() != st.params.n_input() || L.back() != st.params.n_output()) {
    fail("fig2: teacher.layers must start with the student's {} inputs and end with its {} outputs", st.params.n_input(),
         st.params.n_output());
  }
  Vector r = r_0;
  Vector u;
  for (std::size_t k = 1; k < L.size(); ++k) {
    Stream s(seed, "teacher", k);
    Matrix w(L[k], L[k - 1]);
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = 2.0 * s.uniform() - 1.0;
    const double gain = k + 1 == L.size() ? st.teacher_k_out : st.teacher_k_hidden;
    u = gain * (w * r);
    r = apply(st.params.transfer, u);
  }
  return u;
}

Fig2Result run_fig2(const Fig2Settings& st, std::uint64_t seed, const std::function<void(std::int64_t)>& progress,
                    const Fig2Control& control, Fig2Resume* resume) {
  Params p = st.params;
  if (st.shallow) {
    // The shallow learner: only W^PP_{N,N-1} learns.
    for (std::size_t k = 0; k + 1 < p.eta_up.size(); ++k) p.eta_up[k] = 0;
    p.eta_ip.assign(p.eta_ip.size(), 0.0);
    p.eta_pi.assign(p.eta_pi.size(), 0.0);
    p.eta_down.assign(p.eta_down.size(), 0.0);
  }
  p.validate();
  if (p.n_top() != 2) fail("fig2: the student needs exactly one hidden layer (e.g. [30, 50, 10]), got {} layers", p.layers.size());
  if (st.trials < 0 || st.test_every < 1 || st.test_patterns < 1) {
    fail("fig2: trials = {} must be >= 0, test_every = {} and test_patterns = {} >= 1", st.trials, st.test_every,
         st.test_patterns);
  }
  Network fresh(p, Weights::random(p, seed), seed);
  Network& net = resume != nullptr ? resume->net : fresh;
  Fig2Result result;
  if (resume != nullptr) {
    result = resume->result;
  } else {
    result.initial = net.weights();
  }
  Stream test_stream(seed, "fig2.test");
  std::vector<Vector> test_x, test_r;
  for (int i = 0; i < st.test_patterns; ++i) {
    test_x.push_back(uniform_vector(test_stream, p.n_input(), st.input_low, st.input_high));
    test_r.push_back(apply(p.transfer, teacher_potential(st, seed, test_x.back())));
  }
  const auto test = [&](std::int64_t done) {
    Network q = quiet_copy(net);
    double err = 0, apical = 0;
    for (std::size_t i = 0; i < test_x.size(); ++i) {
      q.present(as_span(test_x[i]));
      const Activity a = q.activity();
      err += (a.r[2] - test_r[i]).squaredNorm();
      apical += a.v_A[1].norm();
    }
    const Weights& w = net.weights();
    const Matrix back = w.down[1].transpose();
    result.trial.push_back(static_cast<double>(done));
    result.test_error.push_back(err / static_cast<double>(test_x.size()));
    result.apical.push_back(apical / static_cast<double>(test_x.size()));
    result.angle.push_back(analysis::angle_degrees(std::span<const double>(w.up[2].data(), static_cast<std::size_t>(w.up[2].size())),
                                                   std::span<const double>(back.data(), static_cast<std::size_t>(back.size()))));
  };
  std::int64_t first = 1;
  Stream fresh_train(seed, "fig2.train");
  Stream& train = resume != nullptr ? resume->train : fresh_train;
  if (resume != nullptr) {
    first = resume->trial + 1;
  } else {
    test(0);
  }
  for (std::int64_t t = first; t <= st.trials; ++t) {
    const Vector x = uniform_vector(train, p.n_input(), st.input_low, st.input_high);
    const Vector u = teacher_potential(st, seed, x);
    net.set_target(as_span(u));
    net.present(as_span(x));
    if (t % st.test_every == 0 || t == st.trials) test(t);
    if (progress) progress(t);
    const bool stop = control.stop && control.stop();
    const bool periodic = control.checkpoint_every > 0 && t % control.checkpoint_every == 0;
    if (control.save && (stop || periodic) && t < st.trials) control.save(net, train, t, result);
    if (stop && t < st.trials) {
      result.completed = false;
      result.final = net.weights();
      return result;
    }
  }
  result.final = net.weights();
  return result;
}

}  // namespace apical::microcircuit
