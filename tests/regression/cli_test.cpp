// SPDX-License-Identifier: Apache-2.0
// End-to-end tests of the apical program on the real MNIST files: run folders, weights, repeated tests,
// interrupted and resumed runs, and the errors a user meets first.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "apical/config/config.hpp"
#include "apical/io/npy.hpp"
#include "test_support.hpp"

namespace apical {
namespace {

namespace fs = std::filesystem;

std::string config_path(const std::string& rel) {
  return std::string(APICAL_SOURCE_DIR) + "/configs/" + rel;
}

std::vector<std::string> tiny(const fs::path& out) {
  return {"train",
          config_path("quickstart.yaml"),
          "--data",
          test::shared_data_dir().string(),
          "--quiet",
          "--set",
          "training.examples_per_epoch=150",
          "--set",
          "training.epochs=2",
          "--set",
          "test.examples=60",
          "--set",
          "model.layers=[40,10]",
          "--out",
          out.string()};
}

std::vector<double> final_weights(const fs::path& run) {
  std::vector<double> all;
  for (const char* f : {"W_0.npy", "b_0.npy", "W_1.npy", "b_1.npy"}) {
    const auto v = io::read_npy(run / "weights" / "final" / f).as<double>();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

TEST(Cli, TrainWritesACompleteRunFolder) {
  test::TempDir tmp("cli-train");
  const auto r = test::run_cli(tiny(tmp / "run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("test error"), std::string::npos) << r.output;
  for (const char* f :
       {"config.yaml", "meta.json", "metrics.csv", "metrics.json", "checkpoint.apical", "weights/initial/W_0.npy",
        "weights/epoch_1/W_1.npy", "weights/epoch_2/Y_0.npy", "weights/final/b_1.npy"}) {
    EXPECT_TRUE(fs::exists(tmp / "run" / f)) << f;
  }
  const auto w0 = io::read_npy(tmp / "run" / "weights" / "final" / "W_0.npy");
  EXPECT_EQ(w0.shape, (std::vector<std::size_t>{40, 784}));
  const std::string meta = test::read_text(tmp / "run" / "meta.json");
  for (const char* key : {"\"seed\"", "\"git_commit\"", "\"build_type\"", "\"compiler\"", "\"host\"",
                          "\"command_line\"", "\"start_time\"", "\"end_time\"", "\"completed\""}) {
    EXPECT_NE(meta.find(key), std::string::npos) << key << " missing in meta.json:\n" << meta;
  }
  const std::string metrics = test::read_text(tmp / "run" / "metrics.csv");
  EXPECT_EQ(metrics.rfind("epoch,test_error_pct,train_error_pct,mean_loss,wall_s,examples_per_s\n", 0), 0U);
  // Epochs 0 (initial test is off in quickstart), 1 and 2.
  EXPECT_NE(metrics.find("\n2,"), std::string::npos) << metrics;
  // The resolved config is complete and loads again.
  const auto again = test::run_cli({"config", "show", (tmp / "run" / "config.yaml").string()});
  EXPECT_EQ(again.exit_code, 0) << again.output;

  const auto t = test::run_cli({"test", (tmp / "run").string(), "--repeats", "2", "--examples", "30", "--data",
                                test::shared_data_dir().string()});
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_NE(t.output.find("2 repeats of weights/final: mean"), std::string::npos) << t.output;
  EXPECT_TRUE(fs::exists(tmp / "run" / "tests" / "repeats_final.csv"));

  // An existing run folder is never overwritten without --overwrite.
  const auto again_train = test::run_cli(tiny(tmp / "run"));
  EXPECT_NE(again_train.exit_code, 0);
  EXPECT_NE(again_train.output.find("--overwrite"), std::string::npos) << again_train.output;
}

TEST(Cli, InterruptedAndResumedRunEqualsUninterruptedRun) {
  test::TempDir tmp("cli-resume");
  ASSERT_EQ(test::run_cli(tiny(tmp / "whole")).exit_code, 0);
  auto args = tiny(tmp / "parts");
  args.insert(args.end(), {"--set", "training.stop_after=200"});
  const auto stopped = test::run_cli(args);
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  EXPECT_NE(stopped.output.find("apical resume"), std::string::npos) << stopped.output;
  EXPECT_FALSE(fs::exists(tmp / "parts" / "weights" / "final"));
  const auto resumed =
      test::run_cli({"resume", (tmp / "parts").string(), "--quiet", "--data", test::shared_data_dir().string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const auto a = final_weights(tmp / "whole"), b = final_weights(tmp / "parts");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(double)), 0) << "resumed weights differ";
  // Changing the model on resume is refused.
  const auto bad = test::run_cli({"resume", (tmp / "parts").string(), "--set", "model.g_A=0.05"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("model.g_A cannot be changed when resuming"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace apical

namespace apical {
namespace {

TEST(Cli, ReproduceFigure6WritesEveryFileAndReusesRuns) {
  test::TempDir tmp("cli-repro");
  const std::vector<std::string> args = {"reproduce",
                                         "guerguiev2017",
                                         "--figure",
                                         "6",
                                         "--epochs",
                                         "1",
                                         "--examples-per-epoch",
                                         "150",
                                         "--test-examples",
                                         "60",
                                         "--repeats",
                                         "3",
                                         "--jobs",
                                         "2",
                                         "--out",
                                         (tmp / "out").string(),
                                         "--data",
                                         test::shared_data_dir().string()};
  const auto r = test::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Two trainings at once: a line per finished epoch instead of live progress.
  EXPECT_NE(r.output.find("no_hidden: epoch 1/1: test error"), std::string::npos) << r.output;
  for (const char* f : {"report.md", "Fig_6B_errors.csv", "Fig_6B_final_errors.csv"}) {
    EXPECT_TRUE(fs::exists(tmp / "out" / f)) << f;
  }
  const std::string report = test::read_text(tmp / "out" / "report.md");
  EXPECT_NE(report.find("Shortened runs"), std::string::npos);
  EXPECT_NE(report.find("| 784-500-10 | 4.1 % |"), std::string::npos) << report;
  EXPECT_NE(report.find("197.11"), std::string::npos);
  // Each run with the commit of the program that trained it.
  EXPECT_NE(report.find("## Runs"), std::string::npos) << report;
  EXPECT_NE(report.find("| one_hidden | 1 | `runs/one_hidden-1ep-"), std::string::npos) << report;
  // Plots are drawn when matplotlib is there, and otherwise the report says how to get them.
  EXPECT_TRUE(fs::exists(tmp / "out" / "Fig_6B.png") || report.find("python3-matplotlib") != std::string::npos)
      << report;
  const std::string finals = test::read_text(tmp / "out" / "Fig_6B_final_errors.csv");
  EXPECT_EQ(finals.rfind("repeat,784-10,784-500-10,784-500-100-10\n", 0), 0U) << finals;
  EXPECT_EQ(std::count(finals.begin(), finals.end(), '\n'), 4);  // header + 3 repeats
  const std::string curves = test::read_text(tmp / "out" / "Fig_6B_errors.csv");
  EXPECT_EQ(std::count(curves.begin(), curves.end(), '\n'), 3);  // header + epochs 0 and 1
  // A second call reuses the finished runs and writes the same numbers.
  const auto again = test::run_cli(args);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("reusing"), std::string::npos) << again.output;
  EXPECT_EQ(test::read_text(tmp / "out" / "Fig_6B_final_errors.csv"), finals);
  // A run folder whose name no longer matches (an earlier apical's resolved config, e.g. before options were
  // added) is still found by its config.yaml and reused.
  for (const auto& entry : fs::directory_iterator(tmp / "out" / "runs")) {
    const std::string name = entry.path().filename().string();
    fs::rename(entry.path(), tmp / "out" / "runs" / (name.substr(0, name.size() - 8) + "00000000"));
  }
  const auto renamed = test::run_cli(args);
  ASSERT_EQ(renamed.exit_code, 0) << renamed.output;
  EXPECT_EQ(renamed.output.find("training"), std::string::npos) << renamed.output;
  EXPECT_NE(renamed.output.find("-00000000"), std::string::npos) << renamed.output;
  EXPECT_EQ(test::read_text(tmp / "out" / "Fig_6B_final_errors.csv"), finals);
  // The small files that scripts/archive-run.sh keeps in the repository (no weights, no checkpoint) are enough for
  // a reproduce folder elsewhere to rebuild the figure without training.
  const std::string archive = fmt::format("bash {}/scripts/archive-run.sh {} {}/* > /dev/null", APICAL_SOURCE_DIR,
                                          (tmp / "archive").string(), (tmp / "out" / "runs").string());
  ASSERT_EQ(std::system(archive.c_str()), 0) << archive;
  fs::create_directories(tmp / "elsewhere" / "runs");
  for (const auto& entry : fs::directory_iterator(tmp / "archive")) {
    EXPECT_FALSE(fs::exists(entry.path() / "weights")) << entry.path();
    fs::copy(entry.path(), tmp / "elsewhere" / "runs" / entry.path().filename(), fs::copy_options::recursive);
  }
  std::vector<std::string> elsewhere = args;
  *std::find(elsewhere.begin(), elsewhere.end(), (tmp / "out").string()) = (tmp / "elsewhere").string();
  const auto rebuilt = test::run_cli(elsewhere);
  ASSERT_EQ(rebuilt.exit_code, 0) << rebuilt.output;
  EXPECT_EQ(rebuilt.output.find("training"), std::string::npos) << rebuilt.output;
  EXPECT_EQ(test::read_text(tmp / "elsewhere" / "Fig_6B_final_errors.csv"), finals);
  EXPECT_EQ(test::read_text(tmp / "elsewhere" / "Fig_6B_errors.csv"), curves);
  // Fig 5B/C needs the one-hidden-layer run's analysis files, which the archive does not keep: a clear error.
  std::vector<std::string> fig5 = elsewhere;
  fig5[3] = "5";
  const auto no_losses = test::run_cli(fig5);
  EXPECT_NE(no_losses.exit_code, 0);
  EXPECT_NE(no_losses.output.find("panel 5B needs analysis/losses_epoch_1.csv"), std::string::npos)
      << no_losses.output;
  EXPECT_EQ(no_losses.output.find("training"), std::string::npos) << no_losses.output;
  // Unknown figures are rejected with the valid list.
  const auto bad = test::run_cli({"reproduce", "guerguiev2017", "--figure", "5b", "--out", (tmp / "x").string()});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("valid: 5, 5s1, 6, 6c, 6s1, 7, 7bc, 8, 8s1, 9"), std::string::npos) << bad.output;
}

TEST(Cli, ReproduceWithSetIsAVariantInItsOwnFolder) {
  // --set on every run: without --out the variant goes to reproduce/guerguiev2017-set<hash> (so it never replaces
  // the plain report), each run's config has the override, and the report says it is a variant.
  test::TempDir tmp("cli-repro-set");
  const std::vector<std::string> args = {"reproduce",
                                         "guerguiev2017",
                                         "--figure",
                                         "5s1",
                                         "--epochs",
                                         "1",
                                         "--examples-per-epoch",
                                         "60",
                                         "--test-examples",
                                         "20",
                                         "--set",
                                         "model.g_A=0.05",
                                         "--quiet",
                                         "--data",
                                         test::shared_data_dir().string()};
  const auto r = test::run_cli(args, tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const fs::path out = tmp / "reproduce" / ("guerguiev2017" + config::overrides_tag({"model.g_A=0.05"}));
  ASSERT_TRUE(fs::exists(out / "report.md")) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "reproduce" / "guerguiev2017"));
  const std::string report = test::read_text(out / "report.md");
  EXPECT_NE(report.find("**A variant, not the paper's settings**: every run below was trained with "
                        "`model.g_A=0.05`"),
            std::string::npos)
      << report;
  int runs = 0;
  for (const auto& entry : fs::directory_iterator(out / "runs")) {
    ++runs;
    EXPECT_NE(test::read_text(entry.path() / "config.yaml").find("g_A: 0.05"), std::string::npos) << entry.path();
  }
  EXPECT_EQ(runs, 1);
  // Keys the command sets itself, unknown keys and malformed overrides: clear errors, nothing written.
  for (const auto& [set, says] : std::vector<std::pair<std::string, std::string>>{
           {"training.epochs=2", "this command sets training.epochs itself on every run; use --epochs N"},
           {"name=x", "this command sets name itself"},
           {"model.g_Z=1", "condition jacobian_one_hidden ("},
           {"model.g_A", "malformed override"}}) {
    const auto bad = test::run_cli(
        {"reproduce", "guerguiev2017", "--figure", "5s1", "--set", set, "--out", (tmp / "bad").string()});
    EXPECT_NE(bad.exit_code, 0) << set;
    EXPECT_NE(bad.output.find(says), std::string::npos) << set << ": " << bad.output;
    EXPECT_FALSE(fs::exists(tmp / "bad")) << set;
  }
}

TEST(Cli, ReproduceHelpListsEveryFigure) {
  // The help text is built from the figure tables, so it cannot fall behind them (it once listed 5 of 10).
  const auto help = test::run_cli({"reproduce", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.output;
  EXPECT_NE(help.output.find("guerguiev2017 5, 5s1, 6, 6c, 6s1, 7, 7bc, 8, 8s1, 9;"), std::string::npos)
      << help.output;
  EXPECT_NE(help.output.find("sacramento2018 1, 2, 3, s1"), std::string::npos) << help.output;
}

}  // namespace
}  // namespace apical
