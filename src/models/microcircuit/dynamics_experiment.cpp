// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/dynamics_experiment.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "apical/core/error.hpp"
#include "apical/core/progress.hpp"
#include "apical/io/run_dir.hpp"

namespace apical::microcircuit {
namespace {

config::Schema build_schema() {
  config::Schema s;
  const Params d;
  const Fig1Settings f1;
  const S1Settings s1;
  const Fig2Settings f2;
  const config::Bounds positive{.min = 0, .min_exclusive = true};
  const config::Bounds nonnegative{.min = 0};
  const config::Bounds at_least_one{.min = 1};
  s.add_string("name", "microcircuit", "run name: the run folder is runs/<name>-<timestamp>");
  s.add_int("seed", 1, "", "experiment seed: weights, patterns, teacher and noise derive from it", nonnegative);
  s.add_choice("model.type", "microcircuit", {"microcircuit"}, "model family: microcircuit = Sacramento et al. 2018");
  s.add_choice("experiment", "regression_fig2", {"fig1", "selfpredicting_s1", "regression_fig2"},
               "full-dynamics experiment: Fig 1 association, Fig S1 self-prediction, Fig 2 teacher-student regression "
               "(experiment: mnist is the two-sweep model, another schema)");
  s.add_int_list("model.layers", {30, 50, 10}, "neurons", "all layer sizes, input first (Fig 2 student: 30-50-10)",
                 {.min = 1, .min_length = 3});
  s.add_choice("model.transfer", "soft_relu", {"soft_relu", "logistic"},
               "phi: gamma ln(1 + exp(beta (u - theta))) (Fig 2) or the logistic function");
  s.add_real("model.gamma", d.transfer.gamma, "1", "soft-ReLU scale (Fig 2: 0.1; softplus: 1)", positive);
  s.add_real("model.beta", d.transfer.beta, "1", "soft-ReLU steepness (Fig 2: 1)", positive);
  s.add_real("model.theta", d.transfer.theta, "1", "soft-ReLU threshold (Fig 2: 3; softplus: 0)");
  s.add_real("model.g_lk", d.g_lk, "1/ms", "leak conductance", positive);
  s.add_real("model.g_B", d.g_B, "1/ms", "basal dendrite -> soma", positive);
  s.add_real("model.g_A", d.g_A, "1/ms", "apical dendrite -> soma (hidden pyramids)", nonnegative);
  s.add_real("model.g_D", d.g_D, "1/ms", "interneuron dendrite -> soma", positive);
  s.add_real("model.g_som", d.g_som, "1/ms", "output nudging conductance", nonnegative);
  s.add_real("model.g_som_interneuron", d.g_som_interneuron, "1/ms", "interneuron nudging conductance", nonnegative);
  s.add_real("noise.sigma", d.sigma, "1", "noise amplitude (Fig 2: 0.3; Figs 1, S1: 0.1)", nonnegative);
  s.add_choice("noise.scaling", "euler_maruyama", {"euler_maruyama", "per_step"},
               "sigma sqrt(dt) N(0,1) per step (decision 10.7) or dt sigma N(0,1) (the reimplementations)");
  s.add_real("dynamics.dt", d.dt, "ms", "Euler step", positive);
  s.add_real("dynamics.pattern_duration", d.pattern_duration, "ms", "presentation time of one pattern", positive);
  s.add_real("dynamics.input_tau", d.input_tau, "ms", "low-pass filter of the input rates (0 = none)", nonnegative);
  s.add_real("plasticity.tau_w", d.tau_w, "ms", "low-pass filter of the plasticity induction (0 = none)",
             nonnegative);
  s.add_real_list("plasticity.eta_up", d.eta_up, "1/ms", "bottom-up rates (Eq. 7), one per non-input layer",
                  {.min = 0, .min_length = 1});
  s.add_real_list("plasticity.eta_down", d.eta_down, "1/ms", "top-down rates (Eq. 10), one per hidden layer",
                  {.min = 0});
  s.add_real_list("plasticity.eta_ip", d.eta_ip, "1/ms", "pyramid -> interneuron rates (Eq. 8), one per hidden layer",
                  {.min = 0});
  s.add_real_list("plasticity.eta_pi", d.eta_pi, "1/ms", "interneuron -> apical rates (Eq. 9), one per hidden layer",
                  {.min = 0});
  s.add_real("init.scale_up", d.init_up, "1", "bottom-up weights ~ U(-a, a)", nonnegative);
  s.add_real("init.scale_down", d.init_down, "1", "top-down weights ~ U(-a, a)", nonnegative);
  s.add_real("init.scale_ip", d.init_ip, "1", "pyramid -> interneuron weights ~ U(-a, a)", nonnegative);
  s.add_real("init.scale_pi", d.init_pi, "1", "interneuron -> apical weights ~ U(-a, a)", nonnegative);
  s.add_choice("fig1.start", "closed_form", {"closed_form", "learned"},
               "self-predicting start: closed form (spec 4.2) or learned by the S1 protocol");
  s.add_int("fig1.pretrain_patterns", f1.pretrain_patterns, "patterns", "learned start: S1 patterns", nonnegative);
  s.add_real("fig1.baseline", f1.baseline, "ms", "pattern without target before the teaching signal", nonnegative);
  s.add_real("fig1.duration", f1.duration, "ms", "association with the target on (Fig 1C: 1500 ms)", positive);
  s.add_real("fig1.record_every", f1.record_every, "ms", "sampling interval of the traces", positive);
  s.add_int("s1.patterns", s1.patterns, "patterns", "random patterns without target", nonnegative);
  s.add_int("s1.probe_every", s1.probe_every, "patterns", "patterns between noise-free probes", at_least_one);
  s.add_int("s1.probe_patterns", s1.probe_patterns, "patterns", "probe patterns (the same at every probe)",
            at_least_one);
  s.add_int("fig2.trials", f2.trials, "patterns", "training trials (fresh random pattern each)", nonnegative);
  s.add_int("fig2.test_every", f2.test_every, "patterns", "trials between noise-free tests", at_least_one);
  s.add_int("fig2.test_patterns", f2.test_patterns, "patterns", "unseen test patterns", at_least_one);
  s.add_bool("fig2.shallow", f2.shallow, "shallow-learner control: only the hidden -> output weights learn");
  s.add_int_list("teacher.layers", {30, 20, 10}, "neurons", "teacher network sizes (Fig 2: 30-20-10)",
                 {.min = 1, .min_length = 2});
  s.add_real("teacher.k_hidden", f2.teacher_k_hidden, "1", "teacher gain k_{1,0} (paper: 2)");
  s.add_real("teacher.k_out", f2.teacher_k_out, "1", "teacher gain k_{2,1} (paper: 10)");
  s.add_real("inputs.low", f2.input_low, "1", "input patterns ~ U(low, high) (Fig 2: -1; Figs 1, S1: 0)");
  s.add_real("inputs.high", f2.input_high, "1", "upper end of the input distribution");
  return s;
}

std::vector<int> to_int(const std::vector<std::int64_t>& v) {
  return {v.begin(), v.end()};
}

Params params_from(const config::Config& c) {
  Params p;
  p.layers = to_int(c.get_int_list("model.layers"));
  p.transfer.kind = c.get_string("model.transfer") == "logistic" ? TransferKind::logistic : TransferKind::soft_relu;
  p.transfer.gamma = c.get_real("model.gamma");
  p.transfer.beta = c.get_real("model.beta");
  p.transfer.theta = c.get_real("model.theta");
  p.g_lk = c.get_real("model.g_lk");
  p.g_B = c.get_real("model.g_B");
  p.g_A = c.get_real("model.g_A");
  p.g_D = c.get_real("model.g_D");
  p.g_som = c.get_real("model.g_som");
  p.g_som_interneuron = c.get_real("model.g_som_interneuron");
  p.sigma = c.get_real("noise.sigma");
  p.noise_scaling =
      c.get_string("noise.scaling") == "per_step" ? NoiseScaling::per_step : NoiseScaling::euler_maruyama;
  p.dt = c.get_real("dynamics.dt");
  p.pattern_duration = c.get_real("dynamics.pattern_duration");
  p.input_tau = c.get_real("dynamics.input_tau");
  p.tau_w = c.get_real("plasticity.tau_w");
  p.eta_up = c.get_real_list("plasticity.eta_up");
  p.eta_down = c.get_real_list("plasticity.eta_down");
  p.eta_ip = c.get_real_list("plasticity.eta_ip");
  p.eta_pi = c.get_real_list("plasticity.eta_pi");
  p.init_up = c.get_real("init.scale_up");
  p.init_down = c.get_real("init.scale_down");
  p.init_ip = c.get_real("init.scale_ip");
  p.init_pi = c.get_real("init.scale_pi");
  try {
    p.validate();
  } catch (const Error& e) {
    fail("{}: {}", c.source(), e.what());
  }
  return p;
}

void write_table(const io::RunDir& run, const io::CsvTable& t) {
  run.write_text("metrics.csv", t.str());
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t r = 0; r < t.rows(); ++r) {
    nlohmann::json row;
    for (const auto& h : t.header()) {
      const double v = t.number(r, h);
      row[h] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    }
    rows.push_back(row);
  }
  run.write_text("metrics.json", rows.dump(2) + "\n");
}

void save_matrix(const io::RunDir& run, const std::string& file, const Matrix& m) {
  run.write_npy(file, std::span<const double>(m.data(), static_cast<std::size_t>(m.size())),
                {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())});
}

}  // namespace

