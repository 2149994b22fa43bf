// SPDX-License-Identifier: Apache-2.0
#pragma once

// A deliberately simple, dense implementation of the segregated-dendrites model: the test oracle for the
// optimised engine (Network). It keeps dense spike-count vectors for the last K steps of every population,
// recomputes all K per-delay products W S(t - d + 1) from scratch in every step (row by row, all presynaptic
// units, in ascending order), recomputes every PSP from the history, and applies the updates to every weight.
// It shares with Network only what defines the model rather than the algorithm: Params, the initialisation,
// the per-neuron random spike processes (PoissonUnits) and the schedules. Same seed => same spikes and the same
// weights, bit for bit (tests/model/segregated_reference_test.cpp).

#include "apical/models/segregated/network.hpp"

#include <vector>

namespace apical::segregated {

class ReferenceNetwork {
 public:
  ReferenceNetwork(Params params, Weights weights, std::uint64_t seed);

  const Weights& weights() const { return weights_; }
  const Params& params() const { return params_; }

  /// Same contract as Network::train_example.
  ExampleOutcome train_example(std::span<const double> pixels, int label, const ExampleSchedule& schedule,
                               Stream* noise = nullptr, ExampleTrace* trace = nullptr);
  /// Same contract as Network::classify; the test image's spikes come from (stream, pass, image).
  int classify(std::span<const double> pixels, const std::string& stream, std::uint64_t pass, std::uint64_t image,
               std::vector<double>* mean_output = nullptr) const;

  /// Dense spike counts of population p (0 = input, m + 1 = layer m) d steps ago (d = 1: the latest step).
  const std::vector<double>& spikes(int population, int d) const;
  /// Total spikes emitted by population p during training.
  double spike_total(int population) const { return state_.pop[static_cast<std::size_t>(population)].total; }

 private:
  struct Population {
    std::vector<std::vector<double>> history;  ///< history[d - 1] = counts d steps ago (d = 1 newest)
    std::vector<double> trace_L, trace_s;      ///< exact kernel
    PoissonUnits generator;
    double total = 0;
  };
  struct Layer {
    std::vector<double> basal, apical, soma, rate, feedback;
  };
  struct State {
    std::vector<Population> pop;  ///< 0 = input, m + 1 = layer m
    std::vector<Layer> layer;
    std::vector<double> input_rate;
    std::vector<double> out_psp_prev, out_rate_prev;  ///< output layer after the previous step
  };

  State make_state() const;
  void open_generators(State& s, const std::string& stream, std::uint64_t a, std::uint64_t b) const;
  void present(State& s, std::span<const double> pixels) const;
  std::vector<double> psp(const Population& pop) const;
  void step(State& s, int label, bool teach) const;
  void phase(State& s, int steps, int label, bool teach, std::vector<LayerAverages>& avg,
             const std::vector<std::vector<int>>* offsets, int offset_window) const;
  int predicted_class(const std::vector<double>& output) const;

  Params params_;
  Derived derived_;
  Weights weights_;
  std::uint64_t seed_;
  State state_;
};

}  // namespace apical::segregated
