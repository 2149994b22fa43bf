// SPDX-License-Identifier: Apache-2.0
#pragma once

// MNIST training of the two-sweep microcircuit (spec 8.4, 8.5) and of the rate-based baselines: the epoch loop
// over shuffled mini-batches, the 55k / 5k / 10k split (validation = the last 5,000 images of the training
// file), per-epoch training, validation and test errors, weights as .npy files, checkpoints from which a run
// resumes bit for bit, the config schemas of `model.type: microcircuit` and `model.type: baseline`, and guard
// rails (non-finite weights stop the run with a message).
//
// Randomness: initial weights as sweep.hpp; the training order of epoch e from the stream ("order", e).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "apical/config/config.hpp"
#include "apical/data/dataset.hpp"
#include "apical/models/microcircuit/sweep.hpp"

namespace apical::io {
class RunDir;
}

namespace apical::microcircuit {

struct SweepSettings {
  std::string name = "microcircuit";
  std::uint64_t seed = 1;
  SweepParams params;
  int epochs = 50;
  int batch_size = 10;                      ///< the paper: 10 for every rule
  std::int64_t train_examples = 55000;      ///< the first N images of the training file
  std::int64_t validation_examples = 5000;  ///< the last N images of the training file
  std::int64_t examples_per_epoch = 0;      ///< 0 = all training examples
  std::int64_t test_examples = 10000;       ///< the first N test images
  bool shuffle = true;
  std::int64_t checkpoint_every = 10000;  ///< examples between checkpoints (also at every epoch end); 0 = epochs
  std::int64_t stop_after = 0;            ///< stop (resumable) after this many examples; 0 = never
  bool save_epoch_weights = true;         ///< weights/epoch_N/ after every epoch
  std::string dataset = "mnist";
};

/// One row of metrics.csv; epoch 0 is the initial network.
struct SweepMetrics {
  int epoch = 0;
  double train_error = 0;       ///< % of the epoch's training examples misclassified before their update (NaN: 0)
  double train_loss = 0;        ///< mean 1/2 ||r_N - r_trgt||^2 of the feedforward output over the epoch
  double validation_error = 0;  ///< %
  double test_error = 0;        ///< %
  double apical = 0;            ///< microcircuit: mean ||v_A|| per hidden neuron without nudging (validation)
  double wall_seconds = 0;
  double examples_per_second = 0;
};

/// Error (%) of the feedforward readout on images [begin, end) of a data set.
double classification_error(const SweepParams& p, const SweepWeights& w, const data::Dataset& d, std::size_t begin,
                            std::size_t end);
/// Images [begin, begin + n) of a data set, at the given indices if `order` is given, as a B x 784 matrix.
Matrix image_batch(const data::Dataset& d, const std::vector<std::size_t>* order, std::size_t begin, std::size_t n,
                   std::vector<int>& labels);

/// Set from a signal handler: the trainer finishes the mini-batch, checkpoints and stops.
extern std::atomic<bool> sweep_stop_requested;

struct SweepSummary {
  bool completed = false;
  int epochs_done = 0;
  std::vector<SweepMetrics> metrics;
  std::filesystem::path run_dir;
};

/// Trains (or, when the run folder holds a checkpoint, resumes) the run in `run`. `on_epoch`, if given, is called
/// with each finished epoch's metrics once they and the epoch's checkpoint are written (also when show_progress is
/// off: a caller running several trainings at once prints one line per epoch); it may set sweep_stop_requested,
/// and the run then stops there.
SweepSummary train_sweep(const SweepSettings& settings, const data::DataSplit& data, io::RunDir& run,
                         bool show_progress = true, const std::function<void(const SweepMetrics&)>& on_epoch = {});

/// Weights as .npy files in `folder` of the run: W_up_k, b_up_k (all rules), W_down_k (microcircuit, fa),
/// W_ip_k, b_ip_k, W_pi_k (microcircuit), D_k (dfa).
void save_sweep_weights(const io::RunDir& run, const std::filesystem::path& folder, const SweepParams& p,
                        const SweepWeights& w);
/// Loads weights saved by save_sweep_weights (the classes the rule does not save are initialised from `seed`).
SweepWeights load_sweep_weights(const std::filesystem::path& folder, const SweepParams& p, std::uint64_t seed);

/// The schemas of `model.type: microcircuit` (two-sweep MNIST) and `model.type: baseline`.
const config::Schema& microcircuit_schema();
const config::Schema& baseline_schema();
/// Settings from a validated config of either schema; cross-option errors name the keys.
SweepSettings sweep_settings_from_config(const config::Config& config);

}  // namespace apical::microcircuit