const config::Schema& dynamics_schema() {
  static const config::Schema s = build_schema();
  return s;
}

DynamicsExperiment dynamics_from_config(const config::Config& c) {
  DynamicsExperiment e;
  e.name = c.get_string("name");
  e.seed = static_cast<std::uint64_t>(c.get_int("seed"));
  e.kind = c.get_string("experiment");
  const Params p = params_from(c);
  e.fig1.params = p;
  e.fig1.start = c.get_string("fig1.start") == "learned" ? SelfPredictingStart::learned : SelfPredictingStart::closed_form;
  e.fig1.pretrain_patterns = static_cast<int>(c.get_int("fig1.pretrain_patterns"));
  e.fig1.baseline = c.get_real("fig1.baseline");
  e.fig1.duration = c.get_real("fig1.duration");
  e.fig1.record_every = c.get_real("fig1.record_every");
  e.s1.params = p;
  e.s1.patterns = static_cast<int>(c.get_int("s1.patterns"));
  e.s1.probe_every = static_cast<int>(c.get_int("s1.probe_every"));
  e.s1.probe_patterns = static_cast<int>(c.get_int("s1.probe_patterns"));
  e.s1.input_low = c.get_real("inputs.low");
  e.s1.input_high = c.get_real("inputs.high");
  e.fig2.params = p;
  e.fig2.trials = c.get_int("fig2.trials");
  e.fig2.test_every = c.get_int("fig2.test_every");
  e.fig2.test_patterns = static_cast<int>(c.get_int("fig2.test_patterns"));
  e.fig2.shallow = c.get_bool("fig2.shallow");
  e.fig2.teacher_layers = to_int(c.get_int_list("teacher.layers"));
  e.fig2.teacher_k_hidden = c.get_real("teacher.k_hidden");
  e.fig2.teacher_k_out = c.get_real("teacher.k_out");
  e.fig2.input_low = c.get_real("inputs.low");
  e.fig2.input_high = c.get_real("inputs.high");
  if (!(e.fig2.input_low < e.fig2.input_high)) {
    fail("{}: inputs.low = {} must be below inputs.high = {}", c.source(), e.fig2.input_low, e.fig2.input_high);
  }
  return e;
}

