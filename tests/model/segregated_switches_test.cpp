// SPDX-License-Identifier: Apache-2.0
// The code-only options of spec section 14.15 as switches: layer-to-layer feedback, several output neurons per
// class, the feedback-weight learning rule, and column-major pixel order.
#include "apical/core/error.hpp"
#include "apical/models/segregated/experiment.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace apical::segregated {
namespace {

Params three_layers(Mode mode) {
  Params p;
  p.mode = mode;
  p.n_input = 6;
  p.layers = {5, 4, 3};
  p.learning_rates = {0.2, 0.2, 0.1};
  return p;
}

TEST(LayerwiseFeedback, InitialisationUsesTheLayerAboveWithoutProducts) {
  Params p;
  p.layers = {500, 100, 10};
  p.learning_rates = {0.23, 0.23, 0.12};
  p.feedback_routing = FeedbackRouting::layerwise;
  const Weights w = Weights::initialise(p, 3);
  ASSERT_EQ(w.layers[0].Y.size(), 500U * 100U);  // from hidden layer 1
  ASSERT_EQ(w.layers[1].Y.size(), 100U * 10U);   // from the output layer
  // Zero-mean uniform with SD W_sd of the layer above (no product: bounded by the half-width).
  const double half = 3.465 * init_moments(p, 500).W_sd / 2;
  double sum = 0;
  for (double v : w.layers[0].Y) {
    ASSERT_LE(std::abs(v), half);
    sum += v;
  }
  EXPECT_LT(std::abs(sum / 50000.0), 5 * half / std::sqrt(3.0 * 50000.0));
  // The top hidden layer's feedback is the same in both routings.
  p.feedback_routing = FeedbackRouting::broadcast;
  EXPECT_EQ(Weights::initialise(p, 3).layers[1].Y, w.layers[1].Y);
}

TEST(LayerwiseFeedback, SymmetricFeedbackIsTheTransposeOfTheLayerAbove) {
  Params p = three_layers(Mode::spiking);
  p.feedback_routing = FeedbackRouting::layerwise;
  p.feedback = FeedbackKind::symmetric;
  const Weights w = Weights::initialise(p, 4);
  for (int i = 0; i < 5; ++i) {
    for (int l = 0; l < 4; ++l) EXPECT_EQ(w.layers[0].Y[static_cast<std::size_t>(i * 4 + l)], w.layers[1].w(l, i));
  }
}

TEST(LayerwiseFeedback, ApicalInputComesFromTheLayerAbove) {
  // Non-spiking mode: in the forward phase every rate is constant, so the feedback each hidden layer averaged
  // equals the rates of its source layer: the layer above (layerwise) or the output layer (broadcast).
  for (const FeedbackRouting routing : {FeedbackRouting::layerwise, FeedbackRouting::broadcast}) {
    Params p = three_layers(Mode::nonspiking);
    p.feedback_routing = routing;
    Network net(p, Weights::initialise(p, 5), 5);
    const std::vector<double> pixels = {0.1, 0.5, 0.0, 1.0, 0.3, 0.7};
    ExampleTrace trace;
    net.train_example(pixels, 2, net.draw_schedule(0, 0), nullptr, &trace);
    const auto& source = routing == FeedbackRouting::layerwise ? trace.forward[1].rate : trace.forward[2].rate;
    EXPECT_EQ(trace.forward[0].feedback, source);
    EXPECT_EQ(trace.forward[1].feedback, trace.forward[2].rate);
  }
}

TEST(NeuronsPerClass, TeachingDrivesTheWholeGroupAndReadoutAveragesIt) {
  Params p;
  p.n_input = 4;
  p.layers = {3, 6};  // 3 classes x 2 neurons
  p.neurons_per_class = 2;
  Weights w = Weights::initialise(p, 5);
  std::fill(w.layers[1].W.begin(), w.layers[1].W.end(), 0.0);
  w.layers[1].b = {1.0, 1.0, 0.5, 0.5, -1.0, -1.0};
  const Network net(p, w, 5);
  SimState s(p);
  net.open_test_generators(s, "spikes.test", 0, 0);
  const std::vector<double> dark(4, 0.0);
  net.present(s, dark);
  std::vector<LayerAverages> avg;
  net.run_phase(s, 100, /*label=*/1, /*teach=*/true, avg);
  for (int i = 0; i < 6; ++i) {
    const double v = w.layers[1].b[static_cast<std::size_t>(i)];
    const double expected = i / 2 == 1 ? (0.6 * v + 8.0) / 1.7 : (0.6 * v - 8.0) / 1.7;
    EXPECT_NEAR(s.layer[1].soma[static_cast<std::size_t>(i)], expected, 1e-12) << "neuron " << i;
  }
  // Class scores are group means: class 1 wins although neuron 0 has the largest single value.
  EXPECT_EQ(net.predicted_class(std::vector<double>{5.0, -4.0, 2.0, 1.0, 0.0, 0.0}), 1);
  EXPECT_EQ(net.classify(dark, s), 0);  // V = b: class 0 has the largest mean bias
}

TEST(NeuronsPerClass, OutputSizeMustBeAMultiple) {
  Params p;
  p.layers = {500, 15};
  p.neurons_per_class = 2;
  EXPECT_THROW(p.validate(), Error);
}

TEST(FeedbackLearning, UpdatesYWithTheInverseLossRuleAndKeepsSparseZeros) {
  Params p = three_layers(Mode::nonspiking);
  p.feedback_learning_rate = 0.5;
  p.feedback_sparsity = 0.5;
  const Weights w0 = Weights::initialise(p, 6);
  Network net(p, w0, 6);
  const std::vector<double> pixels = {0.9, 0.5, 0.0, 1.0, 0.3, 0.7};
  ExampleTrace trace;
  net.train_example(pixels, 0, net.draw_schedule(0, 0), nullptr, &trace);
  for (int m = 0; m < 2; ++m) {
    const auto& f = trace.forward[static_cast<std::size_t>(m)];
    const auto& y0 = w0.layers[static_cast<std::size_t>(m)].Y;
    const auto& y1 = net.weights().layers[static_cast<std::size_t>(m)].Y;
    const auto& mask = w0.layers[static_cast<std::size_t>(m)].Y_mask;
    const std::size_t n_fb = f.feedback.size();
    bool changed = false;
    for (std::size_t i = 0; i < f.apical.size(); ++i) {
      const double sa = sigmoid(f.apical[i]);
      const double e_inv = -(0.2 * sigmoid(f.soma[i]) - f.plateau[i]) * sa * (1 - sa);
      for (std::size_t k = 0; k < n_fb; ++k) {
        const std::size_t e = i * n_fb + k;
        if (mask[e] == 0) {
          EXPECT_EQ(y1[e], 0.0);
        } else {
          EXPECT_NEAR(y1[e], y0[e] - 0.5 * e_inv * f.feedback[k], 1e-15);
          changed = changed || y1[e] != y0[e];
        }
      }
    }
    EXPECT_TRUE(changed) << "layer " << m;
  }
}

TEST(FeedbackLearning, CannotBeCombinedWithSymmetricFeedback) {
  Params p;
  p.feedback_learning_rate = 0.1;
  p.feedback = FeedbackKind::symmetric;
  EXPECT_THROW(p.validate(), Error);
}

TEST(PixelOrder, ColumnMajorTransposesTheImage) {
  data::Dataset d;
  d.rows = 2;
  d.cols = 3;
  d.pixels = {0, 51, 102, 153, 204, 255};  // rows (0, 0.2, 0.4) and (0.6, 0.8, 1.0)
  d.labels = {0};
  std::vector<double> row, col;
  input_image(d, 0, false, row);
  input_image(d, 0, true, col);
  EXPECT_EQ(row, (std::vector<double>{0.0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(col, (std::vector<double>{0.0, 0.6, 0.2, 0.8, 0.4, 1.0}));
}

}  // namespace
}  // namespace apical::segregated
