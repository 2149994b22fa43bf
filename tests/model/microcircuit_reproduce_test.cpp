// SPDX-License-Identifier: Apache-2.0
// The full-dynamics experiments as configs (Fig S1, Fig 2), every shipped config of the paper and the baselines,
// a shortened `apical reproduce sacramento2018` of the full-dynamics figures, and its Fig 3 bookkeeping (seeds,
// conditions, reuse, resume, the mean ± SD tables) and Fig 2 options (--speedup, parallel networks) on tiny
// configs and synthetic 6 x 6 data written as MNIST files.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "apical/analysis/stats.hpp"
#include "apical/io/csv.hpp"
#include "apical/io/npy.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/microcircuit/dynamics_experiment.hpp"
#include "apical/models/microcircuit/reproduce.hpp"
#include "apical/models/microcircuit/steady_state.hpp"
#include "apical/models/microcircuit/sweep_experiment.hpp"
#include "test_support.hpp"

namespace apical::microcircuit {
namespace {

namespace fs = std::filesystem;

fs::path configs() {
  return fs::path(APICAL_SOURCE_DIR) / "configs";
}

TEST(MicrocircuitConfigs, EveryShippedConfigLoadsWithItsSchema) {
  int loaded = 0;
  for (const char* f : {"sacramento2018/mnist_microcircuit.yaml", "sacramento2018/mnist_frozen_hidden.yaml",
                        "sacramento2018/mnist_learned_topdown.yaml"}) {
    const SweepSettings st =
        sweep_settings_from_config(config::Config::load(microcircuit_schema(), configs() / f));
    EXPECT_EQ(st.params.rule, Rule::microcircuit) << f;
    EXPECT_EQ(st.batch_size, 10) << f;
    ++loaded;
  }
  for (const char* f : {"baselines/backprop.yaml", "baselines/fa.yaml", "baselines/dfa.yaml",
                        "baselines/shallow.yaml", "baselines/backprop_784-1000-10.yaml"}) {
    const SweepSettings st = sweep_settings_from_config(config::Config::load(baseline_schema(), configs() / f));
    EXPECT_NE(st.params.rule, Rule::microcircuit) << f;
    ++loaded;
  }
  for (const char* f : {"sacramento2018/fig1.yaml", "sacramento2018/selfpredicting_s1.yaml",
                        "sacramento2018/regression_fig2.yaml"}) {
    const DynamicsExperiment e = dynamics_from_config(config::Config::load(dynamics_schema(), configs() / f));
    EXPECT_FALSE(e.kind.empty()) << f;
    ++loaded;
  }
  EXPECT_EQ(loaded, 11);
  // The same seed and initial weights for the microcircuit and every baseline of the paper's network.
  const SweepSettings mc = sweep_settings_from_config(
      config::Config::load(microcircuit_schema(), configs() / "sacramento2018/mnist_microcircuit.yaml"));
  for (const char* f : {"baselines/backprop.yaml", "baselines/fa.yaml", "baselines/dfa.yaml"}) {
    const SweepSettings st = sweep_settings_from_config(config::Config::load(baseline_schema(), configs() / f));
    EXPECT_EQ(st.seed, mc.seed) << f;
    EXPECT_EQ(st.params.layers, mc.params.layers) << f;
    EXPECT_EQ(st.params.init_up, mc.params.init_up) << f;
    EXPECT_EQ(st.params.init_down, mc.params.init_down) << f;
    EXPECT_EQ(st.train_examples, mc.train_examples) << f;
    EXPECT_EQ(st.batch_size, mc.batch_size) << f;
  }
}

TEST(MicrocircuitFig2, TeacherIsTheScaledTwoLayerNetwork) {
  Fig2Settings st;
  Vector x(30);
  for (int i = 0; i < 30; ++i) x[i] = -1 + 2.0 * i / 29.0;
  const Vector u = teacher_potential(st, 7, x);
  ASSERT_EQ(u.size(), 10);
  // Recompute by hand from the same stream.
  Stream s1(7, "teacher", 1), s2(7, "teacher", 2);
  Matrix w1(20, 30), w2(10, 20);
  for (Eigen::Index i = 0; i < w1.size(); ++i) w1.data()[i] = 2 * s1.uniform() - 1;
  for (Eigen::Index i = 0; i < w2.size(); ++i) w2.data()[i] = 2 * s2.uniform() - 1;
  const Vector expected = 10.0 * (w2 * apply(st.params.transfer, 2.0 * (w1 * x)));
  EXPECT_LT((u - expected).cwiseAbs().maxCoeff(), 1e-12);
  st.teacher_layers = {20, 10};
  EXPECT_NE(test::error_of([&] { teacher_potential(st, 7, x); }).find("teacher.layers"), std::string::npos);
}

TEST(MicrocircuitFig2, ShortRunRecordsErrorAngleAndOnlyTheTopLayerLearnsWhenShallow) {
  Fig2Settings st;
  st.trials = 20;
  st.test_every = 10;
  st.test_patterns = 5;
  const Fig2Result r = run_fig2(st, 3);
  ASSERT_EQ(r.trial, (std::vector<double>{0, 10, 20}));
  ASSERT_EQ(r.test_error.size(), 3u);
  const Matrix back = r.initial.down[1].transpose();
  EXPECT_DOUBLE_EQ(r.angle[0], analysis::angle_degrees(std::span<const double>(r.initial.up[2].data(), 500),
                                                       std::span<const double>(back.data(), 500)));
  EXPECT_NE(r.final.up[1], r.initial.up[1]);
  EXPECT_NE(r.final.pi[1], r.initial.pi[1]);
  EXPECT_EQ(r.final.down[1], r.initial.down[1]);  // top-down fixed
  st.shallow = true;
  const Fig2Result s = run_fig2(st, 3);
  EXPECT_EQ(s.final.up[1], s.initial.up[1]);
  EXPECT_EQ(s.final.ip[1], s.initial.ip[1]);
  EXPECT_EQ(s.final.pi[1], s.initial.pi[1]);
  EXPECT_NE(s.final.up[2], s.initial.up[2]);
  EXPECT_DOUBLE_EQ(s.test_error[0], r.test_error[0]);  // same student, same test patterns
}

TEST(MicrocircuitFig2, StoppedAndResumedRunIsBitIdenticalToAnUninterruptedOne) {
  DynamicsExperiment e = dynamics_from_config(config::Config::load(
      dynamics_schema(), configs() / "sacramento2018/regression_fig2.yaml",
      {"fig2.trials=30", "fig2.test_every=7", "fig2.test_patterns=3", "fig2.checkpoint_every=0"}));
  test::TempDir tmp("fig2-resume");
  io::RunDir whole = io::RunDir::create("whole", tmp / "whole", false);
  ASSERT_TRUE(run_dynamics(e, whole, false).completed);
  io::RunDir parts = io::RunDir::create("parts", tmp / "parts", false);
  sweep_stop_requested.store(true);  // as a signal would: stop after the first trial, with a checkpoint
  const DynamicsOutcome first = run_dynamics(e, parts, false);
  sweep_stop_requested.store(false);
  EXPECT_FALSE(first.completed);
  EXPECT_NE(first.summary.find("apical resume"), std::string::npos);
  ASSERT_TRUE(std::filesystem::exists(parts.file("checkpoint.apical")));
  {
    // The checkpoint holds the network after trial 1: the same weights and potentials as a 1-trial run.
    const Fig2Resume saved = load_fig2_checkpoint(e, parts);
    EXPECT_EQ(saved.trial, 1);
    Fig2Settings one = e.fig2;
    one.trials = 1;
    const Fig2Result r1 = run_fig2(one, e.seed);
    EXPECT_EQ(saved.net.weights().up[1], r1.final.up[1]);
    EXPECT_EQ(saved.net.weights().pi[1], r1.final.pi[1]);
    EXPECT_NE(saved.net.weights().up[1], r1.initial.up[1]);
    EXPECT_EQ(saved.net.state().step, 1000);
    EXPECT_NE(saved.net.state().d_up[1].norm(), 0.0);
    EXPECT_GT(saved.train.position(), 0u);
  }
  ASSERT_TRUE(run_dynamics(e, parts, false).completed);
  EXPECT_EQ(test::read_text(whole.file("metrics.csv")), test::read_text(parts.file("metrics.csv")));
  for (const char* f : {"W_up_1.npy", "W_up_2.npy", "W_ip_1.npy", "W_pi_1.npy"}) {
    EXPECT_EQ(test::read_text(whole.file(std::string("weights/final/") + f)),
              test::read_text(parts.file(std::string("weights/final/") + f)))
        << f;
  }
}

TEST(MicrocircuitS1, LateralWeightsLearnTheSelfPredictingState) {
  S1Settings st;
  st.patterns = 200;
  st.probe_every = 100;
  st.probe_patterns = 5;
  const S1Result r = run_s1(st, 42);
  ASSERT_EQ(r.pattern, (std::vector<double>{0, 100, 200}));
  EXPECT_LT(r.apical[2], 0.5 * r.apical[0]);
  EXPECT_LT(r.interneuron[2], 0.5 * r.interneuron[0]);
  EXPECT_LT(r.pi_error[2], r.pi_error[0]);
  EXPECT_EQ(r.final.up[1], r.initial.up[1]);  // only W^IP and W^PI learn
}

TEST(MicrocircuitCliDynamics, TrainWritesTheRunFolderAndOnlyFig2Resumes) {
  test::TempDir tmp("cli-dyn");
  const auto r = test::run_cli({"train", (configs() / "sacramento2018/fig1.yaml").string(), "--quiet", "--set",
                                "fig1.duration=200", "--out", (tmp / "fig1").string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("fig1: ||v_A||"), std::string::npos) << r.output;
  for (const char* f : {"config.yaml", "meta.json", "metrics.csv", "metrics.json", "weights/initial/W_up_1.npy",
                        "weights/final/W_pi_1.npy"}) {
    EXPECT_TRUE(fs::exists(tmp / "fig1" / f)) << f;
  }
  EXPECT_EQ(io::CsvTable::read(tmp / "fig1" / "metrics.csv").rows(), 300u);
  EXPECT_NE(test::read_text(tmp / "fig1" / "meta.json").find("completed"), std::string::npos);
  const auto again = test::run_cli({"resume", (tmp / "fig1").string()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("only Fig 2 runs"), std::string::npos) << again.output;
  const auto docs = test::run_cli({"config", "docs", "--model", "microcircuit_dynamics"});
  EXPECT_EQ(docs.exit_code, 0);
  EXPECT_NE(docs.output.find("fig2.checkpoint_every"), std::string::npos);
  const auto bad = test::run_cli({"train", (configs() / "sacramento2018/regression_fig2.yaml").string(), "--set",
                                  "fig2.trails=10", "--out", (tmp / "bad").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("fig2.trials"), std::string::npos) << bad.output;  // the suggestion
}

TEST(MicrocircuitReproduce, ShortenedFullDynamicsFiguresWriteCsvAndReport) {
  test::TempDir tmp("repro-mc");
  ReproduceOptions o;
  o.figures = {"1", "s1", "2"};
  o.trials = 20;
  o.patterns = 40;
  o.out = tmp / "out";
  o.configs = configs();
  o.quiet = true;
  const fs::path report = reproduce_sacramento(o);
  const std::string text = test::read_text(report);
  for (const char* s : {"## Fig 1", "## Fig S1", "## Fig 2", "~45°", "Shortened run"}) {
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  }
  EXPECT_EQ(io::CsvTable::read(o.out / "Fig_S1.csv").rows(), 3u);  // patterns 0, 20, 40
  EXPECT_EQ(io::CsvTable::read(o.out / "Fig_2.csv").rows(), 21u);  // a test every trial
  EXPECT_EQ(io::CsvTable::read(o.out / "Fig_1C.csv").rows(), 1600u);
  o.figures = {"4"};
  EXPECT_NE(test::error_of([&] { reproduce_sacramento(o); }).find("valid: 1, 2, 3, s1"), std::string::npos);
}

// ---- Fig 3 on synthetic data and tiny configs
// -------------------------------------------------------------------

/// Clears sweep_stop_requested when a test that sets it ends, whatever happens.
struct StopFlagGuard {
  ~StopFlagGuard() { sweep_stop_requested.store(false); }
};

class ReproduceTiny : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_mnist_files(test::synthetic_data(250, 60), tmp_ / "data");
    // The shipped configs with 36 inputs, 200 training and 50 validation images and 2 epochs; Fig 2 with 40
    // trials.
    const auto write = [&](const std::string& rel, const std::string& extra) {
      fs::create_directories((tmp_ / "configs" / rel).parent_path());
      test::write_text(tmp_ / "configs" / rel, "extends: " + (configs() / rel).string() + "\n" + extra);
    };
    const std::string split =
        "training:\n  epochs: 2\n  train_examples: 200\n  validation_examples: 50\ntest:\n  examples: 60\n";
    write("sacramento2018/mnist_microcircuit.yaml", "model:\n  layers: [36, 12, 8, 10]\n" + split);
    write("baselines/backprop.yaml", "model:\n  layers: [36, 12, 8, 10]\n" + split);
    write("baselines/shallow.yaml", "model:\n  layers: [36, 10]\n" + split);
    write("sacramento2018/regression_fig2.yaml",
          "fig2:\n  trials: 40\n  test_every: 10\n  test_patterns: 3\n  checkpoint_every: 7\n");
  }

  ReproduceOptions options(const std::string& out, std::vector<std::string> conditions, int seeds) const {
    ReproduceOptions o;
    o.figures = {"3"};
    o.conditions = std::move(conditions);
    o.seeds = seeds;
    o.jobs = 2;
    o.out = tmp_ / out;
    o.configs = tmp_ / "configs";
    o.data_dir = tmp_ / "data";
    o.quiet = true;
    return o;
  }

  test::TempDir tmp_{"repro-tiny"};
};

/// What the report and Fig_3B_seeds.csv should say about one run, computed here from its metrics.csv.
struct Expected {
  double final_test = 0, final_validation = 0, final_train = 0, test_at_best = 0, best_validation = 0, wall = 0;
  std::int64_t epochs = 0, best_epoch = 0;
};

Expected expected_from(const fs::path& metrics) {
  const io::CsvTable t = io::CsvTable::read(metrics);
  Expected e;
  const std::size_t last = t.rows() - 1;
  e.epochs = t.integer(last, "epoch");
  e.final_test = t.number(last, "test_error_pct");
  e.final_validation = t.number(last, "validation_error_pct");
  e.final_train = t.number(last, "train_error_pct");
  std::size_t best = 1;
  for (std::size_t r = 1; r < t.rows(); ++r) {
    if (t.number(r, "validation_error_pct") < t.number(best, "validation_error_pct")) best = r;
  }
  e.best_epoch = t.integer(best, "epoch");
  e.test_at_best = t.number(best, "test_error_pct");
  e.best_validation = t.number(best, "validation_error_pct");
  for (std::size_t r = 0; r < t.rows(); ++r) e.wall += t.number(r, "wall_s");
  return e;
}

/// "m ± sd % (a, b)" for two seeds, with the sample SD |a - b| / sqrt(2).
std::string two_seeds(double a, double b) {
  return fmt::format("{:.2f} ± {:.2f} % ({:.2f}, {:.2f})", (a + b) / 2, std::abs(a - b) / std::sqrt(2.0), a, b);
}

std::string status_of(const fs::path& run) {
  return nlohmann::json::parse(test::read_text(run / "meta.json")).value("status", "");
}

TEST_F(ReproduceTiny, Fig3SeedsGiveOneRunEachAndTheTablesHoldTheirMeanAndSd) {
  const ReproduceOptions o = options("out", {"shallow", "microcircuit"}, 2);
  const std::string report = test::read_text(reproduce_sacramento(o));
  // One run folder per condition and seed, nothing else; the seed is the override, and it changes the run.
  std::vector<std::string> folders;
  for (const auto& e : fs::directory_iterator(o.out / "runs")) folders.push_back(e.path().filename().string());
  std::sort(folders.begin(), folders.end());
  EXPECT_EQ(folders, (std::vector<std::string>{"microcircuit-seed1", "microcircuit-seed2", "shallow-seed1",
                                               "shallow-seed2"}));
  for (const std::string c : {"microcircuit", "shallow"}) {
    for (int k : {1, 2}) {
      const fs::path run = o.out / "runs" / fmt::format("{}-seed{}", c, k);
      EXPECT_EQ(status_of(run), "completed") << run;
      const auto& schema = c == "shallow" ? baseline_schema() : microcircuit_schema();
      EXPECT_EQ(config::Config::load(schema, run / "config.yaml").get_int("seed"), k) << run;
    }
    EXPECT_NE(test::read_text(o.out / "runs" / (c + "-seed1") / "weights/initial/W_up_1.npy"),
              test::read_text(o.out / "runs" / (c + "-seed2") / "weights/initial/W_up_1.npy"))
        << c;
    EXPECT_NE(expected_from(o.out / "runs" / (c + "-seed1") / "metrics.csv").final_train,
              expected_from(o.out / "runs" / (c + "-seed2") / "metrics.csv").final_train)
        << c;
  }
  // Fig_3B_seeds.csv: one row per condition and seed, in the order of mnist_conditions(), from the metrics.
  const io::CsvTable seeds = io::CsvTable::read(o.out / "Fig_3B_seeds.csv");
  ASSERT_EQ(seeds.rows(), 4u);
  std::map<std::string, std::vector<Expected>> by_condition;
  for (std::size_t r = 0; r < seeds.rows(); ++r) {
    const std::string c = seeds.cell(r, "condition");
    const std::int64_t k = seeds.integer(r, "seed");
    EXPECT_EQ(c, r < 2 ? "microcircuit" : "shallow");
    EXPECT_EQ(k, static_cast<std::int64_t>(r % 2 + 1));
    const std::string run = fmt::format("runs/{}-seed{}", c, k);
    EXPECT_EQ(seeds.cell(r, "run"), run);
    const Expected e = expected_from(o.out / run / "metrics.csv");
    EXPECT_EQ(seeds.integer(r, "epochs"), 2);
    EXPECT_EQ(seeds.number(r, "final_test_error_pct"), e.final_test) << run;
    EXPECT_EQ(seeds.integer(r, "best_validation_epoch"), e.best_epoch) << run;
    EXPECT_EQ(seeds.number(r, "test_error_at_best_validation_pct"), e.test_at_best) << run;
    EXPECT_EQ(seeds.number(r, "best_validation_error_pct"), e.best_validation) << run;
    EXPECT_EQ(seeds.number(r, "final_validation_error_pct"), e.final_validation) << run;
    EXPECT_EQ(seeds.number(r, "final_train_error_pct"), e.final_train) << run;
    EXPECT_DOUBLE_EQ(seeds.number(r, "wall_s"), e.wall) << run;
    by_condition[c].push_back(e);
  }
  // The report: per condition the paper's number, then mean ± SD (values) of the last epoch's test error and of
  // the test error at the best validation epoch.
  struct Row {
    std::string condition, label, paper;
  };
  for (const Row& want : {Row{"microcircuit", "784-500-500-10", "1.96 %"}, Row{"shallow", "784-10", "8.40 %"}}) {
    const auto& e = by_condition.at(want.condition);
    std::string at_best = two_seeds(e[0].test_at_best, e[1].test_at_best);
    at_best.pop_back();  // the closing bracket: the epochs follow inside it
    const std::string row =
        fmt::format("| {} ({}) | {} | {} | {}; epochs {}, {}) | {:.2f} ± {:.2f} % | 2 | 2 |", want.condition,
                    want.label, want.paper, two_seeds(e[0].final_test, e[1].final_test), at_best, e[0].best_epoch,
                    e[1].best_epoch, (e[0].best_validation + e[1].best_validation) / 2,
                    std::abs(e[0].best_validation - e[1].best_validation) / std::sqrt(2.0));
    EXPECT_NE(report.find(row), std::string::npos) << row << "\n" << report;
  }
  EXPECT_NE(report.find("seeds 1–2"), std::string::npos) << report;
  EXPECT_NE(report.find("the mean over the seeds per epoch"), std::string::npos) << report;
  // Fig_3B.csv: per epoch, the mean of the seeds' test errors, one column per chosen condition.
  const io::CsvTable curves = io::CsvTable::read(o.out / "Fig_3B.csv");
  EXPECT_EQ(curves.header(), (std::vector<std::string>{"epoch", "microcircuit", "shallow"}));
  ASSERT_EQ(curves.rows(), 3u);
  for (const std::string c : {"microcircuit", "shallow"}) {
    const io::CsvTable a = io::CsvTable::read(o.out / "runs" / (c + "-seed1") / "metrics.csv");
    const io::CsvTable b = io::CsvTable::read(o.out / "runs" / (c + "-seed2") / "metrics.csv");
    for (std::size_t e = 0; e < 3; ++e) {
      EXPECT_DOUBLE_EQ(curves.number(e, c), (a.number(e, "test_error_pct") + b.number(e, "test_error_pct")) / 2);
    }
  }
}

TEST_F(ReproduceTiny, SetMakesAVariantWithItsOwnRunFoldersBesideThePlainRuns) {
  // The plain run, then the same condition with --set training.target_high=0.9 into the same folder: the variant
  // gets runs/<condition>-seed1-set<hash> with the override in its config, the plain run stays as it was, and the
  // report says that it describes a variant.
  ReproduceOptions o = options("out", {"backprop"}, 1);
  reproduce_sacramento(o);
  const fs::path plain = o.out / "runs/backprop-seed1";
  const std::string plain_metrics = test::read_text(plain / "metrics.csv");
  o.overrides = {"training.target_high=0.9"};
  const std::string tag = config::overrides_tag(o.overrides);
  ASSERT_EQ(tag.size(), 12u);  // "-set" + 8 hex digits
  const std::string report = test::read_text(reproduce_sacramento(o));
  const fs::path variant = o.out / "runs" / ("backprop-seed1" + tag);
  EXPECT_EQ(status_of(variant), "completed");
  EXPECT_EQ(config::Config::load(baseline_schema(), variant / "config.yaml").get_real("training.target_high"),
            0.9);
  EXPECT_EQ(config::Config::load(baseline_schema(), plain / "config.yaml").get_real("training.target_high"), 0.8);
  EXPECT_EQ(test::read_text(plain / "metrics.csv"), plain_metrics);
  EXPECT_NE(test::read_text(variant / "metrics.csv"), plain_metrics);
  EXPECT_NE(report.find("**A variant, not the paper's settings**: every run below was made with "
                        "`training.target_high=0.9`"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("runs/backprop-seed1" + tag), std::string::npos) << report;
  // Again: reused, not retrained.
  const std::string again = test::read_text(reproduce_sacramento(o));
  EXPECT_NE(again.find("| `runs/backprop-seed1" + tag + "` | backprop | 1 | reused |"), std::string::npos)
      << again;
  // Fig 2's runs get the tag too, after the time compression's suffix.
  ReproduceOptions f2 = o;
  f2.figures = {"2"};
  f2.speedup = 10;
  f2.overrides = {"inputs.low=0"};
  reproduce_sacramento(f2);
  const fs::path fig2 = f2.out / "runs" / ("fig2-microcircuit-x10" + config::overrides_tag(f2.overrides));
  EXPECT_EQ(config::Config::load(dynamics_schema(), fig2 / "config.yaml").get_real("inputs.low"), 0.0);
}

TEST_F(ReproduceTiny, SetIsCheckedBeforeAnythingIsWritten) {
  ReproduceOptions o = options("never", {"microcircuit", "backprop"}, 2);
  // A key the command sets itself: refused, with the option to use instead.
  for (const auto& [set, instead] :
       std::vector<std::pair<std::string, std::string>>{{"training.epochs=3", "--epochs N"},
                                                        {"training={epochs: 3}", "--epochs N"},
                                                        {"seed=4", "--seeds N"},
                                                        {"test.examples=5", "--test-examples N"}}) {
    o.overrides = {set};
    const std::string err = test::error_of([&] { reproduce_sacramento(o); });
    EXPECT_NE(err.find("--set " + set + ": this command sets"), std::string::npos) << err;
    EXPECT_NE(err.find("use " + instead), std::string::npos) << err;
  }
  // A key that one condition's schema lacks: the error names the condition, its file and the key.
  o.overrides = {"plasticity.eta_ip=[0.1, 0.1]"};
  const std::string err = test::error_of([&] { reproduce_sacramento(o); });
  EXPECT_NE(err.find("fig 3 condition backprop ("), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key 'plasticity.eta_ip'"), std::string::npos) << err;
  // Malformed.
  o.overrides = {"plasticity"};
  EXPECT_NE(test::error_of([&] { reproduce_sacramento(o); }).find("malformed override"), std::string::npos);
  EXPECT_FALSE(fs::exists(o.out));
  // Fig 2's own keys, and seed is free when Fig 3 is not run.
  ReproduceOptions f2 = o;
  f2.figures = {"2"};
  f2.overrides = {"fig2.trials=5"};
  EXPECT_NE(test::error_of([&] { reproduce_sacramento(f2); }).find("use --trials N or --speedup F"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(o.out));
}

TEST_F(ReproduceTiny, Fig3ReusesFinishedRunsAlsoUnderTheOldFolderName) {
  ReproduceOptions o = options("out", {"backprop", "shallow"}, 1);
  const std::string first = test::read_text(reproduce_sacramento(o));
  const std::string seeds = test::read_text(o.out / "Fig_3B_seeds.csv");
  const auto stamp = fs::last_write_time(o.out / "runs/backprop-seed1/metrics.csv");
  const std::string second = test::read_text(reproduce_sacramento(o));
  EXPECT_EQ(fs::last_write_time(o.out / "runs/backprop-seed1/metrics.csv"), stamp);  // not retrained
  EXPECT_EQ(test::read_text(o.out / "Fig_3B_seeds.csv"), seeds);
  EXPECT_NE(second.find("| `runs/backprop-seed1` | backprop | 1 | reused |"), std::string::npos) << second;
  // A finished seed-1 run in runs/<condition> (how an earlier apical named it) counts when its config matches...
  fs::rename(o.out / "runs/shallow-seed1", o.out / "runs/shallow");
  const std::string third = test::read_text(reproduce_sacramento(o));
  EXPECT_FALSE(fs::exists(o.out / "runs/shallow-seed1"));
  EXPECT_NE(third.find("| `runs/shallow` | shallow | 1 | reused |"), std::string::npos) << third;
  const io::CsvTable a = io::CsvTable::parse(seeds), b = io::CsvTable::read(o.out / "Fig_3B_seeds.csv");
  EXPECT_EQ(b.cell(1, "run"), "runs/shallow");
  EXPECT_EQ(b.cell(1, "final_test_error_pct"), a.cell(1, "final_test_error_pct"));
  // ... and not when it does not (another number of epochs).
  o.epochs = 1;
  o.conditions = {"shallow"};
  reproduce_sacramento(o);
  EXPECT_TRUE(fs::exists(o.out / "runs/shallow-seed1"));
  EXPECT_EQ(io::CsvTable::read(o.out / "runs/shallow-seed1/metrics.csv").rows(), 2u);
  EXPECT_EQ(io::CsvTable::read(o.out / "runs/shallow/metrics.csv").rows(), 3u);
}

TEST_F(ReproduceTiny, Fig3NeverDeletesAFinishedRunWithOtherSettings) {
  ReproduceOptions o = options("out", {"backprop"}, 1);
  reproduce_sacramento(o);
  const fs::path run = o.out / "runs/backprop-seed1";
  const std::string metrics = test::read_text(run / "metrics.csv");
  o.epochs = 1;  // a shortened check into the folder of the full run
  const std::string what = test::error_of([&] { reproduce_sacramento(o); });
  EXPECT_NE(what.find(run.string()), std::string::npos) << what;
  EXPECT_NE(what.find("other settings"), std::string::npos) << what;
  EXPECT_NE(what.find("--out"), std::string::npos) << what;
  EXPECT_EQ(test::read_text(run / "metrics.csv"), metrics);
  EXPECT_TRUE(fs::exists(run / "weights/final"));
}

/// The columns of metrics.csv that a resumed run must reproduce exactly (all but the wall times).
const std::vector<std::string> kErrorColumns = {
    "epoch", "train_error_pct", "train_loss", "validation_error_pct", "test_error_pct", "apical_rms"};

std::vector<std::string> error_columns(const fs::path& metrics) {
  return test::csv_cells(metrics, kErrorColumns);
}

TEST_F(ReproduceTiny, Fig3StoppedRunsContinueFromTheirCheckpointBitForBit) {
  const StopFlagGuard guard;
  const ReproduceOptions whole = options("whole", {"microcircuit", "backprop"}, 1);
  reproduce_sacramento(whole);
  ReproduceOptions parts = options("parts", {"microcircuit", "backprop"}, 1);
  // As Ctrl-C would after the microcircuit's first epoch: every training checkpoints and stops.
  parts.on_epoch = [](const std::string& run, const SweepMetrics& row) {
    if (run == "microcircuit-seed1" && row.epoch == 1) sweep_stop_requested.store(true);
  };
  const std::string stopped = test::error_of([&] { reproduce_sacramento(parts); });
  EXPECT_NE(stopped.find("run the same command again to continue"), std::string::npos) << stopped;
  EXPECT_TRUE(sweep_stop_requested.load());  // a stop from outside stays set
  sweep_stop_requested.store(false);
  const fs::path mc = parts.out / "runs/microcircuit-seed1";
  EXPECT_EQ(status_of(mc), "interrupted");
  EXPECT_TRUE(fs::exists(mc / "checkpoint.apical"));
  EXPECT_FALSE(fs::exists(mc / "weights/final"));
  const io::CsvTable before = io::CsvTable::read(mc / "metrics.csv");
  EXPECT_EQ(before.rows(), 2u);  // epochs 0 and 1
  const auto initial = fs::last_write_time(mc / "weights/initial/W_up_1.npy");
  parts.on_epoch = {};
  const std::string report = test::read_text(reproduce_sacramento(parts));
  // Continued, not trained again: the initial weights and the first epoch's row (with its wall time) stay.
  EXPECT_EQ(fs::last_write_time(mc / "weights/initial/W_up_1.npy"), initial);
  EXPECT_EQ(io::CsvTable::read(mc / "metrics.csv").cell(1, "wall_s"), before.cell(1, "wall_s"));
  EXPECT_NE(report.find("| `runs/microcircuit-seed1` | microcircuit | 1 | resumed |"), std::string::npos)
      << report;
  const auto meta = nlohmann::json::parse(test::read_text(mc / "meta.json"));
  EXPECT_EQ(meta.value("status", ""), "completed");
  EXPECT_EQ(meta.at("commits").size(), 1u);  // both sittings by this binary
  for (const std::string run : {"microcircuit-seed1", "backprop-seed1"}) {
    const fs::path a = whole.out / "runs" / run, b = parts.out / "runs" / run;
    EXPECT_EQ(error_columns(a / "metrics.csv"), error_columns(b / "metrics.csv")) << run;
    int files = 0;
    for (const auto& f : fs::directory_iterator(a / "weights/final")) {
      EXPECT_EQ(test::read_text(f.path()), test::read_text(b / "weights/final" / f.path().filename())) << f.path();
      ++files;
    }
    EXPECT_GE(files, 6) << run;
  }
  EXPECT_EQ(test::read_text(whole.out / "Fig_3B.csv"), test::read_text(parts.out / "Fig_3B.csv"));
}

TEST_F(ReproduceTiny, Fig3AFailingTrainingStopsTheOthersWithACheckpoint) {
  const StopFlagGuard guard;
  test::write_text(
      tmp_ / "configs/baselines/shallow.yaml",
      "extends: " + (configs() / "baselines/shallow.yaml").string() + "\nmodel:\n  layers: [37, 10]\n");
  ReproduceOptions o = options("out", {"microcircuit", "shallow"}, 1);
  // The microcircuit waits after its first epoch until the shallow learner (on the other worker) has failed.
  o.on_epoch = [](const std::string&, const SweepMetrics& row) {
    const auto t0 = std::chrono::steady_clock::now();
    while (row.epoch == 1 && !sweep_stop_requested.load() &&
           std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  const std::string error = test::error_of([&] { reproduce_sacramento(o); });
  EXPECT_NE(error.find("36 pixels but model.layers[0] = 37"), std::string::npos) << error;
  EXPECT_NE(error.find("microcircuit seed 1 was stopped with a checkpoint"), std::string::npos) << error;
  EXPECT_FALSE(sweep_stop_requested.load());  // the failure's stop is cleared again
  EXPECT_EQ(status_of(o.out / "runs/shallow-seed1").rfind("failed: ", 0), 0u);
  EXPECT_EQ(status_of(o.out / "runs/microcircuit-seed1"), "interrupted");
  EXPECT_TRUE(fs::exists(o.out / "runs/microcircuit-seed1/checkpoint.apical"));
}

TEST_F(ReproduceTiny, BadOptionsAreErrorsBeforeAnythingRuns) {
  ReproduceOptions o = options("out", {"shallow", "shalow"}, 1);
  EXPECT_EQ(test::error_of([&] { reproduce_sacramento(o); }),
            "--condition shalow: unknown; valid: microcircuit, frozen_hidden, learned_topdown, backprop, fa, dfa, "
            "shallow, backprop_1000");
  o.conditions = {"shallow"};
  o.seeds = 0;
  EXPECT_NE(test::error_of([&] { reproduce_sacramento(o); }).find("--seeds 0"), std::string::npos);
  o.seeds = 1;
  for (const double f : {0.0, -2.0, std::numeric_limits<double>::infinity(), std::nan("")}) {
    o.speedup = f;
    const std::string e = test::error_of([&] { reproduce_sacramento(o); });
    EXPECT_NE(e.find("--speedup"), std::string::npos) << f << ": " << e;
    EXPECT_NE(e.find("finite number > 0"), std::string::npos) << f << ": " << e;
  }
  EXPECT_FALSE(fs::exists(o.out));
  // The same through the command line (they fail before any data is needed).
  const auto r = test::run_cli({"reproduce", "sacramento2018", "--figure", "2", "--speedup", "0", "--configs",
                                (tmp_ / "configs").string(), "--out", (tmp_ / "cli").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--speedup 0: must be a finite number > 0"), std::string::npos) << r.output;
  const auto c = test::run_cli(
      {"reproduce", "sacramento2018", "--figure", "3", "--condition", "nope", "--out", (tmp_ / "cli").string()});
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_NE(c.output.find("--condition nope: unknown; valid: microcircuit,"), std::string::npos) << c.output;
  const auto g = test::run_cli({"reproduce", "guerguiev2017", "--figure", "6", "--seeds", "3"});
  EXPECT_EQ(g.exit_code, 1);
  EXPECT_NE(g.output.find("--seeds applies to sacramento2018 only"), std::string::npos) << g.output;
}

// ---- Fig 2 options
// ----------------------------------------------------------------------------------------------

TEST_F(ReproduceTiny, Fig2SpeedupScalesEveryLearningRateAndDividesTheTrials) {
  ReproduceOptions o = options("out", {}, 1);
  o.figures = {"2"};
  o.speedup = 4;
  const std::string report = test::read_text(reproduce_sacramento(o));
  const config::Config base =
      config::Config::load(dynamics_schema(), tmp_ / "configs/sacramento2018/regression_fig2.yaml");
  for (const std::string net : {"microcircuit", "shallow"}) {
    const fs::path run = o.out / "runs" / ("fig2-" + net + "-x4");
    const config::Config cfg = config::Config::load(dynamics_schema(), run / "config.yaml");
    for (const char* key :
         {"plasticity.eta_up", "plasticity.eta_ip", "plasticity.eta_pi", "plasticity.eta_down"}) {
      const auto& want = base.get_real_list(key);
      const auto& got = cfg.get_real_list(key);
      ASSERT_EQ(got.size(), want.size()) << key;
      for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], 4 * want[i]) << key << "[" << i << "]";
    }
    EXPECT_EQ(cfg.get_int("fig2.trials"), 10);     // 40 / 4
    EXPECT_EQ(cfg.get_int("fig2.test_every"), 3);  // 10 / 4 = 2.5, rounded
    EXPECT_EQ(cfg.get_bool("fig2.shallow"), net == "shallow");
    EXPECT_EQ(status_of(run), "completed");
  }
  EXPECT_GT(base.get_real_list("plasticity.eta_up").front(), 0.0);
  const io::CsvTable t = io::CsvTable::read(o.out / "Fig_2.csv");
  EXPECT_EQ(t.number(t.rows() - 1, "trial"), 10);
  for (const char* s :
       {"**Time-compressed run (`--speedup 4`)**", "multiplied by 4", "10 trials (the config's 40 / 4)",
        "stand for about 40 trials at the paper's rates", "it is not the paper's protocol"}) {
    EXPECT_NE(report.find(s), std::string::npos) << s << "\n" << report;
  }
  // --trials wins over the division; the rates are still scaled (another folder: the finished runs above have
  // other settings, and a command never deletes those).
  o.trials = 6;
  EXPECT_NE(test::error_of([&] { reproduce_sacramento(o); }).find("holds a run with other settings"),
            std::string::npos);
  o.out = tmp_ / "out-trials";
  const std::string with_trials = test::read_text(reproduce_sacramento(o));
  EXPECT_NE(with_trials.find("6 trials (--trials; the config has 40)"), std::string::npos) << with_trials;
  EXPECT_EQ(config::Config::load(dynamics_schema(), o.out / "runs/fig2-microcircuit-x4/config.yaml")
                .get_real_list("plasticity.eta_pi"),
            std::vector<double>{4 * base.get_real_list("plasticity.eta_pi")[0]});
}

TEST_F(ReproduceTiny, Fig2NetworksInParallelGiveTheNumbersOfASequentialRun) {
  ReproduceOptions o = options("parallel", {}, 1);
  o.figures = {"2"};
  o.jobs = 2;
  reproduce_sacramento(o);
  ReproduceOptions seq = o;
  seq.out = tmp_ / "sequential";
  seq.jobs = 1;
  reproduce_sacramento(seq);
  const std::string csv = test::read_text(o.out / "Fig_2.csv");
  EXPECT_EQ(csv, test::read_text(seq.out / "Fig_2.csv"));
  for (const std::string net : {"fig2-microcircuit", "fig2-shallow"}) {
    for (const char* f : {"W_up_1.npy", "W_up_2.npy", "W_ip_1.npy", "W_pi_1.npy"}) {
      EXPECT_EQ(test::read_text(o.out / "runs" / net / "weights/final" / f),
                test::read_text(seq.out / "runs" / net / "weights/final" / f))
          << net << "/" << f;
    }
  }
  // And the numbers of run_fig2 itself (the run folders and checkpoints every 7 trials change nothing).
  const DynamicsExperiment e =
      dynamics_from_config(config::Config::load(dynamics_schema(), o.out / "runs/fig2-microcircuit/config.yaml"));
  Fig2Settings shallow = e.fig2;
  shallow.shallow = true;
  const Fig2Result a = run_fig2(e.fig2, e.seed), b = run_fig2(shallow, e.seed);
  const io::CsvTable t = io::CsvTable::parse(csv);
  ASSERT_EQ(t.rows(), a.test_error.size());
  for (std::size_t i = 0; i < t.rows(); ++i) {
    EXPECT_EQ(t.number(i, "microcircuit_error"), a.test_error[i]) << i;
    EXPECT_EQ(t.number(i, "shallow_error"), b.test_error[i]) << i;
    EXPECT_EQ(t.number(i, "angle_deg"), a.angle[i]) << i;
  }
}

}  // namespace
}  // namespace apical::microcircuit
