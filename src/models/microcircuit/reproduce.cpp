// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/reproduce.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>

#include "apical/analysis/plots.hpp"
#include "apical/config/config.hpp"
#include "apical/core/error.hpp"
#include "apical/core/process.hpp"
#include "apical/data/dataset.hpp"
#include "apical/io/atomic_file.hpp"
#include "apical/io/csv.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/microcircuit/dynamics_experiment.hpp"
#include "apical/models/microcircuit/sweep_experiment.hpp"

namespace apical::microcircuit {
namespace {

namespace fs = std::filesystem;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string fmt_pct(double v) {
  return std::isfinite(v) ? fmt::format("{:.2f} %", v) : std::string("–");
}

bool wanted(const ReproduceOptions& o, const std::string& id) {
  if (o.figures.empty()) return true;
  for (const auto& f : o.figures) {
    if (f == id) return true;
  }
  return false;
}

/// Loads a config of the dynamics schema with overrides.
DynamicsExperiment dynamics(const ReproduceOptions& o, const std::string& file, std::vector<std::string> overrides) {
  return dynamics_from_config(config::Config::load(dynamics_schema(), o.configs / "sacramento2018" / file, overrides));
}

std::string figure1(const ReproduceOptions& o) {
  const DynamicsExperiment e = dynamics(o, "fig1.yaml", {});
  const Fig1Result r = run_fig1(e.fig1, e.seed);
  fig1_table(r).write(o.out / "Fig_1C.csv");
  const auto at = [&](double t) { return static_cast<std::size_t>(std::llround(t / e.fig1.record_every)); };
  const std::size_t on = at(r.target_on) + 50;
  return fmt::format(
      "## Fig 1: single-pattern association (full dynamics)\n\n"
      "30-20-10, self-predicting start, one pattern; the target is switched on at {:.0f} ms. The paper shows the "
      "curves only (Fig 1C): the apical error opens at the teaching onset and is closed again by plasticity while "
      "the interneurons learn to predict the upper layer.\n\n"
      "| quantity | before the target | 50 ms after the onset | end ({:.0f} ms) |\n|---|---|---|---|\n"
      "| ‖v_A‖ | {:.3g} | {:.3g} | {:.3g} |\n| ‖u_2 − u_I‖² | {:.3g} | {:.3g} | {:.3g} |\n"
      "| ‖v̂_B,2 − u_trgt‖² (output's own prediction) | {:.3g} | {:.3g} | {:.3g} |\n\n"
      "File: `Fig_1C.csv`.\n\n",
      r.target_on, r.time.back(), r.apical[at(r.target_on) - 1], r.apical[on], r.apical.back(),
      r.interneuron[at(r.target_on) - 1], r.interneuron[on], r.interneuron.back(),
      r.prediction_error[at(r.target_on) - 1], r.prediction_error[on], r.prediction_error.back());
}

std::string figure_s1(const ReproduceOptions& o) {
  std::vector<std::string> ov;
  if (o.patterns > 0) ov.push_back(fmt::format("s1.patterns={}", o.patterns));
  const DynamicsExperiment e = dynamics(o, "selfpredicting_s1.yaml", ov);
  const S1Result r = run_s1(e.s1, e.seed);
  s1_table(r).write(o.out / "Fig_S1.csv");
  return fmt::format(
      "## Fig S1: learning the self-predicting state (full dynamics)\n\n"
      "30-20-10 from a random start, {} random patterns without a target, only W^IP and W^PI plastic. The paper "
      "gives no numbers (supplement); both errors must fall towards 0.\n\n"
      "| quantity | start | end |\n|---|---|---|\n| ‖v_A‖ | {:.3g} | {:.3g} |\n| ‖u_2 − u_I‖² | {:.3g} | {:.3g} |\n"
      "| ‖W^PI + W^down‖ / ‖W^down‖ | {:.3g} | {:.3g} |\n| ‖W^IP − c W_2‖ / ‖c W_2‖ | {:.3g} | {:.3g} |\n\n"
      "File: `Fig_S1.csv`.\n\n",
      e.s1.patterns, r.apical.front(), r.apical.back(), r.interneuron.front(), r.interneuron.back(),
      r.pi_error.front(), r.pi_error.back(), r.ip_error.front(), r.ip_error.back());
}

std::string figure2(const ReproduceOptions& o) {
  std::vector<std::string> ov;
  if (o.trials > 0) {
    ov.push_back(fmt::format("fig2.trials={}", o.trials));
    ov.push_back(fmt::format("fig2.test_every={}", std::max<std::int64_t>(1, o.trials / 20)));
  }
  DynamicsExperiment e = dynamics(o, "regression_fig2.yaml", ov);
  e.fig2.shallow = false;
  const Fig2Result full = run_fig2(e.fig2, e.seed);
  e.fig2.shallow = true;
  const Fig2Result shallow = run_fig2(e.fig2, e.seed);
  io::CsvTable t({"trial", "microcircuit_error", "shallow_error", "angle_deg", "apical_norm"});
  for (std::size_t i = 0; i < full.trial.size(); ++i) {
    t.add_row({full.trial[i], full.test_error[i], shallow.test_error[i], full.angle[i], full.apical[i]});
  }
  t.write(o.out / "Fig_2.csv");
  return fmt::format(
      "## Fig 2: nonlinear regression, teacher–student (full dynamics)\n\n"
      "Student 30-50-10 from a random start, teacher 30-20-10, {} trials of 100 ms{}. Test error = mean "
      "‖r_2 − r_trgt‖² on {} unseen patterns, noise-free, no target.\n\n"
      "| quantity | paper | apical |\n|---|---|---|\n"
      "| test error, microcircuit | curve only, \"considerably\" below the shallow learner | {:.4g} → {:.4g} |\n"
      "| test error, shallow learner | curve only | {:.4g} → {:.4g} |\n"
      "| angle W^PP_{{2,1}} vs (W^PP_{{1,2}})ᵀ | ~45° (Fig S1) | {:.1f}° → {:.1f}° |\n"
      "| ‖v_A‖ on test patterns (self-prediction) | emerges | {:.3g} → {:.3g} |\n\n"
      "File: `Fig_2.csv`.\n\n",
      e.fig2.trials, o.trials > 0 ? " (shortened; the paper's axis suggests ~10^7)" : "", e.fig2.test_patterns,
      full.test_error.front(), full.test_error.back(), shallow.test_error.front(), shallow.test_error.back(),
      full.angle.front(), full.angle.back(), full.apical.front(), full.apical.back());
}

struct TrainedCurve {
  std::vector<SweepMetrics> metrics;
  bool reused = false;
};

/// Trains one MNIST condition into out/runs/<id>, or reuses a finished run with the same resolved config.
TrainedCurve train_condition(const ReproduceOptions& o, const MnistCondition& c, const data::DataSplit& data) {
  const fs::path file = o.configs / c.config;
  const std::string type = config::peek(file, {}, "model.type").value_or("");
  const config::Schema& schema = type == "baseline" ? baseline_schema() : microcircuit_schema();
  std::vector<std::string> ov;
  if (o.epochs > 0) ov.push_back(fmt::format("training.epochs={}", o.epochs));
  if (o.examples_per_epoch > 0) ov.push_back(fmt::format("training.examples_per_epoch={}", o.examples_per_epoch));
  if (o.test_examples > 0) ov.push_back(fmt::format("test.examples={}", o.test_examples));
  ov.push_back("training.save_epoch_weights=false");
  const config::Config cfg = config::Config::load(schema, file, ov);
  const SweepSettings st = sweep_settings_from_config(cfg);
  const fs::path dir = o.out / "runs" / c.id;
  TrainedCurve out;
  if (fs::exists(dir / "meta.json") && fs::exists(dir / "config.yaml") && fs::exists(dir / "metrics.csv")) {
    io::RunDir old = io::RunDir::open(dir);
    const nlohmann::json meta = old.read_meta();
    std::string text;
    {
      std::ifstream in(dir / "config.yaml");
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (meta.value("status", "") == "completed" && text == cfg.to_yaml()) {
      const io::CsvTable t = io::CsvTable::read(dir / "metrics.csv");
      for (std::size_t r = 0; r < t.rows(); ++r) {
        out.metrics.push_back({static_cast<int>(t.integer(r, "epoch")), t.number(r, "train_error_pct"),
                               t.number(r, "train_loss"), t.number(r, "validation_error_pct"),
                               t.number(r, "test_error_pct"), t.number(r, "apical_rms"), t.number(r, "wall_s"),
                               t.number(r, "examples_per_s")});
      }
      out.reused = true;
      return out;
    }
  }
  io::RunDir run = io::RunDir::create(c.id, dir, true);
  run.write_text("config.yaml", cfg.to_yaml());
  nlohmann::json meta = io::make_meta(st.seed, 0, nullptr);
  meta["config_file"] = file.string();
  run.write_meta(meta);
  if (!o.quiet) fmt::print(stderr, "fig 3: training {} ({})\n", c.id, file.string());
  const SweepSummary s = train_sweep(st, data, run, !o.quiet);
  io::finish_meta(meta, s.completed ? "completed" : "interrupted");
  run.write_meta(meta);
  if (!s.completed) fail("fig 3: {} was interrupted; run the command again to continue", c.id);
  out.metrics = s.metrics;
  return out;
}

std::string figure3(const ReproduceOptions& o) {
  const data::DataSplit data = data::load_dataset(data::DatasetKind::mnist, o.data_dir);
  std::vector<TrainedCurve> curves;
  for (const auto& c : mnist_conditions()) curves.push_back(train_condition(o, c, data));
  std::vector<std::string> header = {"epoch"};
  for (const auto& c : mnist_conditions()) header.push_back(c.id);
  io::CsvTable test(header), val(header);
  std::size_t epochs = 0;
  for (const auto& c : curves) epochs = std::max(epochs, c.metrics.size());
  for (std::size_t e = 0; e < epochs; ++e) {
    std::vector<io::CsvValue> tr = {static_cast<double>(e)}, vr = {static_cast<double>(e)};
    for (const auto& c : curves) {
      tr.emplace_back(e < c.metrics.size() ? c.metrics[e].test_error : kNaN);
      vr.emplace_back(e < c.metrics.size() ? c.metrics[e].validation_error : kNaN);
    }
    test.add_row(tr);
    val.add_row(vr);
  }
  test.write(o.out / "Fig_3B.csv");
  val.write(o.out / "Fig_3B_validation.csv");
  std::string table =
      "| condition | paper test error | apical test error | validation error | epochs | training error | "
      "apical ‖v_A‖ rms |\n|---|---|---|---|---|---|---|\n";
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const auto& c = mnist_conditions()[i];
    const SweepMetrics& m = curves[i].metrics.back();
    table += fmt::format("| {} ({}) | {} | {} | {} | {} | {} | {} |\n", c.id, c.paper_label, fmt_pct(c.paper_error),
                         fmt_pct(m.test_error), fmt_pct(m.validation_error), m.epoch, fmt_pct(m.train_error),
                         std::isfinite(m.apical) ? fmt::format("{:.2g}", m.apical) : std::string("–"));
  }
  return fmt::format(
      "## Fig 3: MNIST (two-sweep steady state) and baselines\n\n"
      "55,000 training / 5,000 validation (the last 5,000 of the training file) / 10,000 test images{}. The test "
      "error is reported but was never used to choose anything. Paper: the microcircuit 1.96 %, with W^PP_{{2,1}} "
      "frozen 2.11 %, 784-1000-10 with learned top-down weights 2.48 %, backprop 1.53 %, shallow learner 8.4 %; "
      "FA and DFA were not run in the paper (it cites 1.6–2.4 % for published FA/DFA/DTP results); backprop_1000 is "
      "backprop on the 784-1000-10 network of the learned-top-down run (no paper number).\n\n{}\n"
      "Files: `Fig_3B.csv` (test error per epoch, epoch 0 = before training), `Fig_3B_validation.csv`, runs in "
      "`runs/`.\n\n",
      o.epochs > 0 || o.examples_per_epoch > 0
          ? fmt::format(" — **shortened run**: {} epochs of {} examples", o.epochs > 0 ? std::to_string(o.epochs) : "the configs'",
                        o.examples_per_epoch > 0 ? std::to_string(o.examples_per_epoch) : "55,000")
          : std::string(),
      table);
}

}  // namespace

const std::vector<MnistCondition>& mnist_conditions() {
  static const std::vector<MnistCondition> c = {
      {"microcircuit", "sacramento2018/mnist_microcircuit.yaml", 1.96, "784-500-500-10"},
      {"frozen_hidden", "sacramento2018/mnist_frozen_hidden.yaml", 2.11, "W^PP_{2,1} frozen"},
      {"learned_topdown", "sacramento2018/mnist_learned_topdown.yaml", 2.48, "784-1000-10, Eq. 10"},
      {"backprop", "baselines/backprop.yaml", 1.53, "784-500-500-10"},
      {"fa", "baselines/fa.yaml", kNaN, "784-500-500-10"},
      {"dfa", "baselines/dfa.yaml", kNaN, "784-500-500-10"},
      {"shallow", "baselines/shallow.yaml", 8.4, "784-10"},
      {"backprop_1000", "baselines/backprop_784-1000-10.yaml", kNaN, "784-1000-10"},
  };
  return c;
}

fs::path reproduce_sacramento(const ReproduceOptions& o) {
  for (const auto& f : o.figures) {
    if (f != "1" && f != "2" && f != "3" && f != "s1") fail("--figure {}: unknown; valid: 1, 2, 3, s1", f);
  }
  fs::create_directories(o.out);
  std::string report =
      "# Sacramento, Ponte Costa, Bengio & Senn (2018), reproduced by apical\n\n"
      "\"Dendritic cortical microcircuits approximate the backpropagation algorithm\", NeurIPS 2018. Generated by "
      "`apical reproduce sacramento2018` (git " + io::git_commit() + "). Model and choices: "
      "docs/models/dendritic-microcircuits.md.\n\n";
  const auto say = [&](const std::string& s) {
    if (!o.quiet) fmt::print(stderr, "{}\n", s);
  };
  if (wanted(o, "s1")) {
    say("fig s1 ...");
    report += figure_s1(o);
  }
  if (wanted(o, "1")) {
    say("fig 1 ...");
    report += figure1(o);
  }
  if (wanted(o, "2")) {
    say("fig 2 ...");
    report += figure2(o);
  }
  if (wanted(o, "3")) {
    say("fig 3 ...");
    report += figure3(o);
  }
  const std::string plots = analysis::draw_plots("sacramento2018", o.out);
  say(plots);
  report += "## Plots\n\n" + plots + "\n";
  const fs::path path = o.out / "report.md";
  io::write_file_atomic(path, report);
  return path;
}

}  // namespace apical::microcircuit
