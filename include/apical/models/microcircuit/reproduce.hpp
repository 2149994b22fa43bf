// SPDX-License-Identifier: Apache-2.0
#pragma once

// `apical reproduce sacramento2018`: runs the experiments behind the paper's figures (Fig 1, Fig 2, Fig 3 with the
// MNIST numbers of the text, Fig S1) from configs/sacramento2018 and configs/baselines, writes each figure's data
// as CSV files, plots them through python/apical_plots, and writes report.md beside the paper's numbers.
// Shortened runs (--epochs, --trials, ...) and time-compressed ones (--speedup) are marked as such in the report.
//
// The trainings of Figs 2 and 3 each have a run folder under out/runs (Fig 3: <condition>-seed<K>; Fig 2:
// fig2-microcircuit and fig2-shallow, with -x<F> when time-compressed), run `jobs` at a time (each
// single-threaded), are reused when finished with the same resolved config, and continue from their checkpoint
// when they were stopped (Ctrl-C, or a failure of another training: every running one checkpoints and stops).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apical/models/microcircuit/sweep_experiment.hpp"

namespace apical::microcircuit {

struct ReproduceOptions {
  std::vector<std::string> figures;     ///< "1", "2", "3", "s1"; empty = all
  int epochs = 0;                       ///< Fig 3: epochs per MNIST run; 0 = the configs'
  std::int64_t examples_per_epoch = 0;  ///< Fig 3: 0 = all 55,000
  std::int64_t test_examples = 0;       ///< Fig 3: 0 = all 10,000
  int seeds = 1;                        ///< Fig 3: every condition with seeds 1..seeds (seed=K; the configs say 1)
  std::vector<std::string> conditions;  ///< Fig 3: ids of mnist_conditions() to run; empty = all
  std::int64_t trials = 0;              ///< Fig 2: training trials; 0 = the config's (divided by speedup)
  /// Fig 2: time compression F > 0: every learning rate of the config times F and, unless `trials` is given, the
  /// config's trials and test_every divided by F (rounded, at least 1). 1 = the config's rates.
  double speedup = 1;
  int patterns = 0;  ///< Fig S1: patterns; 0 = the config's
  /// --set key=value on every run's config (a variant): after the config file, before the command's own settings
  /// (which --set may not change); the runs' folders get config::overrides_tag(overrides) appended.
  std::vector<std::string> overrides;
  int jobs = 0;  ///< trainings at once (each single-threaded); 0 = all cores
  std::filesystem::path out = "reproduce/sacramento2018";
  std::filesystem::path configs = "configs";  ///< holds sacramento2018/ and baselines/
  std::optional<std::filesystem::path> data_dir;
  bool quiet = false;
  /// Called after every finished epoch of every Fig 3 training (from that training's thread) with the name of its
  /// run folder. It may set sweep_stop_requested, as Ctrl-C does: the trainings then checkpoint and stop.
  std::function<void(const std::string& run, const SweepMetrics& row)> on_epoch;
};

/// One MNIST condition of Fig 3 and the paper's test error for it (NaN if the paper has none).
struct MnistCondition {
  std::string id;      ///< run folder name and CSV column
  std::string config;  ///< relative to ReproduceOptions::configs
  double paper_error;  ///< %
  std::string paper_label;
};
const std::vector<MnistCondition>& mnist_conditions();

/// The figures `apical reproduce sacramento2018` knows: "1", "2", "3", "s1".
const std::vector<std::string>& sacramento_figure_ids();

/// Runs what the chosen figures need (finished runs with the same resolved config are reused, stopped ones
/// continue from their checkpoint) and writes the CSV files, plots and report.md into options.out; returns the
/// report's path. Bad options (unknown figure or condition, seeds < 1, speedup not finite and > 0) are errors
/// before anything runs; a stopped training is an error that says to run the command again.
std::filesystem::path reproduce_sacramento(const ReproduceOptions& options);

}  // namespace apical::microcircuit