io::CsvTable fig1_table(const Fig1Result& r) {
  io::CsvTable t({"time_ms", "apical_norm", "interneuron_error", "output_error", "prediction_error", "target_on"});
  for (std::size_t i = 0; i < r.time.size(); ++i) {
    t.add_row({r.time[i], r.apical[i], r.interneuron[i], r.output_error[i], r.prediction_error[i],
               r.time[i] >= r.target_on ? 1 : 0});
  }
  return t;
}

io::CsvTable s1_table(const S1Result& r) {
  io::CsvTable t({"pattern", "apical_norm", "interneuron_error", "pi_error", "ip_error"});
  for (std::size_t i = 0; i < r.pattern.size(); ++i) {
    t.add_row({r.pattern[i], r.apical[i], r.interneuron[i], r.pi_error[i], r.ip_error[i]});
  }
  return t;
}

io::CsvTable fig2_table(const Fig2Result& r) {
  io::CsvTable t({"trial", "test_error", "angle_deg", "apical_norm"});
  for (std::size_t i = 0; i < r.trial.size(); ++i) t.add_row({r.trial[i], r.test_error[i], r.angle[i], r.apical[i]});
  return t;
}

void save_network_weights(const io::RunDir& run, const std::string& folder, const Params& p, const Weights& w) {
  for (int k = 1; k <= p.n_top(); ++k) {
    const auto K = static_cast<std::size_t>(k);
    save_matrix(run, fmt::format("{}/W_up_{}.npy", folder, k), w.up[K]);
    if (!p.is_hidden(k)) continue;
    save_matrix(run, fmt::format("{}/W_down_{}.npy", folder, k), w.down[K]);
    save_matrix(run, fmt::format("{}/W_ip_{}.npy", folder, k), w.ip[K]);
    save_matrix(run, fmt::format("{}/W_pi_{}.npy", folder, k), w.pi[K]);
  }
}

