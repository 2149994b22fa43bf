// SPDX-License-Identifier: Apache-2.0
// MNIST experiments of the two-sweep microcircuit and the baselines on synthetic data: exact resume from a
// checkpoint, the run folder's files, the validation split, and config errors with clear messages.
#include <gtest/gtest.h>

#include <cstring>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/io/csv.hpp"
#include "apical/io/npy.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/microcircuit/sweep_experiment.hpp"
#include "test_support.hpp"

namespace apical::microcircuit {
namespace {

using test::synthetic_data;

SweepSettings small_settings(Rule rule) {
  SweepSettings st;
  st.name = "resume";
  st.seed = 23;
  st.params.layers = {36, 12, 8, 10};
  st.params.rule = rule;
  st.params.eta_up = {0.05, 0.05, 0.05};
  st.params.init_up = 4;
  st.params.lambda_out = st.params.lambda_A = st.params.lambda_I = 0.1;
  if (rule == Rule::microcircuit) st.params.eta_pi = {0.01, 0.01};  // exercise every plastic class
  st.epochs = 2;
  st.batch_size = 10;
  st.train_examples = 150;
  st.validation_examples = 40;
  st.test_examples = 30;
  st.checkpoint_every = 0;
  return st;
}

std::vector<double> final_weights(const io::RunDir& run, const SweepParams& p) {
  const SweepWeights w = load_sweep_weights(run.file("weights/final"), p, 99);
  std::vector<double> all;
  auto add = [&](const auto& list) {
    for (const auto& m : list) all.insert(all.end(), m.data(), m.data() + m.size());
  };
  add(w.w.up);
  add(w.w.up_bias);
  add(w.w.down);
  add(w.w.ip);
  add(w.w.ip_bias);
  add(w.w.pi);
  add(w.direct);
  return all;
}

/// The columns of metrics.csv that a resumed run must reproduce exactly (all but the wall times).
const std::vector<std::string> kErrorColumns = {
    "epoch", "train_error_pct", "train_loss", "validation_error_pct", "test_error_pct", "apical_rms"};

std::vector<std::string> error_columns(const io::RunDir& run) {
  return test::csv_cells(run.file("metrics.csv"), kErrorColumns);
}

class SweepResume : public ::testing::TestWithParam<Rule> {};

TEST_P(SweepResume, StoppedAndResumedRunIsBitIdenticalToAnUninterruptedOne) {
  const data::DataSplit data = synthetic_data(200, 30);
  test::TempDir tmp("sweep_resume");
  SweepSettings st = small_settings(GetParam());
  io::RunDir whole = io::RunDir::create("whole", tmp / "whole", false);
  const SweepSummary a = train_sweep(st, data, whole, false);
  ASSERT_TRUE(a.completed);

  io::RunDir parts = io::RunDir::create("parts", tmp / "parts", false);
  st.stop_after = 70;  // mid-epoch 1
  const SweepSummary b1 = train_sweep(st, data, parts, false);
  EXPECT_FALSE(b1.completed);
  st.stop_after = 220;  // mid-epoch 2, after an epoch-end checkpoint
  const SweepSummary b2 = train_sweep(st, data, parts, false);
  EXPECT_FALSE(b2.completed);
  st.stop_after = 0;
  const SweepSummary b3 = train_sweep(st, data, parts, false);
  ASSERT_TRUE(b3.completed);

  const auto wa = final_weights(whole, st.params);
  const auto wb = final_weights(parts, st.params);
  ASSERT_EQ(wa.size(), wb.size());
  EXPECT_EQ(std::memcmp(wa.data(), wb.data(), wa.size() * sizeof(double)), 0) << "weights differ";
  EXPECT_EQ(error_columns(whole), error_columns(parts));
  // The run folder: metrics with epochs 0..2, initial / per-epoch / final weights.
  const io::CsvTable t = io::CsvTable::read(whole.file("metrics.csv"));
  EXPECT_EQ(t.rows(), 3u);
  EXPECT_TRUE(std::filesystem::exists(whole.file("metrics.json")));
  EXPECT_TRUE(std::filesystem::exists(whole.file("weights/initial/W_up_1.npy")));
  EXPECT_TRUE(std::filesystem::exists(whole.file("weights/epoch_2/b_up_3.npy")));
  // A different stop point must not be trivially equal to a run with other settings.
  SweepSettings other = small_settings(GetParam());
  other.seed = 24;
  io::RunDir third = io::RunDir::create("other", tmp / "other", false);
  train_sweep(other, data, third, false);
  const auto wc = final_weights(third, st.params);
  EXPECT_NE(std::memcmp(wa.data(), wc.data(), wa.size() * sizeof(double)), 0);
}

INSTANTIATE_TEST_SUITE_P(Rules, SweepResume,
                         ::testing::Values(Rule::microcircuit, Rule::backprop, Rule::fa, Rule::dfa, Rule::shallow),
                         [](const auto& test_info) { return std::string(rule_name(test_info.param)); });

TEST(SweepExperiment, LearnsTheSyntheticTask) {
  // Far above chance (90 %) after 30 short epochs; backprop faster than the microcircuit (which learns through
  // random top-down weights, like feedback alignment). The apical dendrites stay nearly silent without nudging.
  const data::DataSplit data = synthetic_data(400, 100);
  test::TempDir tmp("sweep_learn");
  for (Rule rule : {Rule::microcircuit, Rule::backprop}) {
    SweepSettings st = small_settings(rule);
    st.params.layers = {36, 40, 30, 10};
    st.epochs = rule == Rule::microcircuit ? 30 : 20;
    st.train_examples = 350;
    st.validation_examples = 50;
    st.test_examples = 100;
    st.save_epoch_weights = false;
    const double eta = rule == Rule::microcircuit ? 0.1 : 1.0;
    st.params.eta_up = {eta, eta, eta};
    io::RunDir run = io::RunDir::create("learn", tmp / std::string(rule_name(rule)), false);
    const SweepSummary s = train_sweep(st, data, run, false);
    EXPECT_GT(s.metrics.front().validation_error, 70) << rule_name(rule);
    EXPECT_LT(s.metrics.back().validation_error, rule == Rule::microcircuit ? 60 : 20) << rule_name(rule);
    if (rule == Rule::microcircuit) {
      EXPECT_LT(s.metrics.back().apical, 0.1);
    }
  }
}

TEST(SweepExperiment, SplitTooLargeIsAnError) {
  const data::DataSplit data = synthetic_data(100, 10);
  test::TempDir tmp("sweep_split");
  SweepSettings st = small_settings(Rule::backprop);
  io::RunDir run = io::RunDir::create("split", tmp / "run", false);
  EXPECT_NE(test::error_of([&] {
              train_sweep(st, data, run, false);
            }).find("training.train_examples (150) + training.validation_examples (40) exceed the 100 images"),
            std::string::npos);
}

TEST(SweepConfig, DefaultsAndErrorsNameTheKey) {
  const config::Config c = config::Config::defaults(microcircuit_schema());
  const SweepSettings st = sweep_settings_from_config(c);
  EXPECT_EQ(st.params.layers, (std::vector<int>{784, 500, 500, 10}));
  EXPECT_EQ(st.batch_size, 10);
  EXPECT_EQ(st.train_examples, 55000);
  EXPECT_EQ(st.validation_examples, 5000);
  EXPECT_DOUBLE_EQ(st.params.target_low, 0.1);
  EXPECT_DOUBLE_EQ(st.params.target_high, 0.8);
  EXPECT_EQ(st.params.rule, Rule::microcircuit);
  // The schema's defaults are the tuned settings of configs/sacramento2018/mnist_microcircuit.yaml.
  EXPECT_DOUBLE_EQ(st.params.lambda_A, 0.3);
  EXPECT_EQ(st.params.eta_up, (std::vector<double>{20.0, 0.00252, 0.012}));
  EXPECT_DOUBLE_EQ(st.params.init_up, 4.0);
  EXPECT_EQ(sweep_settings_from_config(config::Config::defaults(baseline_schema())).params.eta_up,
            (std::vector<double>{0.3, 0.3, 0.3}));

  const std::string misspelled = test::error_of([] {
    config::Config::from_string(microcircuit_schema(), "plasticity:\n  eta_upp: [0.1, 0.1, 0.1]\n", "mc.yaml");
  });
  EXPECT_NE(misspelled.find("plasticity.eta_upp"), std::string::npos) << misspelled;
  EXPECT_NE(misspelled.find("plasticity.eta_up"), std::string::npos) << misspelled;  // the suggestion

  const std::string negative = test::error_of([] {
    config::Config::from_string(baseline_schema(), "model:\n  type: baseline\n", "bp.yaml",
                                {"plasticity.eta_up=[0.1, -0.5, 0.1]"});
  });
  EXPECT_NE(negative.find("plasticity.eta_up"), std::string::npos) << negative;
  EXPECT_NE(negative.find("-0.5"), std::string::npos) << negative;

  const std::string rule = test::error_of([] {
    config::Config::from_string(baseline_schema(), "model:\n  type: baseline\n  rule: hebb\n", "bp.yaml");
  });
  EXPECT_NE(rule.find("backprop"), std::string::npos) << rule;

  const std::string count = test::error_of([] {
    sweep_settings_from_config(
        config::Config::from_string(microcircuit_schema(), "model:\n  layers: [784, 1000, 10]\n", "mc.yaml"));
  });
  EXPECT_NE(count.find("plasticity.eta_up has 3 entries, but model.layers needs 2"), std::string::npos) << count;

  const std::string lambda = test::error_of(
      [] { config::Config::from_string(microcircuit_schema(), "model:\n  lambda_out: 1.5\n", "mc.yaml"); });
  EXPECT_NE(lambda.find("model.lambda_out"), std::string::npos) << lambda;
}

}  // namespace
}  // namespace apical::microcircuit
