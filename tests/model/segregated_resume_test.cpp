// SPDX-License-Identifier: Apache-2.0
// Exact resume: a run stopped after k examples and resumed from its checkpoint must end with bit-for-bit the
// same weights and metrics as an uninterrupted run. Synthetic data keeps this a fast test.
#include <gtest/gtest.h>

#include <cstring>

#include "apical/core/error.hpp"
#include "apical/io/archive.hpp"
#include "apical/io/npy.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/segregated/experiment.hpp"
#include "test_support.hpp"

namespace apical::segregated {
namespace {

/// Digit-like synthetic images: each class lights its own band of rows, plus sparse noise.
data::DataSplit synthetic_data(std::size_t n_train, std::size_t n_test) {
  const auto band = [](std::size_t j, std::size_t label) {
    const std::size_t row = j / 28;
    return row >= 2 + 2 * label && row < 4 + 2 * label;
  };
  data::DataSplit split;
  split.train = test::synthetic_images(n_train, 1, "synthetic/train", 28, 28, 0.03, band);
  split.test = test::synthetic_images(n_test, 2, "synthetic/test", 28, 28, 0.03, band);
  return split;
}

ExperimentSettings small_settings(Mode mode) {
  ExperimentSettings st;
  st.name = "resume";
  st.seed = 17;
  st.params.mode = mode;
  st.params.layers = {30, 10};
  st.params.learning_rates = {0.21, 0.21};
  st.epochs = 2;
  st.examples_per_epoch = 40;
  st.test_examples = 20;
  st.checkpoint_every = 0;
  st.quick_test_every = 15;  // quick tests (and the state resets after them) must not break exactness
  st.quick_test_examples = 5;
  st.threads = 2;
  st.record_angles = true;  // the analysis recorders must resume exactly too
  st.record_jacobian = true;
  st.record_losses = true;
  return st;
}

std::vector<double> weights_bits(const io::RunDir& run, int layers) {
  std::vector<double> all;
  for (int m = 0; m < layers; ++m) {
    for (const char* name : {"W_", "b_"}) {
      const auto a = io::read_npy(run.file("weights/final/" + std::string(name) + std::to_string(m) + ".npy"));
      const auto v = a.as<double>();
      all.insert(all.end(), v.begin(), v.end());
    }
  }
  return all;
}

void expect_bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)), 0) << "weights differ";
}

class Resume : public ::testing::TestWithParam<std::tuple<Mode, std::int64_t>> {};

TEST_P(Resume, StoppedAndResumedRunEqualsUninterruptedRun) {
  const auto [mode, stop] = GetParam();
  const data::DataSplit data = synthetic_data(60, 30);
  test::TempDir tmp("resume");
  ExperimentSettings st = small_settings(mode);
  st.params.plateau = PlateauTiming::stochastic_code;  // exercise the per-example streams too
  if (mode == Mode::nonspiking) st.params.plateau = PlateauTiming::synchronous;

  io::RunDir whole = io::RunDir::create("whole", tmp / "whole", false);
  whole.write_meta(io::make_meta(st.seed, 0, nullptr));
  const TrainSummary a = train(st, data, whole, false);
  ASSERT_TRUE(a.completed);

  io::RunDir parts = io::RunDir::create("parts", tmp / "parts", false);
  parts.write_meta(io::make_meta(st.seed, 0, nullptr));
  ExperimentSettings first = st;
  first.stop_after = stop;
  const TrainSummary b1 = train(first, data, parts, false);
  ASSERT_FALSE(b1.completed);
  const TrainSummary b2 = train(st, data, parts, false);  // resumes from parts/checkpoint.apical
  ASSERT_TRUE(b2.completed);

  expect_bitwise_equal(weights_bits(whole, 2), weights_bits(parts, 2));
  ASSERT_EQ(a.metrics.size(), b2.metrics.size());
  for (std::size_t e = 0; e < a.metrics.size(); ++e) {
    EXPECT_EQ(a.metrics[e].test_error, b2.metrics[e].test_error) << "epoch " << e;
    if (e > 0) {
      EXPECT_EQ(a.metrics[e].train_error, b2.metrics[e].train_error) << "epoch " << e;
      EXPECT_EQ(a.metrics[e].mean_loss, b2.metrics[e].mean_loss) << "epoch " << e;
    }
  }
  EXPECT_EQ(test::read_text(whole.file("quick_tests.csv")), test::read_text(parts.file("quick_tests.csv")));
  for (const char* f :
       {"analysis/angles_epoch_1.csv", "analysis/angles_epoch_2.csv", "analysis/jacobian_epoch_1.csv",
        "analysis/jacobian_epoch_2.csv", "analysis/losses_epoch_1.csv", "analysis/losses_epoch_2.csv"}) {
    const std::string a_text = test::read_text(whole.file(f));
    EXPECT_FALSE(a_text.empty()) << f;
    EXPECT_EQ(a_text, test::read_text(parts.file(f))) << f;
  }
}

