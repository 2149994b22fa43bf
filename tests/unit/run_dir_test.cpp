// SPDX-License-Identifier: Apache-2.0
#include "apical/io/run_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <functional>
#include <limits>
#include <regex>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"
#include "test_support.hpp"

namespace apical::io {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
namespace fs = std::filesystem;

using test::error_of;

std::string local_stamp(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

TEST(RunDir, DefaultNameIsNameDashLocalTimestampUnderRunsRoot) {
  test::TempDir dir("rundir");
  const RunDir run = RunDir::create("mnist-bp", std::nullopt, false, dir / "runs");
  EXPECT_EQ(run.path().parent_path(), dir / "runs");
  EXPECT_THAT(run.path().filename().string(), MatchesRegex("mnist-bp-[0-9]{8}-[0-9]{6}"));
  EXPECT_TRUE(fs::is_directory(run.path()));
  EXPECT_TRUE(fs::is_empty(run.path()));
}

TEST(RunDir, ExistingTimestampFolderGetsNumberSuffix) {
  test::TempDir dir("rundir");
  // Occupy the names for the next few seconds so that create() must pick "-2" whatever second it runs in.
  const std::time_t now = std::time(nullptr);
  for (int s = 0; s < 5; ++s) fs::create_directories(dir / "runs" / ("x-" + local_stamp(now + s)));
  const RunDir a = RunDir::create("x", std::nullopt, false, dir / "runs");
  EXPECT_THAT(a.path().filename().string(), MatchesRegex("x-[0-9]{8}-[0-9]{6}-2"));
  const RunDir b = RunDir::create("x", std::nullopt, false, dir / "runs");
  EXPECT_NE(a.path(), b.path());
  EXPECT_THAT(b.path().filename().string(), MatchesRegex("x-[0-9]{8}-[0-9]{6}-[23]"));
}

TEST(RunDir, NameIsSanitised) {
  test::TempDir dir("rundir");
  const RunDir run = RunDir::create("my run/../x", std::nullopt, false, dir.path());
  EXPECT_EQ(run.path().parent_path(), dir.path());
  EXPECT_THAT(run.path().filename().string(), MatchesRegex("my_run_.._x-[0-9]{8}-[0-9]{6}"));
}

TEST(RunDir, ExplicitOutFolderIsUsedExactly) {
  test::TempDir dir("rundir");
  const RunDir run = RunDir::create("ignored", dir / "a" / "b", false, dir / "runs");
  EXPECT_EQ(run.path(), dir / "a" / "b");
  EXPECT_TRUE(fs::is_directory(dir / "a" / "b"));
  EXPECT_FALSE(fs::exists(dir / "runs"));
  // An existing empty folder is fine.
  fs::create_directories(dir / "empty");
  EXPECT_EQ(RunDir::create("n", dir / "empty", false).path(), dir / "empty");
}

TEST(RunDir, MetricsCsvAndJsonHoldTheSameRows) {
  test::TempDir dir("rundir");
  const RunDir run = RunDir::create("n", dir / "out", false);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  run.write_metrics({"epoch", "test_error_pct", "wall_s"}, {{0, 90.25, nan}, {1, 9.5, 61.25}});
  EXPECT_EQ(test::read_text(run.file("metrics.csv")), "epoch,test_error_pct,wall_s\n0,90.25,nan\n1,9.5,61.25\n");
  const auto json = nlohmann::json::parse(test::read_text(run.file("metrics.json")));
  ASSERT_EQ(json.size(), 2u);
  EXPECT_TRUE(json[0]["epoch"].is_number_integer());
  EXPECT_EQ(json[1]["epoch"].get<int>(), 1);
  EXPECT_TRUE(json[0]["wall_s"].is_null());
  EXPECT_DOUBLE_EQ(json[1]["test_error_pct"].get<double>(), 9.5);
  EXPECT_NE(error_of([&] { run.write_metrics({"epoch", "x"}, {{1}}); }).find("1 values for 2 columns"),
            std::string::npos);
}

TEST(RunDir, RefusesNonEmptyOutWithoutOverwrite) {
  test::TempDir dir("rundir");
  const RunDir first = RunDir::create("n", dir / "out", false);
  first.write_meta(nlohmann::json{{"seed", 1}});
  const std::string msg = error_of([&] { RunDir::create("n", dir / "out", false); });
  EXPECT_THAT(msg, HasSubstr((dir / "out").string()));
  EXPECT_THAT(msg, HasSubstr("--overwrite"));
  EXPECT_THAT(msg, HasSubstr("--out"));
  EXPECT_TRUE(fs::exists(dir / "out" / "meta.json"));
}

TEST(RunDir, OverwriteRemovesOldContents) {
  test::TempDir dir("rundir");
  const RunDir first = RunDir::create("n", dir / "out", false);
  first.write_meta(nlohmann::json{{"seed", 1}});
  first.write_text("weights/epoch_1/W_0.txt", "old");
  const RunDir second = RunDir::create("n", dir / "out", true);
  EXPECT_EQ(second.path(), dir / "out");
  EXPECT_TRUE(fs::is_empty(dir / "out"));
}

TEST(RunDir, OverwriteRefusesToDeleteAFolderThatIsNotARun) {
  test::TempDir dir("rundir");
  fs::create_directories(dir / "home");
  test::write_text(dir / "home" / "thesis.tex", "precious");
  const std::string msg = error_of([&] { RunDir::create("n", dir / "home", true); });
  EXPECT_THAT(msg, HasSubstr("not an apical run folder"));
  EXPECT_EQ(test::read_text(dir / "home" / "thesis.tex"), "precious");
}

TEST(RunDir, OpenRequiresMetaJson) {
  test::TempDir dir("rundir");
  fs::create_directories(dir / "plain");
  const std::string msg = error_of([&] { RunDir::open(dir / "plain"); });
  EXPECT_THAT(msg, HasSubstr((dir / "plain").string()));
  EXPECT_THAT(msg, HasSubstr("no meta.json"));
  EXPECT_THAT(error_of([&] { RunDir::open(dir / "missing"); }), HasSubstr("no such folder"));

  const RunDir run = RunDir::create("n", dir / "run", false);
  run.write_meta(nlohmann::json{{"seed", 7}});
  const RunDir opened = RunDir::open(dir / "run");
  EXPECT_EQ(opened.read_meta()["seed"], 7);
}

TEST(RunDir, WritesFilesInSubfoldersAtomically) {
  test::TempDir dir("rundir");
  const RunDir run = RunDir::create("n", dir / "run", false);
  run.write_text("metrics.csv", "epoch\n1\n");
  run.write_npy("weights/epoch_3/W_0.npy", std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(read_file(dir / "run" / "metrics.csv"), "epoch\n1\n");
  const NpyArray w = read_npy(dir / "run" / "weights" / "epoch_3" / "W_0.npy");
  EXPECT_EQ(w.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(w.as<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_THAT(error_of([&] { run.write_text("../escape.txt", "x"); }), HasSubstr("must not leave the run folder"));
  EXPECT_THAT(error_of([&] { run.write_text("/tmp/abs.txt", "x"); }), HasSubstr("relative"));
  EXPECT_FALSE(fs::exists(dir / "escape.txt"));
}

TEST(RunMeta, MakeMetaHasProvenanceFields) {
  const char* argv[] = {"apical", "train", "--config", "configs/mnist.yaml"};
  nlohmann::json meta = make_meta(42, 4, argv);
  EXPECT_EQ(meta["seed"], 42);
  EXPECT_EQ(meta["apical_version"], APICAL_VERSION);
  EXPECT_EQ(meta["build_type"], APICAL_BUILD_TYPE);
  EXPECT_EQ(meta["compiler"], APICAL_COMPILER);
  EXPECT_EQ(meta["command_line"], (nlohmann::json{"apical", "train", "--config", "configs/mnist.yaml"}));
  EXPECT_EQ(meta["working_directory"], fs::current_path().string());
  EXPECT_FALSE(meta["host"].get<std::string>().empty());
  EXPECT_FALSE(meta["os"].get<std::string>().empty());
  EXPECT_THAT(meta["git_commit"].get<std::string>(), MatchesRegex("unknown|[0-9a-f]{40}(-dirty)?"));
  EXPECT_THAT(meta["start_time"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
  EXPECT_EQ(meta["status"], "running");

  finish_meta(meta, "failed: out of memory");
  EXPECT_EQ(meta["status"], "failed: out of memory");
  EXPECT_TRUE(meta["end_time"].is_string());
  ASSERT_TRUE(meta["wall_seconds"].is_number());
  EXPECT_GE(meta["wall_seconds"].get<double>(), 0.0);
  EXPECT_LT(meta["wall_seconds"].get<double>(), 60.0);

  test::TempDir dir("rundir");
  const RunDir run = RunDir::create("n", dir / "run", false);
  run.write_meta(meta);
  EXPECT_EQ(RunDir::open(dir / "run").read_meta(), meta);
}

TEST(RunMeta, AcceptsMainsArgv) {
  std::string arg0 = "apical", arg1 = "--seed=3";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  char** p = argv;  // the type main() receives
  EXPECT_EQ(make_meta(3, 2, p)["command_line"], (nlohmann::json{"apical", "--seed=3"}));
}

TEST(RunMeta, WallSecondsComeFromStartTime) {
  nlohmann::json meta = {{"start_time", "2000-01-01T00:00:00.000Z"}};
  finish_meta(meta, "completed");
  EXPECT_GT(meta["wall_seconds"].get<double>(), 7.0e8);  // more than 22 years
  EXPECT_EQ(meta["status"], "completed");
}

TEST(RunMeta, GitCommitOfTheSourceTreeAndOfANonRepository) {
  test::TempDir dir("rundir");
  EXPECT_EQ(git_commit(dir.path()), "unknown");
  EXPECT_EQ(git_commit(dir / "does-not-exist"), "unknown");
  // The source tree is normally a git checkout; if it is not (a release tarball), "unknown" is right too.
  EXPECT_THAT(git_commit(), MatchesRegex("unknown|[0-9a-f]{40}(-dirty)?"));
}

}  // namespace
}  // namespace apical::io
