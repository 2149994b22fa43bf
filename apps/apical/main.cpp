// SPDX-License-Identifier: Apache-2.0
// The apical command-line program: parses, validates, calls the library and writes outputs. No science here.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "apical/analysis/stats.hpp"
#include "apical/bench/bench.hpp"
#include "apical/config/config.hpp"
#include "apical/core/error.hpp"
#include "apical/data/dataset.hpp"
#include "apical/io/atomic_file.hpp"
#include "apical/io/csv.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/microcircuit/dynamics_experiment.hpp"
#include "apical/models/microcircuit/reproduce.hpp"
#include "apical/models/microcircuit/sweep_experiment.hpp"
#include "apical/models/segregated/experiment.hpp"
#include "apical/models/segregated/reproduce.hpp"
#include "apical/models/segregated/settings.hpp"

namespace {

using namespace apical;
namespace fs = std::filesystem;

void on_signal(int /*sig*/) {
  segregated::stop_requested.store(true);
  microcircuit::sweep_stop_requested.store(true);
}

void install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

std::optional<fs::path> optional_path(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return fs::path(s);
}

/// The model family of a config (model.type; segregated when absent), checked before loading with its schema.
std::string model_type(const fs::path& file, const std::vector<std::string>& overrides) {
  const auto type = config::peek(file, overrides, "model.type");
  if (!type) return "segregated";
  if (*type != "segregated" && *type != "microcircuit" && *type != "baseline") {
    fail("{}: model.type = '{}' is not available; valid choices: segregated, microcircuit, baseline",
         file.string(), *type);
  }
  return *type;
}

/// "microcircuit" configs with an experiment other than mnist are the full-dynamics experiments.
std::string model_kind(const fs::path& file, const std::vector<std::string>& overrides) {
  const std::string type = model_type(file, overrides);
  if (type != "microcircuit") return type;
  const auto experiment = config::peek(file, overrides, "experiment");
  return experiment && *experiment != "mnist" ? "microcircuit_dynamics" : type;
}

bool is_sweep(const std::string& type) {
  return type == "microcircuit" || type == "baseline";
}

const config::Schema& schema_of(const std::string& type) {
  if (type == "microcircuit_dynamics") return microcircuit::dynamics_schema();
  if (type == "microcircuit") return microcircuit::microcircuit_schema();
  if (type == "baseline") return microcircuit::baseline_schema();
  return segregated::schema();
}

data::DataSplit load_data(const segregated::ExperimentSettings& st, const std::string& data_dir) {
  return data::load_dataset(data::parse_dataset_kind(st.dataset), optional_path(data_dir));
}

/// How a training ended: whether it completed, and the exit code of the command.
struct Ending {
  bool completed = false;
  int exit_code = 0;
};

/// Runs a training (`body` returns its Ending) with meta.json bookkeeping: status completed / interrupted /
/// failed.
template <typename Body>
int run_with_meta(io::RunDir& run, nlohmann::json meta, Body body) {
  install_signal_handlers();
  Ending end;
  io::record_ending(run, meta, [&] {
    end = body();
    return end.completed;
  });
  return end.exit_code;
}

/// The last line of an epoch-based training: where the results are, or how to continue.
void print_ending(bool completed, int epochs_done, const fs::path& run_dir) {
  if (completed) {
    fmt::print("results: {}\n", run_dir.string());
  } else {
    fmt::print("stopped after epoch {} with a checkpoint; continue with: apical resume {}\n", epochs_done,
               run_dir.string());
  }
}

/// A new run folder for a training: the resolved config.yaml and meta.json (seed, config file, data folder).
io::RunDir start_run(const std::string& name, const config::Config& cfg, const std::string& file,
                     std::uint64_t seed, const data::DataSplit* data, const std::string& out, bool overwrite,
                     bool quiet, int argc, char** argv, nlohmann::json& meta) {
  io::RunDir run = io::RunDir::create(name, optional_path(out), overwrite);
  run.write_text("config.yaml", cfg.to_yaml());
  meta = io::make_meta(seed, argc, argv);
  meta["config_file"] = file;
  if (data != nullptr) meta["data"] = data->folder.string();
  run.write_meta(meta);
  if (!quiet) fmt::print(stderr, "run folder: {}\n", run.path().string());
  return run;
}

/// The --set overrides of `apical resume`: only the `allowed` keys, which leave the simulated trajectory as it is;
/// `first` comes before them (e.g. clearing training.stop_after).
std::vector<std::string> resume_overrides(const std::vector<std::string>& overrides,
                                          const std::vector<std::string>& allowed,
                                          std::vector<std::string> first) {
  for (const auto& o : overrides) {
    const std::string key = o.substr(0, o.find('='));
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail("--set {}: {} cannot be changed when resuming (it would change the simulation); resumable settings: {}",
           o, key, fmt::join(allowed, ", "));
    }
    first.push_back(o);
  }
  return first;
}

