// SPDX-License-Identifier: Apache-2.0
#pragma once

// End-to-end timing of the segregated-dendrites network (`apical bench`): a fresh network is trained on the first
// N training examples (in file order) and then tested on the first M test images, `repeats` times over, and the
// medians over the repeats are reported with the simulated time steps per second, the peak memory and the
// machine and build the numbers were measured on. Every repeat simulates exactly the same thing (same seed, same
// examples), so the spread over repeats is the machine's noise, not the model's.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "apical/data/dataset.hpp"
#include "apical/models/segregated/params.hpp"

namespace apical::bench {

/// What `apical bench` measures. The option names in error messages are those of the command line.
struct BenchOptions {
  std::int64_t examples = 2000;     ///< --examples: training examples per repeat (the first N, in order)
  std::int64_t test_images = 1000;  ///< --test-images: test images per test pass (the first M)
  int threads = 0;                  ///< --threads: test threads; 0 = all cores
  segregated::Mode mode = segregated::Mode::spiking;  ///< --mode
  std::vector<int> layers = {500, 10};                ///< --layers: sizes of the non-input layers
  int repeats = 5;                                    ///< --repeats
  std::uint64_t seed = 1;
};

/// Limits of the options (inclusive).
inline constexpr std::int64_t kMaxExamples = 60000;
inline constexpr std::int64_t kMaxTestImages = 10000;
inline constexpr int kMaxRepeats = 1000;
inline constexpr int kMaxThreads = 1024;
inline constexpr int kMaxLayerSize = 100000;

/// Checks the options on their own; throws apical::Error naming the option (e.g. "--examples 0") and the valid
/// range.
void validate(const BenchOptions& options);
/// Also checks the options against a data set: enough training examples and test images, 784-pixel images.
void validate(const BenchOptions& options, const data::DataSplit& data);

/// "500,10" -> {500, 10}; throws apical::Error naming --layers for anything else (empty, non-numbers, sizes
/// outside 1..kMaxLayerSize, an output layer of fewer than 10 neurons).
std::vector<int> parse_layers(std::string_view text);
/// "spiking" or "nonspiking"; throws apical::Error naming --mode otherwise.
segregated::Mode parse_mode(std::string_view text);
std::string_view mode_name(segregated::Mode mode);
/// "784-500-10".
std::string network_name(const std::vector<int>& layers);

/// The default parameters with the options' mode and layers. Learning rates: the paper's for 784-10 (0.19),
/// 784-500-10 (0.21, 0.21) and 784-500-100-10 (0.23, 0.23, 0.12), otherwise 0.21 for every layer.
segregated::Params bench_params(const BenchOptions& options);

/// Threads a test pass uses for a --threads value (0 = all cores).
int resolve_threads(int threads);

/// Peak memory of this process so far, in MiB (2^20 bytes); 0 when the value is unavailable.
struct PeakMemory {
  double max_rss_mib = 0;  ///< getrusage(RUSAGE_SELF).ru_maxrss
  double vm_hwm_mib = 0;   ///< VmHWM from /proc/self/status
};
PeakMemory peak_memory();

/// Median, minimum and maximum of a set of measurements (all 0 for an empty set).
struct Stats {
  double median = 0, min = 0, max = 0;
};
Stats stats(std::vector<double> values);

/// What a benchmark run measured. Times are wall-clock seconds from std::chrono::steady_clock.
struct BenchResult {
  BenchOptions options;
  int threads = 0;               ///< test threads actually used
  std::string data;              ///< name of the data (e.g. the folder the MNIST files came from)
  std::int64_t train_steps = 0;  ///< simulated time steps of one repeat's training: sum of the phase lengths
  std::int64_t test_steps = 0;   ///< simulated time steps of one test pass (test_steps per image; 2 non-spiking)
  std::vector<double> train_seconds;  ///< per repeat: training the N examples (images, schedules, updates)
  std::vector<double> test_seconds;   ///< per repeat: the test pass over M images with `threads` threads
  /// CPU time of the same intervals (training: this thread; test pass: the whole process, all test threads).
  /// On a busy machine the wall times include time the threads waited for a core; the CPU times do not.
  std::vector<double> train_cpu_seconds, test_cpu_seconds;
  double train_error_percent = 0;  ///< forward-phase training error of the last repeat (sanity check)
  /// Spiking mode: spikes per simulated step during the last repeat's training, input first, then each layer.
  std::vector<double> spikes_per_step;
  double test_error_percent = 0;  ///< test error of the last repeat's network (sanity check)
  PeakMemory memory;              ///< at the end of the run (includes the loaded data set)

  Stats ms_per_example() const;           ///< training, per example, over repeats
  Stats ms_per_test_image() const;        ///< test pass wall time / images, over repeats
  Stats cpu_ms_per_example() const;       ///< training CPU time per example, over repeats
  Stats cpu_ms_per_test_image() const;    ///< test pass CPU time (all threads) / images, over repeats
  double full_test_seconds() const;       ///< median test pass extrapolated to 10,000 images (same threads)
  double train_steps_per_second() const;  ///< train_steps / median training time (one core)
  double test_steps_per_second() const;   ///< test_steps / median test pass wall time (all test threads)
};

/// Runs the benchmark on `data` (already validated against the options here). `progress` gets one line per
/// repeat and may be empty.
BenchResult run_bench(const BenchOptions& options, const data::DataSplit& data,
                      const std::function<void(const std::string&)>& progress = {});

/// Machine and build context: apical_version, git_commit, build_type, compiler, cpu_model (from /proc/cpuinfo),
/// cores, host, os, date (ISO 8601 UTC) and command_line (array of the arguments).
nlohmann::json machine_context(int argc, const char* const* argv);
/// The CPU model name from /proc/cpuinfo, or "unknown".
std::string cpu_model();

/// The results as a JSON document: {"context", "options", "train", "test", "memory"}.
nlohmann::json to_json(const BenchResult& result, const nlohmann::json& context);
/// Writes to_json(result, context) atomically to `path`, creating its folder if needed.
void write_json(const std::filesystem::path& path, const BenchResult& result, const nlohmann::json& context);
/// A small human-readable table of the results.
std::string format_table(const BenchResult& result);

/// MNIST-like synthetic images for benchmarks and tests when the real files are absent: 28 x 28, about 19 % of
/// the pixels non-zero (strokes near the centre), mean pixel value about 0.13, labels 0..9.
data::Dataset synthetic_mnist_like(std::size_t n, std::uint64_t seed, const std::string& name);

}  // namespace apical::bench
