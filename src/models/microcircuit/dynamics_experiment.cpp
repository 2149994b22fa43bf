// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/dynamics_experiment.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "apical/core/error.hpp"
#include "apical/core/progress.hpp"
#include "apical/io/archive.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/microcircuit/sweep_experiment.hpp"

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
  s.add_int("fig2.checkpoint_every", 10000, "patterns",
            "trials between checkpoints (apical resume continues a stopped run exactly); 0 = none", nonnegative);
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

// ---- Fig 2 checkpoints: the network's weights and complete dynamic state ----------------------------------------

constexpr const char* kCheckpointFile = "checkpoint.apical";
constexpr const char* kCheckpointFormat = "apical.microcircuit.fig2.checkpoint";

template <class M>
void put(io::ArchiveWriter& a, const std::string& name, const M& m) {
  a.put(name, std::span<const double>(m.data(), static_cast<std::size_t>(m.size())),
        {static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())});
}

template <class M>
void get(const io::ArchiveReader& a, const std::string& name, M& m) {
  const auto& shape = a.shape(name);
  const std::vector<double> v = a.get<double>(name);
  if constexpr (M::ColsAtCompileTime == 1) {
    m.resize(static_cast<Eigen::Index>(shape[0]));
  } else {
    m.resize(static_cast<Eigen::Index>(shape[0]), static_cast<Eigen::Index>(shape[1]));
  }
  std::copy(v.begin(), v.end(), m.data());
}

/// Every matrix and vector of the weights and the state, with its archive name.
template <class W, class S, class F>
void each_array(W& w, S& s, F&& f) {
  const auto list = [&](auto& v, const char* name) {
    for (std::size_t k = 0; k < v.size(); ++k) f(fmt::format("{}_{}", name, k), v[k]);
  };
  list(w.up, "W_up");
  list(w.down, "W_down");
  list(w.ip, "W_ip");
  list(w.pi, "W_pi");
  list(w.up_bias, "b_up");
  list(w.ip_bias, "b_ip");
  list(s.u_P, "u_P");
  list(s.u_I, "u_I");
  list(s.d_up, "d_up");
  list(s.d_down, "d_down");
  list(s.d_ip, "d_ip");
  list(s.d_pi, "d_pi");
  list(s.d_up_bias, "d_up_bias");
  list(s.d_ip_bias, "d_ip_bias");
  f("r_in", s.r_in);
  f("pattern", s.pattern);
  f("target", s.target);
  f("target_pattern", s.target_pattern);
}

void write_fig2_checkpoint(const io::RunDir& run, const Network& net, const Stream& train, std::int64_t trial,
                           const Fig2Result& r) {
  io::ArchiveWriter a;
  each_array(net.weights(), net.state(), [&](const std::string& name, const auto& m) { put(a, name, m); });
  a.put("result_trial", r.trial);
  a.put("result_test_error", r.test_error);
  a.put("result_angle", r.angle);
  a.put("result_apical", r.apical);
  std::vector<std::uint64_t> noise_P, noise_I;
  for (const auto& st : net.state().noise_P) noise_P.push_back(st.position());
  for (const auto& st : net.state().noise_I) noise_I.push_back(st.position());
  a.put("noise_P", noise_P);
  a.put("noise_I", noise_I);
  a.set_meta({{"format", kCheckpointFormat},
              {"version", 1},
              {"trial", trial},
              {"train_position", train.position()},
              {"step", net.state().step},
              {"pattern_step", net.state().pattern_step},
              {"nudged", net.state().nudged}});
  a.write(run.file(kCheckpointFile));
}