INSTANTIATE_TEST_SUITE_P(StopPoints, Resume,
                         ::testing::Values(std::make_tuple(Mode::spiking, std::int64_t{1}),
                                           std::make_tuple(Mode::spiking, std::int64_t{23}),
                                           std::make_tuple(Mode::spiking, std::int64_t{40}),  // epoch boundary
                                           std::make_tuple(Mode::spiking, std::int64_t{57}),
                                           std::make_tuple(Mode::nonspiking, std::int64_t{23})));

TEST(Recorders, OnlyObserveTheTraining) {
  // The analysis recorders (Fig 5 losses, 5S1 Jacobian, 6C activity, 7A angles) must not change the training:
  // `apical reproduce guerguiev2017` takes Figs 5 and 6C from the one- and two-hidden-layer runs of Figs 6 and 8
  // (spec section 16, runs R2 and R3) instead of training those networks a second time.
  const data::DataSplit data = synthetic_data(60, 30);
  test::TempDir tmp("recorders");
  for (const Mode mode : {Mode::spiking, Mode::nonspiking}) {
    ExperimentSettings on = small_settings(mode);
    on.record_activity = true;
    ExperimentSettings off = on;
    off.record_angles = off.record_jacobian = off.record_losses = off.record_activity = false;
    const std::string m = mode == Mode::spiking ? "spiking" : "nonspiking";
    io::RunDir a = io::RunDir::create("on", tmp / (m + "-on"), false);
    a.write_meta(io::make_meta(on.seed, 0, nullptr));
    io::RunDir b = io::RunDir::create("off", tmp / (m + "-off"), false);
    b.write_meta(io::make_meta(off.seed, 0, nullptr));
    const TrainSummary ra = train(on, data, a, false);
    const TrainSummary rb = train(off, data, b, false);
    EXPECT_TRUE(std::filesystem::exists(a.file("analysis/losses_epoch_2.csv"))) << m;
    EXPECT_TRUE(std::filesystem::exists(a.file("analysis/activity_layer_0.npy"))) << m;
    EXPECT_FALSE(std::filesystem::exists(b.file("analysis/losses_epoch_2.csv"))) << m;
    expect_bitwise_equal(weights_bits(a, 2), weights_bits(b, 2));
    ASSERT_EQ(ra.metrics.size(), rb.metrics.size());
    for (std::size_t e = 0; e < ra.metrics.size(); ++e) {
      EXPECT_EQ(ra.metrics[e].test_error, rb.metrics[e].test_error) << m << " epoch " << e;
      if (e > 0) {
        EXPECT_EQ(ra.metrics[e].mean_loss, rb.metrics[e].mean_loss) << m << " epoch " << e;
      }
    }
    EXPECT_EQ(test::read_text(a.file("quick_tests.csv")), test::read_text(b.file("quick_tests.csv"))) << m;
  }
}

TEST(Resume, CheckpointWithoutRecorderArraysFromAnEarlierVersionResumes) {
  // Checkpoints written before the analysis recorders existed have no 'angles' / 'jacobian' arrays.
  const data::DataSplit data = synthetic_data(60, 30);
  test::TempDir tmp("old-checkpoint");
  ExperimentSettings st = small_settings(Mode::spiking);
  st.record_angles = st.record_jacobian = st.record_losses = false;
  st.quick_test_every = 0;
  io::RunDir whole = io::RunDir::create("whole", tmp / "whole", false);
  whole.write_meta(io::make_meta(st.seed, 0, nullptr));
  train(st, data, whole, false);
  io::RunDir parts = io::RunDir::create("parts", tmp / "parts", false);
  parts.write_meta(io::make_meta(st.seed, 0, nullptr));
  ExperimentSettings first = st;
  first.stop_after = 23;
  train(first, data, parts, false);
  // Rewrite the checkpoint without the recorder arrays, as an earlier version wrote it.
  const auto old = io::ArchiveReader::open(parts.file("checkpoint.apical"));
  io::ArchiveWriter w;
  for (const auto& name : old.names()) {
    if (name == "angles" || name == "jacobian") continue;
    w.put_raw(name, old.dtype(name), std::string(old.raw(name)), old.shape(name));
  }
  w.set_meta(old.meta());
  w.write(parts.file("checkpoint.apical"));
  ASSERT_FALSE(io::ArchiveReader::open(parts.file("checkpoint.apical")).has("angles"));
  ASSERT_TRUE(train(st, data, parts, false).completed);
  expect_bitwise_equal(weights_bits(whole, 2), weights_bits(parts, 2));
}

