// SPDX-License-Identifier: Apache-2.0
#pragma once

// `apical reproduce sacramento2018`: runs the experiments behind the paper's figures (Fig 1, Fig 2, Fig 3 with the
// MNIST numbers of the text, Fig S1) from configs/sacramento2018 and configs/baselines, writes each figure's data
// as CSV files, plots them through python/apical_plots, and writes report.md beside the paper's numbers.
// Shortened runs (--epochs, --trials, ...) are marked as such in the report.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace apical::microcircuit {

struct ReproduceOptions {
  std::vector<std::string> figures;     ///< "1", "2", "3", "s1"; empty = all
  int epochs = 0;                       ///< Fig 3: epochs per MNIST run; 0 = the configs'
  std::int64_t examples_per_epoch = 0;  ///< Fig 3: 0 = all 55,000
  std::int64_t test_examples = 0;       ///< Fig 3: 0 = all 10,000
  std::int64_t trials = 0;              ///< Fig 2: training trials; 0 = the config's
  int patterns = 0;                     ///< Fig S1: patterns; 0 = the config's
  std::filesystem::path out = "reproduce/sacramento2018";
  std::filesystem::path configs = "configs";  ///< holds sacramento2018/ and baselines/
  std::optional<std::filesystem::path> data_dir;
  bool quiet = false;
};

/// One MNIST condition of Fig 3 and the paper's test error for it (NaN if the paper has none).
struct MnistCondition {
  std::string id;      ///< run folder name and CSV column
  std::string config;  ///< relative to ReproduceOptions::configs
  double paper_error;  ///< %
  std::string paper_label;
};
const std::vector<MnistCondition>& mnist_conditions();

/// Runs what the chosen figures need (finished MNIST runs with the same resolved config are reused) and writes
/// the CSV files, plots and report.md into options.out; returns the report's path.
std::filesystem::path reproduce_sacramento(const ReproduceOptions& options);

}  // namespace apical::microcircuit