/// Marks a stopped run as running again: the config with its resume overrides, meta.json with the resume time.
nlohmann::json reopen_run(io::RunDir& run, const config::Config& cfg) {
  nlohmann::json meta = run.read_meta();
  meta["resumed"].push_back(io::iso8601_utc_now());
  meta["status"] = "running";
  run.write_text("config.yaml", cfg.to_yaml());
  run.write_meta(meta);
  return meta;
}

int run_training(const segregated::ExperimentSettings& st, const data::DataSplit& data, io::RunDir& run,
                 nlohmann::json meta, bool quiet) {
  return run_with_meta(run, std::move(meta), [&] {
    const segregated::TrainSummary s = segregated::train(st, data, run, !quiet);
    if (!s.metrics.empty()) {
      const auto& last = s.metrics.back();
      fmt::print("epoch {}: test error {:.2f} %", last.epoch, last.test_error);
      if (std::isfinite(last.train_error)) fmt::print(", training error {:.2f} %", last.train_error);
      fmt::print("\n");
    }
    print_ending(s.completed, s.epochs_done, s.run_dir);
    return Ending{s.completed, s.completed ? 0 : (segregated::stop_requested.load() ? 130 : 0)};
  });
}

// ---- two-sweep microcircuit and baselines (model.type: microcircuit | baseline)
// ----------------------------------

int run_sweep_training(const microcircuit::SweepSettings& st, const data::DataSplit& data, io::RunDir& run,
                       nlohmann::json meta, bool quiet) {
  return run_with_meta(run, std::move(meta), [&] {
    const microcircuit::SweepSummary s = microcircuit::train_sweep(st, data, run, !quiet);
    if (!s.metrics.empty()) {
      const auto& last = s.metrics.back();
      fmt::print("epoch {}: validation error {:.2f} %, test error {:.2f} %", last.epoch, last.validation_error,
                 last.test_error);
      if (std::isfinite(last.train_error)) fmt::print(", training error {:.2f} %", last.train_error);
      fmt::print("\n");
    }
    print_ending(s.completed, s.epochs_done, s.run_dir);
    return Ending{s.completed, s.completed ? 0 : (microcircuit::sweep_stop_requested.load() ? 130 : 0)};
  });
}

int run_dynamics_training(const microcircuit::DynamicsExperiment& e, io::RunDir& run, nlohmann::json meta,
                          bool quiet) {
  return run_with_meta(run, std::move(meta), [&] {
    const microcircuit::DynamicsOutcome r = microcircuit::run_dynamics(e, run, !quiet);
    fmt::print("{}\n", r.summary);
    if (r.completed) fmt::print("results: {}\n", run.path().string());
    return Ending{r.completed, r.completed ? 0 : 130};
  });
}

int cmd_train_dynamics(const std::string& file, const std::vector<std::string>& overrides, const std::string& out,
                       bool overwrite, bool quiet, int argc, char** argv) {
  const config::Config cfg = config::Config::load(microcircuit::dynamics_schema(), file, overrides);
  const microcircuit::DynamicsExperiment e = microcircuit::dynamics_from_config(cfg);
  nlohmann::json meta;
  io::RunDir run = start_run(e.name, cfg, file, e.seed, nullptr, out, overwrite, quiet, argc, argv, meta);
  return run_dynamics_training(e, run, meta, quiet);
}