void read_fig2_checkpoint(const io::RunDir& run, Fig2Resume& resume) {
  const io::ArchiveReader a = io::ArchiveReader::open(run.file(kCheckpointFile));
  const nlohmann::json& m = a.meta();
  if (m.value("format", "") != kCheckpointFormat) {
    fail("{}: not a Fig 2 checkpoint (format '{}')", a.source().string(), m.value("format", ""));
  }
  Network& net = resume.net;
  each_array(net.weights(), net.state(), [&](const std::string& name, auto& x) { get(a, name, x); });
  resume.result.trial = a.get<double>("result_trial");
  resume.result.test_error = a.get<double>("result_test_error");
  resume.result.angle = a.get<double>("result_angle");
  resume.result.apical = a.get<double>("result_apical");
  const auto noise_P = a.get<std::uint64_t>("noise_P");
  const auto noise_I = a.get<std::uint64_t>("noise_I");
  State& s = net.state();
  if (noise_P.size() != s.noise_P.size() || noise_I.size() != s.noise_I.size()) {
    fail("{}: the checkpoint's network has other layers than the config", a.source().string());
  }
  for (std::size_t k = 0; k < noise_P.size(); ++k) s.noise_P[k].seek(noise_P[k]);
  for (std::size_t k = 0; k < noise_I.size(); ++k) s.noise_I[k].seek(noise_I[k]);
  s.step = m.at("step").get<std::int64_t>();
  s.pattern_step = m.at("pattern_step").get<std::int64_t>();
  s.nudged = m.at("nudged").get<bool>();
  resume.trial = m.at("trial").get<std::int64_t>();
  resume.train.seek(m.at("train_position").get<std::uint64_t>());
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
  e.fig2_checkpoint_every = c.get_int("fig2.checkpoint_every");
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

Fig2Resume load_fig2_checkpoint(const DynamicsExperiment& e, const io::RunDir& run) {
  // The network as run_fig2 builds it (the shallow control's rates), then the checkpoint's weights and state.
  Params p = e.fig2.params;
  if (e.fig2.shallow) {
    for (std::size_t k = 0; k + 1 < p.eta_up.size(); ++k) p.eta_up[k] = 0;
    p.eta_ip.assign(p.eta_ip.size(), 0.0);
    p.eta_pi.assign(p.eta_pi.size(), 0.0);
    p.eta_down.assign(p.eta_down.size(), 0.0);
  }
  Fig2Resume resume{Network(p, Weights::random(p, e.seed), e.seed), Stream(e.seed, "fig2.train"), 0, {}};
  read_fig2_checkpoint(run, resume);
  return resume;
}

DynamicsOutcome run_dynamics(const DynamicsExperiment& e, io::RunDir& run, bool show_progress) {
  ProgressOptions popt;
  popt.quiet = !show_progress;
  popt.unit = "patterns";
  if (e.kind == "fig1") {
    const Fig1Result r = run_fig1(e.fig1, e.seed);
    write_table(run, fig1_table(r));
    save_network_weights(run, "weights/initial", e.fig1.params, r.initial);
    save_network_weights(run, "weights/final", e.fig1.params, r.final);
    return {fmt::format("fig1: ||v_A|| {:.3g} at the target onset, {:.3g} at the end; output prediction error {:.3g} -> {:.3g}",
                       r.apical[static_cast<std::size_t>(r.target_on / e.fig1.record_every)], r.apical.back(),
                       r.prediction_error.front(), r.prediction_error.back()), true};
  }
  if (e.kind == "selfpredicting_s1") {
    Progress progress("s1", static_cast<std::uint64_t>(e.s1.patterns), stderr, popt);
    const S1Result r = run_s1(e.s1, e.seed, [&](int i) { progress.update(static_cast<std::uint64_t>(i)); });
    progress.finish();
    write_table(run, s1_table(r));
    save_network_weights(run, "weights/initial", e.s1.params, r.initial);
    save_network_weights(run, "weights/final", e.s1.params, r.final);
    return {fmt::format("s1: ||v_A|| {:.3g} -> {:.3g}, ||u_2 - u_I||^2 {:.3g} -> {:.3g} after {} patterns", r.apical.front(),
                       r.apical.back(), r.interneuron.front(), r.interneuron.back(), e.s1.patterns), true};
  }
  Progress progress(e.fig2.shallow ? "fig2 shallow" : "fig2", static_cast<std::uint64_t>(e.fig2.trials), stderr, popt);
  Fig2Control control;
  control.checkpoint_every = e.fig2_checkpoint_every;
  control.save = [&](const Network& net, const Stream& train, std::int64_t trial, const Fig2Result& so_far) {
    write_fig2_checkpoint(run, net, train, trial, so_far);
  };
  control.stop = [] { return sweep_stop_requested.load(); };
  std::optional<Fig2Resume> resume;
  if (std::filesystem::exists(run.file(kCheckpointFile))) {
    resume.emplace(load_fig2_checkpoint(e, run));
    if (show_progress) fmt::print(stderr, "resuming {} after trial {}\n", run.path().string(), resume->trial);
  } else {
    save_network_weights(run, "weights/initial", e.fig2.params, Network(e.fig2.params, Weights::random(e.fig2.params, e.seed), e.seed).weights());
  }
  const Fig2Result r = run_fig2(e.fig2, e.seed, [&](std::int64_t i) { progress.update(static_cast<std::uint64_t>(i)); },
                                control, resume ? &*resume : nullptr);
  progress.finish();
  write_table(run, fig2_table(r));
  if (!r.completed) {
    return {fmt::format("fig2: stopped with a checkpoint; continue with: apical resume {}", run.path().string()), false};
  }
  save_network_weights(run, "weights/final", e.fig2.params, r.final);
  return {fmt::format("fig2{}: test error {:.4g} -> {:.4g}, angle {:.1f} deg after {} trials", e.fig2.shallow ? " (shallow)" : "",
                      r.test_error.front(), r.test_error.back(), r.angle.back(), e.fig2.trials),
          true};
}

}  // namespace apical::microcircuit
