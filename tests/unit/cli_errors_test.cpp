// SPDX-License-Identifier: Apache-2.0
// The errors a new user meets first, through the apical program: each names the file, key or value and what
// would be valid, and a failed command leaves no run folder behind.
#include "test_support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace apical {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string one_hidden() { return std::string(APICAL_SOURCE_DIR) + "/configs/guerguiev2017/one_hidden.yaml"; }

TEST(CliErrors, MisspelledKeyNamesFileKeyAndSuggestion) {
  test::TempDir tmp("cli-typo");
  test::write_text(tmp / "bad.yaml", "training:\n  learning_rate: [0.2, 0.2]\n");
  const auto r = test::run_cli({"train", (tmp / "bad.yaml").string(), "--out", (tmp / "run").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("bad.yaml"));
  EXPECT_THAT(r.output, HasSubstr("training.learning_rate"));
  EXPECT_THAT(r.output, HasSubstr("did you mean 'training.learning_rates'"));
  EXPECT_FALSE(fs::exists(tmp / "run"));
}

TEST(CliErrors, NegativeLearningRateNamesKeyValueAndRange) {
  const auto r = test::run_cli({"config", "show", one_hidden(), "--set", "training.learning_rates=[0.21,-0.2]"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("training.learning_rates[1]"));
  EXPECT_THAT(r.output, HasSubstr("-0.2"));
  EXPECT_THAT(r.output, HasSubstr("> 0"));
}

TEST(CliErrors, LearningRatesMustMatchLayers) {
  test::TempDir tmp("cli-rates");
  const auto r = test::run_cli({"train", one_hidden(), "--set", "model.layers=[500,100,10]", "--out",
                                (tmp / "run").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("training.learning_rates has 2 values but model.layers has 3 layers"));
  EXPECT_FALSE(fs::exists(tmp / "run"));
}

TEST(CliErrors, MissingDataListsEveryPlaceSearchedAndTheFetchCommand) {
  test::TempDir tmp("cli-nodata");
  // Run from an empty folder, so ./data and ../shared/data do not exist; epochs = 0 keeps it short regardless.
  fs::create_directories(tmp / "cwd" / "sub");
  const auto r = test::run_cli({"train", one_hidden(), "--data", (tmp / "nowhere").string(), "--out",
                                (tmp / "run").string(), "--set", "training.epochs=0", "--set", "test.initial=false"},
                               tmp / "cwd" / "sub");
  if (r.exit_code == 0 || std::getenv("APICAL_DATA") != nullptr) GTEST_SKIP() << "MNIST was found: " << r.output;
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr((tmp / "nowhere").string()));
  EXPECT_THAT(r.output, HasSubstr("apical data fetch mnist"));
  EXPECT_FALSE(fs::exists(tmp / "run"));
}

TEST(CliErrors, UnknownModelTypeListsValidChoices) {
  const auto r = test::run_cli({"config", "show", one_hidden(), "--set", "model.type=microcircuits"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("model.type"));
  EXPECT_THAT(r.output, HasSubstr("segregated"));
}

TEST(CliErrors, ConfigDocsListsEveryOptionWithUnits) {
  const auto r = test::run_cli({"config", "docs"});
  ASSERT_EQ(r.exit_code, 0);
  for (const char* key : {"model.mode", "model.layers", "training.learning_rates", "training.epochs",
                          "training.examples_per_epoch", "training.shuffle", "test.examples", "model.g_A",
                          "phases.window", "model.feedback_bias"}) {
    EXPECT_THAT(r.output, HasSubstr(key));
  }
  EXPECT_THAT(r.output, HasSubstr("spikes/ms"));
}

}  // namespace
}  // namespace apical