int cmd_train_sweep(const std::string& file, const std::vector<std::string>& overrides, const std::string& out,
                    bool overwrite, const std::string& data_dir, bool quiet, int argc, char** argv) {
  const config::Config cfg = config::Config::load(schema_of(model_kind(file, overrides)), file, overrides);
  const microcircuit::SweepSettings st = microcircuit::sweep_settings_from_config(cfg);
  const data::DataSplit data = data::load_dataset(data::parse_dataset_kind(st.dataset), optional_path(data_dir));
  nlohmann::json meta;
  io::RunDir run = start_run(st.name, cfg, file, st.seed, &data, out, overwrite, quiet, argc, argv, meta);
  return run_sweep_training(st, data, run, meta, quiet);
}

int cmd_resume_sweep(io::RunDir& run, const std::string& type, const std::vector<std::string>& overrides,
                     const std::string& data_dir, bool quiet) {
  const auto all = resume_overrides(
      overrides,
      {"training.epochs", "training.stop_after", "training.checkpoint_every", "training.save_epoch_weights"},
      {"training.stop_after=0"});
  const config::Config cfg = config::Config::load(schema_of(type), run.file("config.yaml"), all);
  const microcircuit::SweepSettings st = microcircuit::sweep_settings_from_config(cfg);
  const data::DataSplit data = data::load_dataset(data::parse_dataset_kind(st.dataset), optional_path(data_dir));
  return run_sweep_training(st, data, run, reopen_run(run, cfg), quiet);
}

int cmd_test_sweep(io::RunDir& run, const std::string& type, const std::string& which, std::int64_t examples,
                   const std::string& data_dir) {
  const config::Config cfg = config::Config::load(schema_of(type), run.file("config.yaml"));
  const microcircuit::SweepSettings st = microcircuit::sweep_settings_from_config(cfg);
  const fs::path folder = run.file(fs::path("weights") / which);
  if (!fs::is_directory(folder)) {
    fail("{}: no such weights folder; valid: initial, final, epoch_N for a finished epoch N", folder.string());
  }
  const data::DataSplit data = data::load_dataset(data::parse_dataset_kind(st.dataset), optional_path(data_dir));
  const microcircuit::SweepWeights w = microcircuit::load_sweep_weights(folder, st.params, st.seed);
  const std::size_t n_test =
      std::min(data.test.size(), static_cast<std::size_t>(examples > 0 ? examples : st.test_examples));
  const std::size_t n_val = static_cast<std::size_t>(st.validation_examples);
  const double val =
      microcircuit::classification_error(st.params, w, data.train, data.train.size() - n_val, data.train.size());
  const double test = microcircuit::classification_error(st.params, w, data.test, 0, n_test);
  fmt::print("weights/{}: validation error {:.2f} % ({} images), test error {:.2f} % ({} images)\n", which, val,
             n_val, test, n_test);
  const nlohmann::json j = {{"weights", which},
                            {"validation_error_pct", val},
                            {"validation_images", n_val},
                            {"test_error_pct", test},
                            {"test_images", n_test}};
  const std::string file = fmt::format("tests/test_{}.json", which);
  run.write_text(file, j.dump(2) + "\n");
  fmt::print("written: {}\n", run.file(file).string());
  return 0;
}

int cmd_resume_dynamics(io::RunDir& run, const std::vector<std::string>& overrides, bool quiet) {
  const auto all = resume_overrides(overrides, {"fig2.trials", "fig2.checkpoint_every"}, {});
  const config::Config cfg = config::Config::load(microcircuit::dynamics_schema(), run.file("config.yaml"), all);
  const microcircuit::DynamicsExperiment e = microcircuit::dynamics_from_config(cfg);
  return run_dynamics_training(e, run, reopen_run(run, cfg), quiet);
}

