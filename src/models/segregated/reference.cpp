// SPDX-License-Identifier: Apache-2.0
#include "apical/models/segregated/reference.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "apical/core/error.hpp"

namespace apical::segregated {
namespace {

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

/// Dense counts of a sparse spike slot.
std::vector<double> dense(const SpikeSlot& slot, int n) {
  std::vector<double> v(sz(n), 0.0);
  for (std::size_t e = 0; e < slot.size(); ++e) v[slot.unit[e]] = slot.count[e];
  return v;
}

}  // namespace

ReferenceNetwork::ReferenceNetwork(Params params, Weights weights, std::uint64_t seed)
    : params_(std::move(params)), derived_(params_), weights_(std::move(weights)), seed_(seed) {
  params_.validate();
  state_ = make_state();
  open_generators(state_, "spikes.train", 0, 0);
}

ReferenceNetwork::State ReferenceNetwork::make_state() const {
  const Params& p = params_;
  State s;
  s.pop.resize(p.layers.size() + 1);
  for (std::size_t q = 0; q < s.pop.size(); ++q) {
    const int n = q == 0 ? p.n_input : p.layers[q - 1];
    s.pop[q].history.assign(sz(p.kernel_steps), std::vector<double>(sz(n), 0.0));
    s.pop[q].trace_L.assign(sz(n), 0.0);
    s.pop[q].trace_s.assign(sz(n), 0.0);
  }
  s.layer.resize(p.layers.size());
  for (int m = 0; m < p.n_layers(); ++m) {
    Layer& L = s.layer[sz(m)];
    const auto n = sz(p.layers[sz(m)]);
    L.basal.assign(n, 0.0);
    L.soma.assign(n, 0.0);
    L.rate.assign(n, 0.0);
    if (m + 1 < p.n_layers()) {
      L.apical.assign(n, 0.0);
      L.feedback.assign(sz(p.n_feedback(m)), 0.0);
    }
  }
  s.input_rate.assign(sz(p.n_input), 0.0);
  s.out_psp_prev.assign(sz(p.n_output()), 0.0);
  s.out_rate_prev.assign(sz(p.n_output()), 0.0);
  return s;
}

void ReferenceNetwork::open_generators(State& s, const std::string& stream, std::uint64_t a,
                                       std::uint64_t b) const {
  if (params_.mode != Mode::spiking) return;
  for (std::size_t q = 0; q < s.pop.size(); ++q) {
    const int n = q == 0 ? params_.n_input : params_.layers[q - 1];
    // The simple scan of every unit in every step: the oracle of the engine's calendar.
    s.pop[q].generator.open(seed_, stream, a, b, q, n, PoissonUnits::Scan::every);
  }
}

void ReferenceNetwork::present(State& s, std::span<const double> pixels) const {
  for (std::size_t j = 0; j < pixels.size(); ++j) s.input_rate[j] = params_.lambda_max * pixels[j];
  if (params_.mode == Mode::spiking) s.pop[0].generator.start_constant(s.input_rate);
}

const std::vector<double>& ReferenceNetwork::spikes(int population, int d) const {
  return state_.pop[sz(population)].history[sz(d - 1)];
}

std::vector<double> ReferenceNetwork::psp(const Population& pop) const {
  const std::size_t n = pop.trace_L.size();
  std::vector<double> s(n, 0.0);
  if (params_.kernel == KernelKind::exact) {
    const double inv = 1.0 / (params_.tau_L - params_.tau_s);
    for (std::size_t j = 0; j < n; ++j) s[j] = (pop.trace_L[j] - pop.trace_s[j]) * inv;
    return s;
  }
  for (std::size_t j = 0; j < n; ++j) {
    for (int d = 1; d <= params_.kernel_steps; ++d) s[j] += derived_.kappa[sz(d - 1)] * pop.history[sz(d - 1)][j];
  }
  return s;
}

void ReferenceNetwork::step(State& s, int label, bool teach) const {
  const Params& p = params_;
  const int n_layers = p.n_layers();
  const int k_steps = p.kernel_steps;
  const bool spiking = p.mode == Mode::spiking;

  auto record = [&](Population& pop, const SpikeSlot& slot, int n) {
    std::rotate(pop.history.rbegin(), pop.history.rbegin() + 1, pop.history.rend());  // age by one step
    pop.history[0] = dense(slot, n);
    for (double c : pop.history[0]) pop.total += c;
    for (std::size_t j = 0; j < pop.trace_L.size(); ++j) {
      pop.trace_L[j] = (pop.trace_L[j] + pop.history[0][j]) * derived_.decay_L;
      pop.trace_s[j] = (pop.trace_s[j] + pop.history[0][j]) * derived_.decay_s;
    }
  };

  if (spiking) {
    SpikeSlot slot;
    s.pop[0].generator.step_constant(slot);
    record(s.pop[0], slot, p.n_input);
  }
  for (int m = 0; m < n_layers; ++m) {
    const LayerWeights& w = weights_.layers[sz(m)];
    Layer& L = s.layer[sz(m)];
    const int n = w.n_post;
    const Population& pre = s.pop[sz(m)];
    // Basal / dendritic potential.
    for (int i = 0; i < n; ++i) {
      if (!spiking) {
        const std::vector<double>& r = m == 0 ? s.input_rate : s.layer[sz(m - 1)].rate;
        double acc = 0.0;
        for (int j = 0; j < w.n_pre; ++j) acc += w.w(i, j) * r[sz(j)];
        L.basal[sz(i)] = acc + w.b[sz(i)];
      } else if (p.kernel == KernelKind::exact) {
        const std::vector<double> sp = psp(pre);
        double acc = 0.0;
        for (int j = 0; j < w.n_pre; ++j) acc += w.w(i, j) * sp[sz(j)];
        L.basal[sz(i)] = acc + w.b[sz(i)];
      } else {
        // B_i = sum_d kappa(d) (sum_j W_ij S_j(t - d + 1)) + b_i: all K products, every step.
        double acc = 0.0;
        for (int d = 1; d <= k_steps; ++d) {
          double drive = 0.0;
          for (int j = 0; j < w.n_pre; ++j) drive += w.w(i, j) * pre.history[sz(d - 1)][sz(j)];
          acc += derived_.kappa[sz(d - 1)] * drive;
        }
        L.basal[sz(i)] = acc + w.b[sz(i)];
      }
    }
    if (m + 1 < n_layers) {
      const bool from_output = p.feedback_routing == FeedbackRouting::broadcast || m + 2 == n_layers;
      if (spiking && p.feedback_signal == FeedbackSignal::spikes) {
        L.feedback = from_output ? s.out_psp_prev : psp(s.pop[sz(m + 2)]);
      } else {
        L.feedback = from_output ? s.out_rate_prev : s.layer[sz(m + 1)].rate;
      }
      for (int i = 0; i < n; ++i) {
        double acc = 0.0;
        for (std::size_t k = 0; k < L.feedback.size(); ++k)
          acc += w.Y[sz(i) * L.feedback.size() + k] * L.feedback[k];
        L.apical[sz(i)] = acc + w.c[sz(i)];
        const double c = L.soma[sz(i)];
        L.soma[sz(i)] =
            spiking ? c + p.dt * (-p.g_L * c + p.g_B * (L.basal[sz(i)] - c) + p.g_A * (L.apical[sz(i)] - c))
                    : derived_.k_B * L.basal[sz(i)];
      }
    } else {
      for (int i = 0; i < n; ++i) {
        const double g_e = teach && i / p.neurons_per_class == label ? 1.0 : 0.0;
        const double g_i = teach ? 1.0 - g_e : 0.0;
        const double u = L.soma[sz(i)];
        const double v = L.basal[sz(i)];
        if (spiking) {
          const double current = teach ? g_e * (p.E_E - u) + g_i * (p.E_I - u) : 0.0;
          L.soma[sz(i)] = u + p.dt * (-p.g_L * u + p.g_D * (v - u) + current);
        } else {
          L.soma[sz(i)] =
              teach ? (p.g_D * v + g_e * p.E_E + g_i * p.E_I) / (p.g_L + p.g_D + g_e + g_i) : derived_.k_D * v;
        }
      }
    }
    for (int i = 0; i < n; ++i) L.rate[sz(i)] = p.lambda_max * sigmoid(L.soma[sz(i)]);
    if (spiking) {
      SpikeSlot slot;
      s.pop[sz(m + 1)].generator.step_thinned(L.rate, p.lambda_max, slot);
      record(s.pop[sz(m + 1)], slot, n);
    }
  }
  if (spiking) s.out_psp_prev = psp(s.pop.back());
  s.out_rate_prev = s.layer.back().rate;
}

void ReferenceNetwork::phase(State& s, int steps, int label, bool teach, std::vector<LayerAverages>& avg,
                             const std::vector<std::vector<int>>* offsets, int offset_window) const {
  const Params& p = params_;
  const int n_layers = p.n_layers();
  const bool spiking = p.mode == Mode::spiking;
  int first = steps - 1;
  if (spiking) first = p.window == WindowRule::code ? steps - p.window_steps : p.settle_steps;
  avg.assign(sz(n_layers), LayerAverages{});
  for (int m = 0; m < n_layers; ++m) {
    LayerAverages& a = avg[sz(m)];
    const auto n = sz(p.layers[sz(m)]);
    a.soma.assign(n, 0.0);
    a.rate.assign(n, 0.0);
    a.apical.assign(m + 1 < n_layers ? n : 0, 0.0);
    a.feedback.assign(m + 1 < n_layers ? sz(p.n_feedback(m)) : 0, 0.0);
    a.psp_pre.assign(sz(p.n_pre(m)), 0.0);
  }
  // Every step's feedback signal, kept whole (for the stochastic plateaus' per-neuron windows).
  std::vector<std::vector<std::vector<double>>> feedback_history(sz(n_layers));
  const bool truncated = spiking && p.kernel == KernelKind::truncated;
  const int k_steps = p.kernel_steps;
  for (int t = 0; t < steps; ++t) {
    step(s, label, teach);
    for (int m = 0; m + 1 < n_layers; ++m) feedback_history[sz(m)].push_back(s.layer[sz(m)].feedback);
    if (t < first) continue;
    for (int m = 0; m < n_layers; ++m) {
      LayerAverages& a = avg[sz(m)];
      const Layer& L = s.layer[sz(m)];
      for (std::size_t i = 0; i < a.soma.size(); ++i) a.soma[i] += L.soma[i];
      for (std::size_t i = 0; i < a.rate.size(); ++i) a.rate[i] += L.rate[i];
      for (std::size_t k = 0; k < a.feedback.size(); ++k) a.feedback[k] += L.feedback[k];
      if (truncated) {
        // s-bar of the truncated kernel: every spike of steps first - K + 1 .. last, oldest first, times the kappa
        // values of the window steps it reaches (window_psp_weight); the spikes of this step, and at the first
        // window step also those of the K - 1 steps before it.
        const Population& pre = s.pop[sz(m)];
        const int d_oldest = t == first ? k_steps : 1;
        for (int d = d_oldest; d >= 1; --d) {
          const double weight = t == first ? window_psp_weight(derived_.kappa, d, d + (steps - first) - 1)
                                           : window_psp_weight(derived_.kappa, 1, steps - t);
          const std::vector<double>& counts = pre.history[sz(d - 1)];
          for (std::size_t j = 0; j < counts.size(); ++j) a.psp_pre[j] += counts[j] * weight;
        }
        continue;
      }
      const std::vector<double> pre =
          spiking ? psp(s.pop[sz(m)]) : (m == 0 ? s.input_rate : s.layer[sz(m - 1)].rate);
      for (std::size_t j = 0; j < pre.size(); ++j) a.psp_pre[j] += pre[j];
    }
  }
  const double n_avg = steps - first;
  for (int m = 0; m < n_layers; ++m) {
    LayerAverages& a = avg[sz(m)];
    for (auto* v : {&a.soma, &a.rate, &a.feedback, &a.psp_pre}) {
      for (auto& x : *v) x /= n_avg;
    }
    if (m + 1 == n_layers) continue;
    // A-bar = Y s-bar_fb + c (the mean of A = Y s_fb + c), each sum in ascending k, then the bias.
    const LayerWeights& w = weights_.layers[sz(m)];
    const std::size_t n_fb = a.feedback.size();
    auto apical_of = [&](std::size_t i, const std::vector<double>& fb) {
      double acc = 0.0;
      for (std::size_t k = 0; k < n_fb; ++k) acc += w.Y[i * n_fb + k] * fb[k];
      return acc + w.c[i];
    };
    a.plateau.resize(a.apical.size());
    for (std::size_t i = 0; i < a.apical.size(); ++i) {
      a.apical[i] = apical_of(i, a.feedback);
      if (offsets == nullptr) {
        a.plateau[i] = sigmoid(a.apical[i]);
        continue;
      }
      const int end = steps - 1 - (*offsets)[sz(m)][i];
      std::vector<double> fb_mean(n_fb, 0.0);
      for (int t = end - offset_window + 1; t <= end; ++t) {
        for (std::size_t k = 0; k < n_fb; ++k) fb_mean[k] += feedback_history[sz(m)][sz(t)][k];
      }
      for (auto& v : fb_mean) v /= static_cast<double>(offset_window);
      a.plateau[i] = sigmoid(apical_of(i, fb_mean));
    }
  }
}

int ReferenceNetwork::predicted_class(const std::vector<double>& output) const {
  const int k = params_.neurons_per_class;
  int best = 0;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < params_.n_classes(); ++c) {
    double sum = 0.0;
    for (int j = 0; j < k; ++j) sum += output[sz(c * k + j)];
    if (sum / k > best_value) {
      best_value = sum / k;
      best = c;
    }
  }
  return best;
}