TEST(Resume, DifferentSeedGivesDifferentWeights) {
  // Guards the test above against passing trivially (e.g. if no learning happened).
  const data::DataSplit data = synthetic_data(60, 30);
  test::TempDir tmp("seeds");
  ExperimentSettings st = small_settings(Mode::spiking);
  io::RunDir r1 = io::RunDir::create("a", tmp / "a", false);
  r1.write_meta(io::make_meta(st.seed, 0, nullptr));
  train(st, data, r1, false);
  st.seed = 18;
  io::RunDir r2 = io::RunDir::create("b", tmp / "b", false);
  r2.write_meta(io::make_meta(st.seed, 0, nullptr));
  train(st, data, r2, false);
  const auto w1 = weights_bits(r1, 2), w2 = weights_bits(r2, 2);
  ASSERT_EQ(w1.size(), w2.size());
  EXPECT_NE(std::memcmp(w1.data(), w2.data(), w1.size() * sizeof(double)), 0);
  // Learning moved the weights away from their initial values.
  const auto w0 = io::read_npy(r1.file("weights/initial/W_1.npy")).as<double>();
  const auto wf = io::read_npy(r1.file("weights/final/W_1.npy")).as<double>();
  EXPECT_NE(w0, wf);
}

TEST(GuardRails, SilentHiddenLayerStopsTheRunAtTheEndOfTheEpoch) {
  const data::DataSplit data = synthetic_data(30, 10);
  test::TempDir tmp("silent");
  ExperimentSettings st = small_settings(Mode::spiking);
  st.quick_test_every = 0;
  st.silent_rate = 0.99;  // every example's mean rate is below 0.99 lambda_max, so every layer counts as silent
  io::RunDir run = io::RunDir::create("silent", tmp / "run", false);
  run.write_meta(io::make_meta(st.seed, 0, nullptr));
  try {
    train(st, data, run, false);
    FAIL() << "expected the guard rail to stop the run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hidden layer 0 (30 neurons) was silent for the whole of epoch 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(run.file("weights/epoch_1")));
}

TEST(GuardRails, SaturatedLayerStopsTheRun) {
  const data::DataSplit data = synthetic_data(30, 10);
  test::TempDir tmp("saturated");
  ExperimentSettings st = small_settings(Mode::spiking);
  st.quick_test_every = 0;
  st.saturated_rate = 1e-9;  // every mean rate is above this, so every layer counts as saturated
  io::RunDir run = io::RunDir::create("saturated", tmp / "run", false);
  run.write_meta(io::make_meta(st.seed, 0, nullptr));
  EXPECT_THROW(train(st, data, run, false), Error);
}

TEST(TestLosses, ZeroFeedbackGivesZeroHiddenLossAndThreadsDoNotMatter) {
  const data::DataSplit data = synthetic_data(10, 12);
  Params p;
  p.layers = {30, 10};
  Weights w = Weights::initialise(p, 3);
  const Network net(p, w, 3);
  const auto a = test_losses(net, data.test, 12, 1, 1), b = test_losses(net, data.test, 12, 1, 2);
  ASSERT_EQ(a.size(), 12U);
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].hidden, b[k].hidden);
    EXPECT_EQ(a[k].output, b[k].output);
    EXPECT_GT(a[k].output, 0.0);  // the teaching input moves the output rates
    EXPECT_GT(a[k].hidden, 0.0);
  }
  // With Y = 0 the apical potential is the constant c, so alpha^t = alpha^f exactly and L0 = 0.
  std::fill(w.layers[0].Y.begin(), w.layers[0].Y.end(), 0.0);
  const Network flat(p, w, 3);
  for (const auto& l : test_losses(flat, data.test, 12, 1, 2)) EXPECT_EQ(l.hidden, 0.0);
}

TEST(Testing, ResultIndependentOfThreadCount) {
  const data::DataSplit data = synthetic_data(10, 40);
  Params p;
  p.layers = {30, 10};
  const Network net(p, Weights::initialise(p, 3), 3);
  const TestResult one = test_network(net, data.test, 40, "spikes.test", 1, 1);
  const TestResult two = test_network(net, data.test, 40, "spikes.test", 1, 2);
  const TestResult three = test_network(net, data.test, 40, "spikes.test", 1, 3);
  EXPECT_EQ(one.predicted, two.predicted);
  EXPECT_EQ(one.predicted, three.predicted);
  const TestResult other_pass = test_network(net, data.test, 40, "spikes.test", 2, 2);
  EXPECT_EQ(other_pass.examples, 40);
}

}  // namespace
}  // namespace apical::segregated
