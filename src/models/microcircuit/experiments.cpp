// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/experiments.hpp"

#include <cmath>

#include "apical/core/error.hpp"

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