int cmd_train(const std::string& file, const std::vector<std::string>& overrides, const std::string& out,
              bool overwrite, const std::string& data_dir, bool quiet, int argc, char** argv) {
  const std::string kind = model_kind(file, overrides);
  if (kind == "microcircuit_dynamics")
    return cmd_train_dynamics(file, overrides, out, overwrite, quiet, argc, argv);
  if (is_sweep(kind)) return cmd_train_sweep(file, overrides, out, overwrite, data_dir, quiet, argc, argv);
  const config::Config cfg = config::Config::load(segregated::schema(), file, overrides);
  const segregated::ExperimentSettings st = segregated::settings_from_config(cfg);
  const data::DataSplit data = load_data(st, data_dir);  // before the run folder exists: bad data leaves nothing
  nlohmann::json meta;
  io::RunDir run = start_run(st.name, cfg, file, st.seed, &data, out, overwrite, quiet, argc, argv, meta);
  return run_training(st, data, run, meta, quiet);
}

int cmd_resume(const std::string& dir, const std::vector<std::string>& overrides, const std::string& data_dir,
               bool quiet) {
  io::RunDir run = io::RunDir::open(dir);
  const std::string type = model_kind(run.file("config.yaml"), {});
  if (type == "microcircuit_dynamics" && !fs::exists(run.file("checkpoint.apical"))) {
    fail(
        "{}: no checkpoint.apical in this run folder: only Fig 2 runs (experiment: regression_fig2) write "
        "checkpoints (every fig2.checkpoint_every trials); Figs 1 and S1 take seconds, train them again",
        run.path().string());
  }
  if (type == "microcircuit_dynamics") return cmd_resume_dynamics(run, overrides, quiet);
  if (!fs::exists(run.file("checkpoint.apical"))) {
    fail(
        "{}: no checkpoint.apical in this run folder, so there is nothing to resume (a run writes one every "
        "training.checkpoint_every examples and at every epoch end)",
        run.path().string());
  }
  if (is_sweep(type)) return cmd_resume_sweep(run, type, overrides, data_dir, quiet);
  const auto all = resume_overrides(overrides,
                                    {"training.epochs", "training.stop_after", "training.checkpoint_every",
                                     "training.save_epoch_weights", "test.threads"},
                                    {"training.stop_after=0"});
  const config::Config cfg = config::Config::load(segregated::schema(), run.file("config.yaml"), all);
  const segregated::ExperimentSettings st = segregated::settings_from_config(cfg);
  const data::DataSplit data = load_data(st, data_dir);
  return run_training(st, data, run, reopen_run(run, cfg), quiet);
}

int cmd_test(const std::string& dir, int repeats, const std::string& which, std::int64_t examples,
             const std::string& data_dir, int threads) {
  io::RunDir run = io::RunDir::open(dir);
  const std::string type = model_kind(run.file("config.yaml"), {});
  if (type == "microcircuit_dynamics") {
    fail("{}: `apical test` tests MNIST runs; a full-dynamics run keeps its results in metrics.csv",
         run.path().string());
  }
  if (is_sweep(type)) return cmd_test_sweep(run, type, which, examples, data_dir);
  const config::Config cfg = config::Config::load(segregated::schema(), run.file("config.yaml"));
  segregated::ExperimentSettings st = segregated::settings_from_config(cfg);
  const fs::path folder = run.file(fs::path("weights") / which);
  if (!fs::is_directory(folder)) {
    fail("{}: no such weights folder; valid: initial, final, epoch_N for a finished epoch N", folder.string());
  }
  const data::DataSplit data = load_data(st, data_dir);
  const segregated::Network net(st.params, segregated::load_weights(folder, st.params), st.seed);
  const std::int64_t n = examples > 0 ? examples : st.test_examples;
  io::CsvTable table({"repeat", "test_error_pct"});
  std::vector<double> errors;
  for (int r = 1; r <= repeats; ++r) {
    const auto res = segregated::test_network(net, data.test, n, "spikes.repeat", static_cast<std::uint64_t>(r),
                                              threads > 0 ? threads : st.threads, nullptr, st.column_major_pixels);
    errors.push_back(res.error_percent());
    table.add_row({io::CsvValue(static_cast<double>(r)), io::CsvValue(res.error_percent())});
    fmt::print("repeat {:>2}: test error {:.2f} % ({} of {} images)\n", r, res.error_percent(), res.errors,
               res.examples);
  }
  const analysis::Summary s = analysis::summarize(errors);
  fmt::print("{} repeats of weights/{}: mean {:.3f} %, SD {:.3f}, min {:.2f} %, max {:.2f} %\n", repeats, which,
             s.mean, s.sd, s.min, s.max);
  const std::string csv = fmt::format("tests/repeats_{}.csv", which);
  run.write_text(csv, table.str());
  fmt::print("written: {}\n", run.file(csv).string());
  return 0;
}

