// SPDX-License-Identifier: Apache-2.0
// Google Benchmark kernels of the segregated-dendrites network: one time step, one training example and one
// 250-step test image, for 784-500-10 and 784-500-100-10, spiking and non-spiking. Images are the real MNIST
// files when data::load_dataset finds them (run from the source tree, or set APICAL_DATA), else synthetic
// MNIST-like images; every benchmark's label says which.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apical/bench/bench.hpp"
#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/models/segregated/experiment.hpp"
#include "apical/models/segregated/network.hpp"

namespace {

using namespace apical;
using segregated::Mode;

constexpr std::size_t kImages = 1000;

struct Images {
  std::vector<std::vector<double>> train, test;
  std::vector<int> train_label;
  std::string source;
};

Images load_images() {
  data::DataSplit split;
  std::string source;
  // The usual search path (./data, ../shared/data, $APICAL_DATA), then ../shared/data beside the source tree.
  using OptionalPath = std::optional<std::filesystem::path>;
  const std::filesystem::path beside_source =
      std::filesystem::path(APICAL_SOURCE_DIR).parent_path() / "shared" / "data";
  for (const OptionalPath& dir : {OptionalPath(), OptionalPath(beside_source)}) {
    try {
      split = data::load_dataset(data::DatasetKind::mnist, dir);
      source = "real MNIST";
      break;
    } catch (const Error&) {
    }
  }
  if (source.empty()) {
    split.train = bench::synthetic_mnist_like(kImages, 1, "synthetic/train");
    split.test = bench::synthetic_mnist_like(kImages, 2, "synthetic/test");
    source = "synthetic MNIST-like (19% non-zero, mean 0.13)";
  }
  Images im;
  im.source = source;
  const std::size_t n_train = std::min(kImages, split.train.size());
  const std::size_t n_test = std::min(kImages, split.test.size());
  im.train.resize(n_train);
  im.test.resize(n_test);
  for (std::size_t k = 0; k < n_train; ++k) {
    segregated::input_image(split.train, k, false, im.train[k]);
    im.train_label.push_back(split.train.labels[k]);
  }
  for (std::size_t k = 0; k < n_test; ++k) segregated::input_image(split.test, k, false, im.test[k]);
  return im;
}

const Images& images() {
  static const Images im = load_images();
  return im;
}

segregated::Network make_network(Mode mode, const char* layers) {
  bench::BenchOptions o;
  o.mode = mode;
  o.layers = bench::parse_layers(layers);
  const segregated::Params p = bench::bench_params(o);
  return segregated::Network(p, segregated::Weights::initialise(p, o.seed), o.seed);
}

std::string label(const char* layers, Mode mode) {
  return fmt::format("{} {}, {}", bench::network_name(bench::parse_layers(layers)), bench::mode_name(mode),
                     images().source);
}

/// One time step: run_phase(state, 1, ...) on a presented image, after 50 settling steps. A one-step phase lies
/// inside its averaging window, so this includes the window averages (PSPs of every population) of that step.
void BM_TimeStep(benchmark::State& state, Mode mode, const char* layers) {
  segregated::Network net = make_network(mode, layers);
  const Images& im = images();
  segregated::SimState& s = net.state();
  net.present(s, im.train[0]);
  std::vector<segregated::LayerAverages> avg;
  for (int t = 0; t < 50; ++t) net.run_phase(s, 1, im.train_label[0], false, avg);
  for (auto _ : state) {
    net.run_phase(s, 1, im.train_label[0], false, avg);
    benchmark::DoNotOptimize(avg.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(label(layers, mode));
}

/// One training example (forward and target phase, updates) with a drawn schedule, images in file order.
void BM_TrainExample(benchmark::State& state, Mode mode, const char* layers) {
  segregated::Network net = make_network(mode, layers);
  const Images& im = images();
  std::uint64_t k = 0;
  std::int64_t steps = 0;
  for (auto _ : state) {
    const std::size_t i = k % im.train.size();
    const segregated::ExampleSchedule schedule = net.draw_schedule(1, k);
    Stream noise(1, "feedback.noise", 1, k);
    benchmark::DoNotOptimize(net.train_example(im.train[i], im.train_label[i], schedule, &noise));
    steps += schedule.forward_steps + schedule.target_steps;
    ++k;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["steps/s"] = benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
  state.SetLabel(label(layers, mode));
}

/// One test image (250 steps spiking, 2 rate steps non-spiking) in a test state, as test_network does it.
void BM_TestImage(benchmark::State& state, Mode mode, const char* layers) {
  const segregated::Network net = make_network(mode, layers);
  const Images& im = images();
  segregated::SimState s(net.params());
  std::uint64_t k = 0;
  for (auto _ : state) {
    const std::size_t i = k % im.test.size();
    net.open_test_generators(s, "spikes.test", 0, i);
    benchmark::DoNotOptimize(net.classify(im.test[i], s));
    ++k;
  }
  state.SetItemsProcessed(state.iterations());
  const double per_image = mode == Mode::spiking ? net.params().test_steps : 2;
  state.counters["steps/s"] =
      benchmark::Counter(per_image * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(label(layers, mode));
}

}  // namespace

BENCHMARK_CAPTURE(BM_TimeStep, spiking_500_10, Mode::spiking, "500,10")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TrainExample, spiking_500_10, Mode::spiking, "500,10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TestImage, spiking_500_10, Mode::spiking, "500,10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TimeStep, nonspiking_500_10, Mode::nonspiking, "500,10")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TrainExample, nonspiking_500_10, Mode::nonspiking, "500,10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TestImage, nonspiking_500_10, Mode::nonspiking, "500,10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TimeStep, spiking_500_100_10, Mode::spiking, "500,100,10")->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TrainExample, spiking_500_100_10, Mode::spiking, "500,100,10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TestImage, spiking_500_100_10, Mode::spiking, "500,100,10")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TimeStep, nonspiking_500_100_10, Mode::nonspiking, "500,100,10")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_TrainExample, nonspiking_500_100_10, Mode::nonspiking, "500,100,10")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TestImage, nonspiking_500_100_10, Mode::nonspiking, "500,100,10")
    ->Unit(benchmark::kMillisecond);
