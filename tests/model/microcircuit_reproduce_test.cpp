// SPDX-License-Identifier: Apache-2.0
// The full-dynamics experiments as configs (Fig S1, Fig 2), every shipped config of the paper and the baselines,
// and a shortened `apical reproduce sacramento2018` of the full-dynamics figures.
#include <gtest/gtest.h>

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
    const SweepSettings st = sweep_settings_from_config(config::Config::load(microcircuit_schema(), configs() / f));
    EXPECT_EQ(st.params.rule, Rule::microcircuit) << f;
    EXPECT_EQ(st.batch_size, 10) << f;
    ++loaded;
  }
  for (const char* f : {"baselines/backprop.yaml", "baselines/fa.yaml", "baselines/dfa.yaml", "baselines/shallow.yaml",
                        "baselines/backprop_784-1000-10.yaml"}) {
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
  const SweepSettings mc =
      sweep_settings_from_config(config::Config::load(microcircuit_schema(), configs() / "sacramento2018/mnist_microcircuit.yaml"));
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
  DynamicsExperiment e =
      dynamics_from_config(config::Config::load(dynamics_schema(), configs() / "sacramento2018/regression_fig2.yaml",
                                                {"fig2.trials=30", "fig2.test_every=7", "fig2.test_patterns=3",
                                                 "fig2.checkpoint_every=0"}));
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
  for (const char* s : {"## Fig 1", "## Fig S1", "## Fig 2", "~45°", "shortened"}) {
    EXPECT_NE(text.find(s), std::string::npos) << s << "\n" << text;
  }
  EXPECT_EQ(io::CsvTable::read(o.out / "Fig_S1.csv").rows(), 3u);  // patterns 0, 20, 40
  EXPECT_EQ(io::CsvTable::read(o.out / "Fig_2.csv").rows(), 21u);  // a test every trial
  EXPECT_EQ(io::CsvTable::read(o.out / "Fig_1C.csv").rows(), 1600u);
  o.figures = {"4"};
  EXPECT_NE(test::error_of([&] { reproduce_sacramento(o); }).find("valid: 1, 2, 3, s1"), std::string::npos);
}

}  // namespace
}  // namespace apical::microcircuit
