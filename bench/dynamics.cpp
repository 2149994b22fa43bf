// SPDX-License-Identifier: Apache-2.0
// Google Benchmark kernels of the microcircuit's full continuous-time dynamics (spec 6.1): one Euler step and one
// 100 ms pattern (1,000 steps) of the Fig 2 student, 30-50-10 with 10 interneurons, soft-ReLU, noise sigma = 0.3,
// W^PP bottom-up, W^IP and W^PI plastic (the Params defaults), with the output nudged towards a target. The Fig 2
// experiment runs about 10^7 such patterns at full length, so this is its cost per trial.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "apical/core/rng.hpp"
#include "apical/models/microcircuit/network.hpp"

namespace {

using namespace apical;
using namespace apical::microcircuit;

Network fig2_student() {
  const Params p;  // the defaults are the Fig 2 student
  Network net(p, Weights::random(p, 1), 1);
  Stream s(3, "bench.dynamics");
  std::vector<double> input(static_cast<std::size_t>(p.n_input()));
  std::vector<double> target(static_cast<std::size_t>(p.n_output()));
  for (double& x : input) x = 2.0 * s.uniform() - 1.0;
  for (double& x : target) x = 4.0 * s.uniform();
  net.set_input(input);
  net.set_target(target);
  return net;
}

void BM_DynamicsStep(benchmark::State& state) {
  Network net = fig2_student();
  for (auto _ : state) {
    net.step();
    benchmark::DoNotOptimize(net.state().u_P.back().data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("items = Euler steps of 30-50-10 with plasticity and noise");
}

void BM_DynamicsPattern(benchmark::State& state) {
  Network net = fig2_student();
  const std::int64_t steps = net.derived().pattern_steps;
  for (auto _ : state) {
    net.run(steps);
    benchmark::DoNotOptimize(net.state().u_P.back().data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("items = 100 ms patterns (1,000 steps)");
}

}  // namespace

BENCHMARK(BM_DynamicsStep)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DynamicsPattern)->Unit(benchmark::kMillisecond);