ExampleOutcome ReferenceNetwork::train_example(std::span<const double> pixels, int label,
                                               const ExampleSchedule& schedule, Stream* noise,
                                               ExampleTrace* trace) {
  const Params& p = params_;
  const int n_layers = p.n_layers();
  const double lm = p.lambda_max;
  present(state_, pixels);
  std::vector<LayerAverages> fwd, tgt;
  phase(state_, schedule.forward_steps, label, false, fwd,
        schedule.forward_offset.empty() ? nullptr : &schedule.forward_offset, schedule.offset_window);
  phase(state_, schedule.target_steps, label, true, tgt,
        schedule.target_offset.empty() ? nullptr : &schedule.target_offset, schedule.offset_window);

  ExampleOutcome out;
  const auto& u_f = fwd.back().soma;
  out.predicted = predicted_class(u_f);
  double loss = 0;
  for (std::size_t i = 0; i < u_f.size(); ++i) {
    const double diff = tgt.back().rate[i] - lm * sigmoid(u_f[i]);
    loss += diff * diff;
  }
  out.loss = loss / static_cast<double>(u_f.size());
  for (int m = 0; m < n_layers; ++m) {
    const auto& r = fwd[sz(m)].rate;
    out.mean_rate.push_back(std::accumulate(r.begin(), r.end(), 0.0) / static_cast<double>(r.size()));
  }

  // Updates, top layer first (spec 6.5).
  std::vector<std::vector<double>> error(sz(n_layers)), error_bp(sz(n_layers));
  for (int m = n_layers - 1; m >= 0; --m) {
    LayerWeights& w = weights_.layers[sz(m)];
    std::vector<double>& e = error[sz(m)];
    e.assign(sz(w.n_post), 0.0);
    error_bp[sz(m)].assign(sz(w.n_post), 0.0);
    for (int i = 0; i < w.n_post; ++i) {
      const double sg = sigmoid(fwd[sz(m)].soma[sz(i)]);
      if (m == n_layers - 1) {
        e[sz(i)] = -derived_.k_D * lm * sg * (1.0 - sg) * (tgt[sz(m)].rate[sz(i)] - lm * sg);
        error_bp[sz(m)][sz(i)] = e[sz(i)];
      } else {
        const double gain = derived_.k_B * lm * sg * (1.0 - sg);
        const LayerWeights& up = weights_.layers[sz(m + 1)];
        double acc = 0.0;
        for (int k = 0; k < up.n_post; ++k) acc += up.w(k, i) * error_bp[sz(m + 1)][sz(k)];
        error_bp[sz(m)][sz(i)] = acc * gain;
        e[sz(i)] = p.hidden_rule == HiddenRule::backprop
                       ? error_bp[sz(m)][sz(i)]
                       : -gain * (tgt[sz(m)].plateau[sz(i)] - fwd[sz(m)].plateau[sz(i)]);
      }
    }
    const double eta_p = p.learning_rates[sz(m)] * (m == n_layers - 1 ? p.P_output : p.P_hidden);
    for (int i = 0; i < w.n_post; ++i) {
      const double coef = eta_p * e[sz(i)];
      for (int j = 0; j < w.n_pre; ++j) w.w(i, j) -= coef * fwd[sz(m)].psp_pre[sz(j)];
      w.b[sz(i)] -= coef;
    }
  }
  if (p.feedback_learning_rate > 0) {
    for (int m = n_layers - 2; m >= 0; --m) {
      LayerWeights& w = weights_.layers[sz(m)];
      const LayerAverages& f = fwd[sz(m)];
      const std::size_t n_fb = f.feedback.size();
      for (std::size_t i = 0; i < f.apical.size(); ++i) {
        const double sa = sigmoid(f.apical[i]);
        const double coef =
            p.feedback_learning_rate * (-(lm * sigmoid(f.soma[i]) - f.plateau[i]) * sa * (1.0 - sa));
        for (std::size_t k = 0; k < n_fb; ++k) {
          if (w.Y_mask.empty() || w.Y_mask[i * n_fb + k] != 0) w.Y[i * n_fb + k] -= coef * f.feedback[k];
        }
      }
    }
  }
  if (p.feedback == FeedbackKind::symmetric) weights_.resync_feedback(p, noise);
  if (trace != nullptr) {
    trace->forward = std::move(fwd);
    trace->target = std::move(tgt);
    trace->error = std::move(error);
    trace->error_bp = std::move(error_bp);
  }
  return out;
}

int ReferenceNetwork::classify(std::span<const double> pixels, const std::string& stream, std::uint64_t pass,
                               std::uint64_t image, std::vector<double>* mean_output) const {
  const Params& p = params_;
  State s = make_state();
  open_generators(s, stream, pass, image);
  present(s, pixels);
  const int steps = p.mode == Mode::spiking ? p.test_steps : 2;
  const int first = p.mode == Mode::spiking ? p.test_settle_steps : 1;
  std::vector<double> sum(sz(p.n_output()), 0.0);
  for (int t = 0; t < steps; ++t) {
    step(s, -1, false);
    if (t < first) continue;
    const std::vector<double>& v = p.readout == Readout::voltage ? s.layer.back().soma : s.layer.back().rate;
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += v[i];
  }
  if (p.mode == Mode::spiking) {
    for (auto& v : sum) v /= static_cast<double>(steps - first);
  }
  if (mean_output != nullptr) *mean_output = sum;
  return predicted_class(sum);
}

}  // namespace apical::segregated
