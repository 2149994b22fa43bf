// SPDX-License-Identifier: Apache-2.0
#pragma once

// Training and testing experiments of the segregated-dendrites network: the epoch loop of spec 4.5 with
// shuffling, an initial test, a full test after every epoch, optional quick tests, per-epoch metrics, weights
// as .npy files, checkpoints from which a run resumes bit for bit, and guard rails.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apical/data/dataset.hpp"
#include "apical/models/segregated/network.hpp"

namespace apical::io {
class RunDir;
}

namespace apical::segregated {

/// Everything an experiment needs besides the data: the model parameters and the run protocol.
struct ExperimentSettings {
  std::string name = "segregated";
  std::uint64_t seed = 1;
  Params params;
  int epochs = 60;
  std::int64_t examples_per_epoch = 60000;  ///< 0 or more than the training set = all
  bool shuffle = true;
  std::int64_t test_examples = 10000;      ///< test images per full test (the first N of the test set)
  bool initial_test = true;                ///< test before training (spec 4.5)
  std::int64_t quick_test_every = 0;       ///< examples between quick tests; 0 = none
  std::int64_t quick_test_examples = 100;  ///< random test images per quick test
  int threads = 0;                         ///< test threads; 0 = all cores
  bool reset_after_test = true;            ///< zero the training state after each test pass (as the code)
  std::int64_t checkpoint_every =
      10000;                       ///< examples between checkpoints (and at every epoch end); 0 = epoch ends only
  bool save_epoch_weights = true;  ///< weights/epoch_N/ after every epoch
  std::int64_t stop_after = 0;     ///< stop (checkpointed, resumable) after this many examples; 0 = never
  double silent_rate = 1e-3;       ///< guard rail: a layer whose mean rate stays below silent_rate * lambda_max
  double saturated_rate = 0.99;    ///< ... or above saturated_rate * lambda_max for a whole epoch stops the run
  std::string dataset = "mnist";
  bool column_major_pixels = false;  ///< feed pixels column by column (the authors' code), A.17
  bool record_angles = false;        ///< Fig 7A: angle between the local and the backprop update of W^0
  bool record_jacobian = false;      ///< Fig 5S1: Theorem 1's eigenvalue condition over the last 100 examples
  bool record_losses = false;        ///< Fig 5B,C: hidden and output losses on the test images every epoch
  bool record_activity = false;      ///< Fig 6C: test-image activity of every layer after the last epoch
};

/// Per-epoch metrics (one row of metrics.csv). Epoch 0 is the initial test.
struct EpochMetrics {
  int epoch = 0;
  double test_error = 0;    ///< % of test images misclassified
  double train_error = 0;   ///< % of training examples misclassified in their forward phase (NaN for epoch 0)
  double mean_loss = 0;     ///< mean output loss over the epoch's examples (NaN for epoch 0)
  double wall_seconds = 0;  ///< wall time of the epoch (training and its test)
  double examples_per_second = 0;
};

/// Result of a test pass.
struct TestResult {
  std::int64_t examples = 0;
  std::int64_t errors = 0;
  double error_percent() const {
    return examples == 0 ? 0.0 : 100.0 * static_cast<double>(errors) / static_cast<double>(examples);
  }
  std::vector<int> predicted;
};

/// Tests a network on the first `count` images of `data` with test pass `pass` of stream `stream` (spike
/// randomness depends on (seed, stream, pass, image) only, so the result is independent of `threads`).
TestResult test_network(const Network& net, const data::Dataset& data, std::int64_t count,
                        const std::string& stream, std::uint64_t pass, int threads,
                        const std::vector<std::size_t>* indices = nullptr, bool column_major_pixels = false);

/// Image n of a data set as the network's input vector: pixel values in [0, 1], row by row or column by column.
void input_image(const data::Dataset& d, std::size_t n, bool column_major, std::vector<double>& out);

/// Fig 5B,C (spec 15.11): the hidden loss L0 = sum (alpha^t - alpha^f)^2 of the first hidden layer and the output
/// loss L1 = sum (lambda-bar^t - lambda_max sigma(U-bar^f))^2 of one test image, from a forward and a target phase
/// of phases.min_steps steps each with no learning (state reset first; spikes from stream "spikes.loss").
struct ImageLosses {
  double hidden = 0;
  double output = 0;
};
std::vector<ImageLosses> test_losses(const Network& net, const data::Dataset& data, std::int64_t count,
                                     std::uint64_t pass, int threads, bool column_major_pixels = false);

/// Fig 6C: time-averaged rates of every non-input layer for the first `count` test images (test procedure,
/// spikes from stream "spikes.activity"); result[m] is count x n_m, row-major, as float.
std::vector<std::vector<float>> test_activity(const Network& net, const data::Dataset& data, std::int64_t count,
                                              int threads, bool column_major_pixels = false);

/// Set from a signal handler (SIGINT/SIGTERM): the trainer finishes the current example, checkpoints and stops.
extern std::atomic<bool> stop_requested;

/// What a finished (or stopped) training run reports.
struct TrainSummary {
  bool completed = false;  ///< false when stopped early (stop_after or a signal); resumable
  int epochs_done = 0;
  std::vector<EpochMetrics> metrics;
  std::filesystem::path run_dir;
};

/// Runs (or resumes) the training of a run folder that holds config.yaml and meta.json. `settings` must be the
/// resolved settings of that config. If the folder holds a checkpoint, training continues from it exactly.
/// `on_epoch`, if given, is called with each finished epoch's metrics (also when show_progress is off: a caller
/// that runs several trainings at once prints one line per epoch instead of live progress).
TrainSummary train(const ExperimentSettings& settings, const data::DataSplit& data, io::RunDir& run,
                   bool show_progress = true, const std::function<void(const EpochMetrics&)>& on_epoch = {});

/// Writes a network's weights as .npy files into `folder` (W_m, b_m, Y_m, c_m) inside the run folder.
void save_weights(const io::RunDir& run, const std::filesystem::path& folder, const Weights& w);
/// Loads weights saved by save_weights.
Weights load_weights(const std::filesystem::path& folder, const Params& p);

}  // namespace apical::segregated
