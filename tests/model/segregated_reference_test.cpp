// SPDX-License-Identifier: Apache-2.0
// The optimised engine (Network) against the dense reference (ReferenceNetwork): from the same seed they must
// produce the same spikes, the same weights and the same test outputs, bit for bit, for every depth, both modes
// and every model switch.
#include "apical/models/segregated/reference.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

namespace apical::segregated {
namespace {

std::vector<std::vector<double>> synthetic_images(int n, std::uint64_t seed) {
  // MNIST-like: about 19 % of the pixels lit, mean intensity about 0.13.
  Stream s(seed, "images");
  std::vector<std::vector<double>> images(static_cast<std::size_t>(n), std::vector<double>(784, 0.0));
  for (auto& img : images) {
    for (auto& v : img) v = s.uniform() < 0.19 ? 0.3 + 0.7 * s.uniform() : 0.0;
  }
  return images;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

void expect_same_weights(const Weights& a, const Weights& b, const std::string& where) {
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t m = 0; m < a.layers.size(); ++m) {
    ASSERT_TRUE(same_bits(a.layers[m].W, b.layers[m].W)) << where << ": W of layer " << m;
    ASSERT_TRUE(same_bits(a.layers[m].b, b.layers[m].b)) << where << ": b of layer " << m;
    ASSERT_TRUE(same_bits(a.layers[m].Y, b.layers[m].Y)) << where << ": Y of layer " << m;
  }
}

void expect_same_spikes(const Network& net, const ReferenceNetwork& ref, const std::string& where) {
  const SimState& s = net.state();
  for (int q = 0; q <= net.params().n_layers(); ++q) {
    const PopulationState& pop = q == 0 ? s.input : s.pop[static_cast<std::size_t>(q - 1)];
    for (int d = 1; d <= pop.spikes.depth(); ++d) {
      const SpikeSlot& slot = pop.spikes.slot(d);
      std::vector<double> dense(ref.spikes(q, d).size(), 0.0);
      for (std::size_t e = 0; e < slot.size(); ++e) dense[slot.unit[e]] = slot.count[e];
      ASSERT_EQ(dense, ref.spikes(q, d)) << where << ": population " << q << ", " << d << " steps ago";
    }
    ASSERT_EQ(static_cast<double>(pop.spike_total), ref.spike_total(q)) << where << ": spike total of " << q;
  }
}

struct Variant {
  std::string name;
  std::function<void(Params&)> apply;
};

class EngineVsReference : public ::testing::TestWithParam<Variant> {};

TEST_P(EngineVsReference, SameSpikesWeightsAndTestOutputs) {
  Params p;
  p.layers = {30, 20, 10};
  p.learning_rates = {0.23, 0.23, 0.12};
  GetParam().apply(p);
  const std::uint64_t seed = 21;
  const int n_examples = p.mode == Mode::spiking ? 12 : 40;
  const auto images = synthetic_images(n_examples + 4, 5);
  Network net(p, Weights::initialise(p, seed), seed);
  ReferenceNetwork ref(p, Weights::initialise(p, seed), seed);
  double total_spikes = 0;
  for (int e = 0; e < n_examples; ++e) {
    const auto k = static_cast<std::uint64_t>(e);
    const ExampleSchedule schedule = net.draw_schedule(0, k);
    const int label = e % p.n_classes();
    Stream noise_a(seed, "feedback.noise", 0, k), noise_b(seed, "feedback.noise", 0, k);
    const ExampleOutcome a = net.train_example(images[static_cast<std::size_t>(e)], label, schedule, &noise_a);
    const ExampleOutcome b = ref.train_example(images[static_cast<std::size_t>(e)], label, schedule, &noise_b);
    const std::string where = GetParam().name + ", example " + std::to_string(e);
    ASSERT_EQ(a.predicted, b.predicted) << where;
    ASSERT_TRUE(same_bits({a.loss}, {b.loss})) << where;
    ASSERT_TRUE(same_bits(a.mean_rate, b.mean_rate)) << where;
    expect_same_weights(net.weights(), ref.weights(), where);
    if (p.mode == Mode::spiking) expect_same_spikes(net, ref, where);
  }
  if (p.mode == Mode::spiking) {
    for (int q = 0; q <= p.n_layers(); ++q) total_spikes += ref.spike_total(q);
    EXPECT_GT(total_spikes, 1000) << "the comparison must involve real spiking activity";
  }
  // The weights moved (the comparison is not between two untouched copies).
  EXPECT_FALSE(same_bits(net.weights().layers[0].W, Weights::initialise(p, seed).layers[0].W));
  // Test images.
  SimState state(p);
  for (int t = 0; t < 3; ++t) {
    const auto image = static_cast<std::uint64_t>(t);
    std::vector<double> out_a, out_b;
    net.open_test_generators(state, "spikes.test", 4, image);
    const int ca = net.classify(images[static_cast<std::size_t>(n_examples + t)], state, &out_a);
    const int cb = ref.classify(images[static_cast<std::size_t>(n_examples + t)], "spikes.test", 4, image, &out_b);
    EXPECT_EQ(ca, cb);
    EXPECT_TRUE(same_bits(out_a, out_b)) << GetParam().name << ": test image " << t;
  }
}

const Variant kVariants[] = {
    {"spiking_784_30_20_10", [](Params&) {}},
    {"spiking_784_30_10", [](Params& p) { p.layers = {30, 10}; p.learning_rates = {0.21, 0.21}; }},
    {"spiking_784_10", [](Params& p) { p.layers = {10}; p.learning_rates = {0.19}; }},
    {"nonspiking_784_30_20_10", [](Params& p) { p.mode = Mode::nonspiking; }},
    {"nonspiking_784_30_10", [](Params& p) { p.mode = Mode::nonspiking; p.layers = {30, 10}; p.learning_rates = {0.21, 0.21}; }},
    {"nonspiking_784_10", [](Params& p) { p.mode = Mode::nonspiking; p.layers = {10}; p.learning_rates = {0.19}; }},
    {"exact_kernel", [](Params& p) { p.kernel = KernelKind::exact; }},
    {"paper_window", [](Params& p) { p.window = WindowRule::paper; }},
    {"stochastic_plateaus", [](Params& p) { p.plateau = PlateauTiming::stochastic_code; }},
    {"stochastic_plateaus_paper", [](Params& p) { p.plateau = PlateauTiming::stochastic_paper; }},
    {"rate_feedback", [](Params& p) { p.feedback_signal = FeedbackSignal::rates; }},
    {"apical_conductance", [](Params& p) { p.g_A = 0.05; }},
    {"layerwise_feedback", [](Params& p) { p.feedback_routing = FeedbackRouting::layerwise; }},
    {"symmetric_noisy_feedback", [](Params& p) { p.feedback = FeedbackKind::symmetric; p.symmetric_noise_sd = 0.05; }},
    {"sparse_feedback", [](Params& p) { p.feedback_sparsity = 0.8; }},
    {"backprop", [](Params& p) { p.hidden_rule = HiddenRule::backprop; }},
    {"feedback_bias_head_init", [](Params& p) { p.feedback_bias = true; p.weight_init = InitScheme::head; p.feedback_init = InitScheme::head; }},
    {"feedback_learning", [](Params& p) { p.feedback_learning_rate = 0.1; }},
    {"neurons_per_class", [](Params& p) { p.layers = {30, 20, 20}; p.neurons_per_class = 2; }},
    {"rate_readout_fixed_phases", [](Params& p) { p.readout = Readout::rate; p.random_phase_lengths = false; }},
};

INSTANTIATE_TEST_SUITE_P(Variants, EngineVsReference, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& v) { return v.param.name; });

}  // namespace
}  // namespace apical::segregated
