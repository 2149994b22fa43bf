// SPDX-License-Identifier: Apache-2.0
// Short training runs of the segregated-dendrites network on the real MNIST files (label "data"). Seeds are
// fixed, so the numbers are deterministic on a given build; the thresholds leave room for compiler differences.
#include "apical/data/dataset.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/segregated/experiment.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace apical::segregated {
namespace {

const data::DataSplit& mnist() {
  static const data::DataSplit split = data::load_dataset(data::DatasetKind::mnist, test::shared_data_dir());
  return split;
}

TrainSummary run(const ExperimentSettings& st, const std::string& tag) {
  test::TempDir tmp(tag);
  io::RunDir dir = io::RunDir::create(tag, tmp / "run", false);
  dir.write_meta(io::make_meta(st.seed, 0, nullptr));
  return train(st, mnist(), dir, false);
}

ExperimentSettings one_hidden(Mode mode) {
  ExperimentSettings st;
  st.seed = 1;
  st.params.mode = mode;
  st.params.layers = {500, 10};
  st.params.learning_rates = {0.21, 0.21};
  st.epochs = 1;
  st.initial_test = false;
  st.threads = 2;
  return st;
}

TEST(MnistNonSpiking, OneEpochOf784_500_10BelowEightPercent) {
  // Issue target: < 8 % after one epoch (the authors' non-spiking code: 5.53 % / 6.70 % for seeds 0 / 1).
  const TrainSummary s = run(one_hidden(Mode::nonspiking), "ns");
  ASSERT_TRUE(s.completed);
  const double err = s.metrics.back().test_error;
  RecordProperty("test_error_pct", std::to_string(err));
  EXPECT_LT(err, 8.0);
  EXPECT_GT(err, 2.0);  // far better than possible for this network after one epoch would mean a bug
}

TEST(MnistNonSpiking, LaterCodeInitialisationMatchesTheAuthorsNumbers) {
  // With the later code's initialisation (the code the reference numbers were measured with).
  ExperimentSettings st = one_hidden(Mode::nonspiking);
  st.params.weight_init = InitScheme::head;
  st.params.feedback_init = InitScheme::head;
  const TrainSummary s = run(st, "ns-head");
  const double err = s.metrics.back().test_error;
  EXPECT_LT(err, 8.0);
  EXPECT_LT(s.metrics.back().train_error, 14.0);  // authors: 11.2 % / 12.5 %
}

TEST(MnistSpiking, FewThousandExamplesClearlyBetterThanChance) {
  // 4,000 spiking training examples, then 1,000 test images. Chance is 90 %; the authors' spiking code is at
  // about 50-60 % after 3,000 examples (spec section B).
  ExperimentSettings st = one_hidden(Mode::spiking);
  st.examples_per_epoch = 4000;
  st.test_examples = 1000;
  const TrainSummary s = run(st, "spiking");
  const double err = s.metrics.back().test_error;
  RecordProperty("test_error_pct", std::to_string(err));
  EXPECT_LT(err, 65.0);
  EXPECT_LT(s.metrics.back().train_error, 85.0);
}

TEST(MnistSpiking, TwoHiddenAndNoHiddenNetworksLearn) {
  for (const auto& [layers, rates] :
       {std::pair{std::vector<int>{10}, std::vector<double>{0.19}},
        std::pair{std::vector<int>{500, 100, 10}, std::vector<double>{0.23, 0.23, 0.12}}}) {
    ExperimentSettings st = one_hidden(Mode::spiking);
    st.params.layers = layers;
    st.params.learning_rates = rates;
    st.examples_per_epoch = 2000;
    st.test_examples = 500;
    const TrainSummary s = run(st, "depth");
    EXPECT_LT(s.metrics.back().test_error, 75.0) << layers.size() << " layers";
  }
}

}  // namespace
}  // namespace apical::segregated
