// SPDX-License-Identifier: Apache-2.0
#pragma once

// The full-dynamics experiments of Sacramento et al. 2018 (Fig 1, Fig S1, Fig 2) as configs and run folders:
// `model.type: microcircuit` with `experiment: fig1 | selfpredicting_s1 | regression_fig2`. A run writes
// config.yaml, meta.json (by the CLI), metrics.csv / metrics.json (the figure's traces) and the initial and
// final weights as .npy files. Fig 2 runs (up to ~10^7 trials, hours) write checkpoints and resume exactly;
// Figs 1 and S1 take seconds and have none.

#include <cstdint>
#include <string>

#include "apical/config/config.hpp"
#include "apical/io/csv.hpp"
#include "apical/models/microcircuit/experiments.hpp"

namespace apical::io {
class RunDir;
}

namespace apical::microcircuit {

struct DynamicsExperiment {
  std::string name;
  std::uint64_t seed = 1;
  std::string kind;  ///< "fig1", "selfpredicting_s1", "regression_fig2"
  Fig1Settings fig1;
  S1Settings s1;
  Fig2Settings fig2;
  std::int64_t fig2_checkpoint_every = 10000;  ///< trials between Fig 2 checkpoints; 0 = none
};

/// The schema of the full-dynamics experiments (model.type: microcircuit, experiment other than mnist).
const config::Schema& dynamics_schema();
DynamicsExperiment dynamics_from_config(const config::Config& config);

/// The traces of each experiment as a table (one row per sample / probe / test).
io::CsvTable fig1_table(const Fig1Result& r);
io::CsvTable s1_table(const S1Result& r);
io::CsvTable fig2_table(const Fig2Result& r);

/// Writes weights as .npy files into `folder` of the run (W_up_k, b_up_k, W_down_k, W_ip_k, b_ip_k, W_pi_k).
void save_network_weights(const io::RunDir& run, const std::string& folder, const Params& p, const Weights& w);

/// Runs the experiment into the run folder (a Fig 2 run continues from the folder's checkpoint if it has one);
/// returns a one-line summary of the result.
/// The state saved in a Fig 2 run folder's checkpoint.apical (throws apical::Error if it is missing or damaged).
Fig2Resume load_fig2_checkpoint(const DynamicsExperiment& e, const io::RunDir& run);

struct DynamicsOutcome {
  std::string summary;
  bool completed = true;  ///< false: stopped (Fig 2, by a signal) with a checkpoint
};
DynamicsOutcome run_dynamics(const DynamicsExperiment& e, io::RunDir& run, bool show_progress);

}  // namespace apical::microcircuit
