// SPDX-License-Identifier: Apache-2.0
// Google Benchmark kernels of the two-sweep microcircuit and its baselines (784-500-500-10, mini-batches of 10):
// one training mini-batch by the engine (SweepTrainer) and by the reference pair (compute_update, apply_update),
// and the test-time readout of 1,000 images. Inputs are synthetic MNIST-like rates (about 19 % of pixels on):
// every product here is dense, so the time does not depend on the pixel values.
#include "apical/models/microcircuit/sweep.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "apical/core/rng.hpp"

namespace {

using namespace apical;
using namespace apical::microcircuit;

constexpr int kBatch = 10;
constexpr int kBatches = 64;  // distinct mini-batches cycled through

struct Batches {
  std::vector<Matrix> x;
  std::vector<std::vector<int>> labels;
};

Batches make_batches(int n_in, int rows, int count) {
  Stream s(7, "bench.sweep");
  Batches b;
  for (int k = 0; k < count; ++k) {
    Matrix x(rows, n_in);
    std::vector<int> labels(static_cast<std::size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      for (int i = 0; i < n_in; ++i) x(r, i) = s.uniform() < 0.19 ? s.uniform() : 0.0;
      labels[static_cast<std::size_t>(r)] = static_cast<int>(s.uniform() * 10.0) % 10;
    }
    b.x.push_back(std::move(x));
    b.labels.push_back(std::move(labels));
  }
  return b;
}

SweepParams params(Rule rule) {
  SweepParams p;
  p.rule = rule;
  if (rule != Rule::microcircuit) p.eta_up = {0.3, 0.3, 0.3};
  return p;
}

void BM_SweepTrainBatch(benchmark::State& state, Rule rule) {
  const SweepParams p = params(rule);
  const Batches b = make_batches(p.size(0), kBatch, kBatches);
  SweepWeights w = SweepWeights::initial(p, 1);
  SweepTrainer trainer(p);
  std::size_t k = 0;
  for (auto _ : state) {
    const SweepState& s = trainer.train_batch(w, b.x[k], b.labels[k]);
    benchmark::DoNotOptimize(s.r_out_up.data());
    k = (k + 1) % b.x.size();
  }
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch), benchmark::Counter::kIsRate);
}

void BM_SweepReferenceBatch(benchmark::State& state, Rule rule) {
  const SweepParams p = params(rule);
  const Batches b = make_batches(p.size(0), kBatch, kBatches);
  SweepWeights w = SweepWeights::initial(p, 1);
  std::size_t k = 0;
  for (auto _ : state) {
    const SweepUpdate d = compute_update(p, w, b.x[k], b.labels[k]);
    apply_update(w, d);
    benchmark::DoNotOptimize(w.w.up[1].data());
    k = (k + 1) % b.x.size();
  }
  state.counters["examples/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch), benchmark::Counter::kIsRate);
}

void BM_SweepPredict1000(benchmark::State& state) {
  const SweepParams p = params(Rule::microcircuit);
  const Batches b = make_batches(p.size(0), 1000, 1);
  const SweepWeights w = SweepWeights::initial(p, 1);
  for (auto _ : state) {
    const Matrix r = predict_rates(p, w, b.x[0]);
    benchmark::DoNotOptimize(r.data());
  }
}

}  // namespace

BENCHMARK_CAPTURE(BM_SweepTrainBatch, microcircuit, Rule::microcircuit)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SweepReferenceBatch, microcircuit, Rule::microcircuit)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SweepTrainBatch, backprop, Rule::backprop)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_SweepReferenceBatch, backprop, Rule::backprop)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SweepPredict1000)->Unit(benchmark::kMillisecond);