int cmd_bench(bench::BenchOptions options, const std::string& mode, const std::string& layers,
              const std::string& json, const std::string& data_dir, int argc, char** argv) {
  options.mode = bench::parse_mode(mode);
  options.layers = bench::parse_layers(layers);
  bench::validate(options);  // before loading the data: a bad option fails at once
  const data::DataSplit data = data::load_dataset(data::DatasetKind::mnist, optional_path(data_dir));
  const nlohmann::json context = bench::machine_context(argc, argv);
  const bench::BenchResult result =
      bench::run_bench(options, data, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
  fmt::print("\n{}", bench::format_table(result));
  if (!json.empty()) {
    bench::write_json(json, result, context);
    fmt::print("written: {}\n", json);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"apical: biologically plausible deep learning with dendritic neurons"};
  app.set_version_flag("--version", std::string("apical ") + APICAL_VERSION);
  app.require_subcommand(1);

  std::string config_file, run_dir, out, data_dir, which = "final", dataset_name;
  std::vector<std::string> overrides;
  bool overwrite = false, quiet = false;
  int repeats = 1, threads = 0;
  std::int64_t examples = 0;

  auto* train = app.add_subcommand("train", "train a network from a YAML experiment config");
  train->add_option("config", config_file, "experiment config (YAML)")->required();
  train->add_option("--set", overrides, "override a config key: --set training.epochs=1 (repeatable)");
  train->add_option("--out", out, "run folder (default: runs/<name>-<timestamp>)");
  train->add_flag("--overwrite", overwrite, "replace an existing run folder given with --out");
  train->add_option("--data", data_dir, "folder with the data sets (searched first)");
  train->add_flag("--quiet", quiet, "no progress output");

  auto* resume = app.add_subcommand("resume", "continue a stopped run exactly where its checkpoint left it");
  resume->add_option("run", run_dir, "run folder")->required();
  resume->add_option("--set", overrides, "change training.epochs, training.stop_after, ... (not the model)");
  resume->add_option("--data", data_dir, "folder with the data sets (searched first)");
  resume->add_flag("--quiet", quiet, "no progress output");

  auto* test = app.add_subcommand("test", "test a run's weights on the test set, optionally repeatedly");
  test->add_option("run", run_dir, "run folder")->required();
  test->add_option("--repeats", repeats, "repeated tests (the paper used 20)")->check(CLI::Range(1, 1000));
  test->add_option("--weights", which, "weights to test: final, initial or epoch_N");
  test->add_option("--examples", examples, "test images (default: the run's test.examples)")
      ->check(CLI::NonNegativeNumber);
  test->add_option("--threads", threads, "threads (default: the run's test.threads)")
      ->check(CLI::NonNegativeNumber);
  test->add_option("--data", data_dir, "folder with the data sets (searched first)");

  segregated::ReproduceOptions repro;
  std::string paper, repro_out, configs_dir;
  bool all_figures = false;
  auto* reproduce =
      app.add_subcommand("reproduce", "run a paper's experiments and write its figure data and a report");
  reproduce->add_option("paper", paper, "guerguiev2017 or sacramento2018")
      ->required()
      ->check(CLI::IsMember({"guerguiev2017", "sacramento2018"}));
  reproduce->add_option(
      "--figure", repro.figures,
      fmt::format("figure (repeatable): guerguiev2017 {}; sacramento2018 {}", segregated::guerguiev_figure_list(),
                  fmt::join(microcircuit::sacramento_figure_ids(), ", ")));
  std::int64_t repro_trials = 0;
  int repro_patterns = 0, repro_seeds = 1;
  double repro_speedup = 1;
  std::vector<std::string> repro_conditions;
  reproduce->add_option("--trials", repro_trials, "sacramento2018 Fig 2: training trials (shortened run)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000000000}));
  auto* seeds_option =
      reproduce->add_option("--seeds", repro_seeds, "sacramento2018 Fig 3: train every condition with seeds 1..N")
          ->check(CLI::Range(1, 1000));
  auto* condition_option = reproduce->add_option(
      "--condition", repro_conditions,
      "sacramento2018 Fig 3: only this condition (repeatable): microcircuit, frozen_hidden, learned_topdown, "
      "backprop, fa, dfa, shallow, backprop_1000");
  auto* speedup_option = reproduce->add_option(
      "--speedup", repro_speedup,
      "sacramento2018 Fig 2: time compression F: every learning rate x F, trials / F (an approximation, not the "
      "paper's protocol)");
  reproduce->add_option("--patterns", repro_patterns, "sacramento2018 Fig S1: patterns (shortened run)")
      ->check(CLI::Range(1, 100000000));
  reproduce->add_flag("--all", all_figures, "every figure");
  reproduce->add_option("--epochs", repro.epochs, "train this many epochs instead of the paper's (shortened run)")
      ->check(CLI::Range(1, 1000));
  reproduce
      ->add_option("--examples-per-epoch", repro.examples_per_epoch, "training examples per epoch (default all)")
      ->check(CLI::Range(1, 60000));
  reproduce->add_option("--test-examples", repro.test_examples, "test images per test (default all 10,000)")
      ->check(CLI::Range(1, 10000));
  reproduce->add_option("--repeats", repro.repeats, "repeated tests of the final weights (paper: 20)")
      ->check(CLI::Range(2, 1000));
  reproduce->add_option(
      "--out", repro_out,
      "output folder (default reproduce/PAPER; with --set reproduce/PAPER-set<hash>); finished runs are reused, "
      "stopped ones continue");
  reproduce->add_option("--jobs", repro.jobs, "trainings run at once, each single-threaded (default: all cores)")
      ->check(CLI::Range(0, 64));
  reproduce->add_option(
      "--configs", configs_dir,
      "folder with the guerguiev2017 configs (sacramento2018: the folder holding sacramento2018/ "
      "and baselines/)");
  reproduce->add_option(
      "--set", repro.overrides,
      "override a config key of every run (repeatable): a variant of the figures, e.g. --set "
      "model.g_A=0.05; its runs and report go to reproduce/PAPER-set<hash> unless --out is given");
  reproduce->add_option("--data", data_dir, "folder with the data sets (searched first)");
  reproduce->add_flag("--quiet", quiet, "no progress output");

  auto* config = app.add_subcommand("config", "show resolved configs and document every option");
  config->require_subcommand(1);
  auto* show = config->add_subcommand("show", "print the fully resolved config");
  show->add_option("config", config_file, "experiment config (YAML)")->required();
  show->add_option("--set", overrides, "override a config key (repeatable)");
  auto* docs = config->add_subcommand("docs", "print every option with its type, default, unit and doc");
  std::string docs_model = "segregated";
  docs->add_option("--model", docs_model, "model.type whose options to document")
      ->check(CLI::IsMember({"segregated", "microcircuit", "microcircuit_dynamics", "baseline"}));

  auto* data = app.add_subcommand("data", "find, check and fetch data sets");
  data->require_subcommand(1);
  auto* check = data->add_subcommand("check", "print where each data set was found, with checksums");
  check->add_option("--data", data_dir, "folder with the data sets (searched first)");
  auto* fetch = data->add_subcommand("fetch", "download a data set from its public mirrors (needs internet)");
  fetch->add_option("dataset", dataset_name, "mnist or fashion-mnist")->required();
  fetch->add_option("--data", data_dir, "destination base folder (default: ./data)");

  bench::BenchOptions bench_options;
  std::string bench_mode = "spiking", bench_layers = "500,10", bench_json;
  auto* bench_cmd = app.add_subcommand("bench", "time training, testing and memory of a fresh network on MNIST");
  bench_cmd->add_option("--examples", bench_options.examples, "training examples per repeat (default 2000)");
  bench_cmd->add_option("--test-images", bench_options.test_images, "test images per test pass (default 1000)");
  bench_cmd->add_option("--threads", bench_options.threads, "test threads (default 0 = all cores)");
  bench_cmd->add_option("--mode", bench_mode, "spiking or nonspiking (default spiking)");
  bench_cmd->add_option("--layers", bench_layers, "non-input layer sizes (default 500,10)");
  bench_cmd->add_option("--repeats", bench_options.repeats, "repeats; medians are reported (default 5)");
  bench_cmd->add_option("--json", bench_json, "also write the results and machine context to this JSON file");
  bench_cmd->add_option("--data", data_dir, "folder with the data sets (searched first)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (*train) return cmd_train(config_file, overrides, out, overwrite, data_dir, quiet, argc, argv);
    if (*resume) return cmd_resume(run_dir, overrides, data_dir, quiet);
    if (*test) return cmd_test(run_dir, repeats, which, examples, data_dir, threads);
    if (*bench_cmd) return cmd_bench(bench_options, bench_mode, bench_layers, bench_json, data_dir, argc, argv);
    if (*reproduce) {
      if (repro.figures.empty() && !all_figures) fail("say which figures: --figure 6 (repeatable) or --all");
      if (all_figures) repro.figures.clear();
      // A variant (--set) has its own default folder, so that its report and CSVs never replace the plain ones.
      const fs::path default_out = fs::path("reproduce") / (paper + config::overrides_tag(repro.overrides));
      if (paper == "sacramento2018") {
        microcircuit::ReproduceOptions mo;
        mo.figures = repro.figures;
        mo.epochs = repro.epochs;
        mo.examples_per_epoch = repro.examples_per_epoch;
        mo.test_examples = repro.test_examples;
        mo.trials = repro_trials;
        mo.patterns = repro_patterns;
        mo.seeds = repro_seeds;
        mo.conditions = repro_conditions;
        mo.speedup = repro_speedup;
        mo.jobs = repro.jobs;
        mo.overrides = repro.overrides;
        mo.out = repro_out.empty() ? default_out : fs::path(repro_out);
        mo.configs = !configs_dir.empty() ? fs::path(configs_dir)
                     : fs::is_directory(fs::path("configs") / "sacramento2018")
                         ? fs::path("configs")
                         : fs::path(APICAL_SOURCE_DIR) / "configs";
        mo.data_dir = optional_path(data_dir);
        mo.quiet = quiet;
        install_signal_handlers();
        fmt::print("report: {}\n", microcircuit::reproduce_sacramento(mo).string());
        return 0;
      }
      for (const auto* opt : {seeds_option, condition_option, speedup_option}) {
        if (opt->count() > 0) fail("{} applies to sacramento2018 only", opt->get_name());
      }
      repro.out = repro_out.empty() ? default_out : fs::path(repro_out);
      repro.configs = !configs_dir.empty() ? fs::path(configs_dir)
                      : fs::is_directory(fs::path("configs") / paper)
                          ? fs::path("configs") / paper
                          : fs::path(APICAL_SOURCE_DIR) / "configs" / paper;
      repro.data_dir = optional_path(data_dir);
      repro.quiet = quiet;
      install_signal_handlers();
      const fs::path report = segregated::reproduce_guerguiev(repro);
      fmt::print("report: {}\n", report.string());
      return 0;
    }
    if (*show) {
      fmt::print(
          "{}",
          config::Config::load(schema_of(model_kind(config_file, overrides)), config_file, overrides).to_yaml());
      return 0;
    }
    if (*docs) {
      fmt::print("{}", schema_of(docs_model).docs());
      return 0;
    }
    if (*check) {
      fmt::print("{}", data::data_check_report(optional_path(data_dir)));
      return 0;
    }
    if (*fetch) {
      const auto kind = data::parse_dataset_kind(dataset_name);
      const fs::path base = data_dir.empty() ? fs::path("data") : fs::path(data_dir);
      data::fetch_dataset(kind, base);
      fmt::print("{} is in {}\n", dataset_name, (base / std::string(data::dataset_name(kind))).string());
      return 0;
    }
  } catch (const Error& e) {
    fmt::print(stderr, "apical: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "apical: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}
