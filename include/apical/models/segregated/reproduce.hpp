// SPDX-License-Identifier: Apache-2.0
#pragma once

// `apical reproduce guerguiev2017`: the experiments behind the paper's training-based figures (spec sections 10,
// 11 and 16): each figure's conditions are trained (in parallel, reusing finished runs), their final weights are
// tested repeatedly (n = 20 in the paper), and the figure's source-data CSV files and a report beside the paper's
// numbers are written.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace apical::segregated {

/// One trained network of a figure.
struct Condition {
  std::string id;                      ///< run folder name, shared between figures (e.g. "one_hidden")
  std::string label;                   ///< column name in the CSV files
  std::string config;                  ///< config file under configs/guerguiev2017/
  std::vector<std::string> overrides;  ///< --set style overrides on top of it
};

/// A t-test the paper reports between two conditions of a panel.
struct ReportedTest {
  std::string a, b;  ///< condition ids
  double t = 0;      ///< the paper's t_38 (positive: a has the higher error)
  double p = 0;      ///< the paper's p-value (Bonferroni-corrected when the panel has 3 conditions)
};

/// One panel: its conditions, CSV file prefix and the paper's numbers.
struct Panel {
  std::string name;                     ///< "6B", "8D", ...
  std::vector<std::string> conditions;  ///< condition ids, in column order
  std::vector<double> paper_error;      ///< the paper's final test error per condition (%), NaN if not in the text
  std::vector<ReportedTest> tests;
  bool angles = false;    ///< an angle panel (Fig 7A): Fig_<name>.csv of sliding-mean angles
  bool jacobian = false;  ///< a Jacobian panel (Fig 5S1A): Fig_<name>.csv of the eigenvalue condition
  bool fields = false;    ///< a receptive-field panel (Fig 7C): max correlation with shuffled control
  bool losses = false;    ///< a loss-correlation panel (Fig 5B,C)
  bool tsne = false;      ///< a t-SNE panel (Fig 6C): activity files for python/apical_plots
};

struct Figure {
  std::string id;  ///< "5", "6", "6s1", "8", ... (guerguiev_figure_list())
  std::string title;
  int epochs = 60;  ///< the paper's training length for this figure
  std::vector<Panel> panels;
};

/// The figures `apical reproduce guerguiev2017` knows and the conditions they use.
const std::vector<Figure>& guerguiev_figures();
const std::vector<Condition>& guerguiev_conditions();
/// The ids of guerguiev_figures() in the paper's order, joined with ", " (for help texts and error messages).
std::string guerguiev_figure_list();

struct ReproduceOptions {
  std::vector<std::string> figures;     ///< ids; empty = all
  int epochs = 0;                       ///< 0 = each figure's own (60 or 20)
  std::int64_t examples_per_epoch = 0;  ///< 0 = all 60,000
  std::int64_t test_examples = 0;       ///< 0 = all 10,000
  int repeats = 20;                     ///< repeated tests of the final weights
  std::vector<std::string> overrides;   ///< --set key=value on every run (a variant of the figures)
  std::filesystem::path out = "reproduce/guerguiev2017";
  std::filesystem::path configs = "configs/guerguiev2017";
  std::optional<std::filesystem::path> data_dir;
  int jobs = 0;  ///< concurrent trainings; 0 = all cores
  bool quiet = false;
};

/// Runs what is missing and writes the CSV files and report.md into options.out; returns the report's path.
std::filesystem::path reproduce_guerguiev(const ReproduceOptions& options);

}  // namespace apical::segregated