std::string run_dynamics(const DynamicsExperiment& e, io::RunDir& run, bool show_progress) {
  ProgressOptions popt;
  popt.quiet = !show_progress;
  popt.unit = "patterns";
  if (e.kind == "fig1") {
    const Fig1Result r = run_fig1(e.fig1, e.seed);
    write_table(run, fig1_table(r));
    save_network_weights(run, "weights/initial", e.fig1.params, r.initial);
    save_network_weights(run, "weights/final", e.fig1.params, r.final);
    return fmt::format("fig1: ||v_A|| {:.3g} at the target onset, {:.3g} at the end; output prediction error {:.3g} -> {:.3g}",
                       r.apical[static_cast<std::size_t>(r.target_on / e.fig1.record_every)], r.apical.back(),
                       r.prediction_error.front(), r.prediction_error.back());
  }
  if (e.kind == "selfpredicting_s1") {
    Progress progress("s1", static_cast<std::uint64_t>(e.s1.patterns), stderr, popt);
    const S1Result r = run_s1(e.s1, e.seed, [&](int i) { progress.update(static_cast<std::uint64_t>(i)); });
    progress.finish();
    write_table(run, s1_table(r));
    save_network_weights(run, "weights/initial", e.s1.params, r.initial);
    save_network_weights(run, "weights/final", e.s1.params, r.final);
    return fmt::format("s1: ||v_A|| {:.3g} -> {:.3g}, ||u_2 - u_I||^2 {:.3g} -> {:.3g} after {} patterns", r.apical.front(),
                       r.apical.back(), r.interneuron.front(), r.interneuron.back(), e.s1.patterns);
  }
  Progress progress(e.fig2.shallow ? "fig2 shallow" : "fig2", static_cast<std::uint64_t>(e.fig2.trials), stderr, popt);
  const Fig2Result r = run_fig2(e.fig2, e.seed, [&](std::int64_t i) { progress.update(static_cast<std::uint64_t>(i)); });
  progress.finish();
  write_table(run, fig2_table(r));
  save_network_weights(run, "weights/initial", e.fig2.params, r.initial);
  save_network_weights(run, "weights/final", e.fig2.params, r.final);
  return fmt::format("fig2{}: test error {:.4g} -> {:.4g}, angle {:.1f} deg after {} trials", e.fig2.shallow ? " (shallow)" : "",
                     r.test_error.front(), r.test_error.back(), r.angle.back(), e.fig2.trials);
}

}  // namespace apical::microcircuit
