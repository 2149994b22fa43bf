// SPDX-License-Identifier: Apache-2.0
// The benchmark library (apical bench) on a tiny network and synthetic images: sane numbers, steps counted from
// the schedules, valid JSON with the machine context, and errors that name the option. No timing assertions.
#include "apical/bench/bench.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"
#include "apical/models/segregated/network.hpp"
#include "test_support.hpp"

namespace apical::bench {
namespace {

using ::testing::HasSubstr;

data::DataSplit synthetic_split() {
  data::DataSplit split;
  split.train = synthetic_mnist_like(8, 1, "synthetic/train");
  split.test = synthetic_mnist_like(6, 2, "synthetic/test");
  return split;
}

BenchOptions tiny(segregated::Mode mode) {
  BenchOptions o;
  o.examples = 5;
  o.test_images = 4;
  o.threads = 2;
  o.mode = mode;
  o.layers = {20, 10};
  o.repeats = 3;
  o.seed = 3;
  return o;
}

void expect_error(const std::function<void()>& f, const std::string& option, const std::string& valid) {
  try {
    f();
    ADD_FAILURE() << "no error for " << option;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(option));
    EXPECT_THAT(e.what(), HasSubstr(valid));
  }
}

TEST(Bench, SyntheticImagesLookLikeMnist) {
  const data::Dataset d = synthetic_mnist_like(200, 7, "synthetic");
  ASSERT_EQ(d.size(), 200U);
  ASSERT_EQ(d.image_size(), 784U);
  double sum = 0, nonzero = 0;
  for (auto v : d.pixels) {
    sum += v / 255.0;
    nonzero += v > 0;
  }
  const auto n = static_cast<double>(d.pixels.size());
  EXPECT_NEAR(nonzero / n, 0.19, 0.02);
  EXPECT_NEAR(sum / n, 0.13, 0.02);
  for (auto l : d.labels) EXPECT_LT(l, 10);
}

class BenchRun : public ::testing::TestWithParam<segregated::Mode> {};

TEST_P(BenchRun, ReturnsSaneNumbersAndCountsSteps) {
  const data::DataSplit data = synthetic_split();
  const BenchOptions o = tiny(GetParam());
  int lines = 0;
  const BenchResult r = run_bench(o, data, [&](const std::string&) { ++lines; });
  EXPECT_EQ(lines, o.repeats);
  ASSERT_EQ(r.train_seconds.size(), 3U);
  ASSERT_EQ(r.test_seconds.size(), 3U);
  EXPECT_EQ(r.threads, 2);

  // Steps: the sum of the phase lengths of the schedules the trainer draws for positions 0..4 of epoch 1.
  const segregated::Params p = bench_params(o);
  const segregated::Network net(p, segregated::Weights::initialise(p, o.seed), o.seed);
  std::int64_t steps = 0;
  for (std::uint64_t k = 0; k < 5; ++k) {
    const auto s = net.draw_schedule(1, k);
    steps += s.forward_steps + s.target_steps;
  }
  EXPECT_EQ(r.train_steps, steps);
  if (GetParam() == segregated::Mode::spiking) {
    ASSERT_EQ(r.spikes_per_step.size(), 3U);
    EXPECT_GT(r.spikes_per_step[0], 1.0);  // ~148 lit pixels at 0.2 * ~0.68 spikes/ms: about 20 per step
    EXPECT_LT(r.spikes_per_step[0], 60.0);
    EXPECT_GE(r.train_steps, 5 * 100);
    EXPECT_EQ(r.test_steps, 4 * 250);
  } else {
    EXPECT_TRUE(r.spikes_per_step.empty());
    EXPECT_EQ(r.train_steps, 5 * 4);
    EXPECT_EQ(r.test_steps, 4 * 2);
  }

  for (const Stats& s :
       {r.ms_per_example(), r.ms_per_test_image(), r.cpu_ms_per_example(), r.cpu_ms_per_test_image()}) {
    EXPECT_GT(s.min, 0.0);
    EXPECT_LE(s.min, s.median);
    EXPECT_LE(s.median, s.max);
    EXPECT_TRUE(std::isfinite(s.max));
  }
  EXPECT_GT(r.train_steps_per_second(), 0.0);
  EXPECT_GT(r.test_steps_per_second(), 0.0);
  EXPECT_NEAR(r.full_test_seconds(), r.ms_per_test_image().median * 10.0, 1e-9);
  EXPECT_GT(r.memory.max_rss_mib, 1.0);
  EXPECT_GT(r.memory.vm_hwm_mib, 1.0);
  EXPECT_GE(r.train_error_percent, 0.0);
  EXPECT_LE(r.test_error_percent, 100.0);
  EXPECT_THAT(format_table(r), HasSubstr("ms per example"));
}

INSTANTIATE_TEST_SUITE_P(Modes, BenchRun,
                         ::testing::Values(segregated::Mode::spiking, segregated::Mode::nonspiking),
                         [](const auto& p) { return std::string(mode_name(p.param)); });

TEST(Bench, WritesJsonWithResultsAndContext) {
  const data::DataSplit data = synthetic_split();
  BenchOptions o = tiny(segregated::Mode::nonspiking);
  o.repeats = 2;
  const BenchResult r = run_bench(o, data);
  const char* argv[] = {"apical", "bench", "--examples", "5"};
  const nlohmann::json context = machine_context(4, argv);
  test::TempDir tmp("bench-json");
  const auto path = tmp / "sub" / "bench.json";
  write_json(path, r, context);
  const nlohmann::json j = nlohmann::json::parse(io::read_file(path));
  for (const char* key : {"apical_version", "git_commit", "build_type", "compiler", "cpu_model", "cores", "host",
                          "date", "command_line"}) {
    EXPECT_TRUE(j["context"].contains(key)) << key;
  }
  EXPECT_EQ(j["context"]["command_line"][2], "--examples");
  EXPECT_EQ(j["options"]["network"], "784-20-10");
  EXPECT_EQ(j["options"]["mode"], "nonspiking");
  EXPECT_EQ(j["train"]["steps"], r.train_steps);
  EXPECT_EQ(j["train"]["ms_per_example"]["per_repeat"].size(), 2U);
  EXPECT_DOUBLE_EQ(j["train"]["ms_per_example"]["median"].get<double>(), r.ms_per_example().median);
  EXPECT_GT(j["test"]["full_test_seconds"].get<double>(), 0.0);
  EXPECT_EQ(j["test"]["cpu_ms_per_image"]["per_repeat"].size(), 2U);
  EXPECT_GT(j["memory"]["vm_hwm_mib"].get<double>(), 0.0);
}

TEST(Bench, StatsTakeTheMedian) {
  const Stats odd = stats({3.0, 1.0, 2.0});
  EXPECT_EQ(odd.median, 2.0);
  EXPECT_EQ(odd.min, 1.0);
  EXPECT_EQ(odd.max, 3.0);
  EXPECT_EQ(stats({4.0, 1.0, 2.0, 3.0}).median, 2.5);
  EXPECT_EQ(stats({}).median, 0.0);
}

TEST(Bench, ParsesLayersAndMode) {
  EXPECT_EQ(parse_layers("500,10"), (std::vector<int>{500, 10}));
  EXPECT_EQ(parse_layers(" 500, 100 ,10"), (std::vector<int>{500, 100, 10}));
  EXPECT_EQ(parse_mode("nonspiking"), segregated::Mode::nonspiking);
  EXPECT_EQ(network_name({500, 100, 10}), "784-500-100-10");
  EXPECT_EQ(bench_params(BenchOptions{}).learning_rates, (std::vector<double>{0.21, 0.21}));
}

TEST(Bench, BadArgumentsNameTheOption) {
  auto with = [](const std::function<void(BenchOptions&)>& change) {
    BenchOptions o;
    change(o);
    return [o] { validate(o); };
  };
  expect_error(with([](BenchOptions& o) { o.examples = 0; }), "--examples 0", "1..60000");
  expect_error(with([](BenchOptions& o) { o.test_images = -1; }), "--test-images -1", "0..10000");
  expect_error(with([](BenchOptions& o) { o.threads = -2; }), "--threads -2", "0..");
  expect_error(with([](BenchOptions& o) { o.repeats = 0; }), "--repeats 0", "1..");
  expect_error([] { parse_layers("500,x"); }, "--layers '500,x'", "500,10");
  expect_error([] { parse_layers(""); }, "--layers", "500,10");
  expect_error([] { parse_layers("500,0,10"); }, "--layers 500,0,10", "1..");
  expect_error([] { parse_layers("500,5"); }, "--layers 500,5", "at least 10");
  expect_error([] { parse_mode("fast"); }, "--mode 'fast'", "spiking, nonspiking");

  const data::DataSplit data = synthetic_split();
  BenchOptions o = tiny(segregated::Mode::nonspiking);
  o.examples = 9;
  expect_error([&] { run_bench(o, data); }, "--examples 9", "1..8");
  o.examples = 5;
  o.test_images = 7;
  expect_error([&] { run_bench(o, data); }, "--test-images 7", "0..6");
}

TEST(Bench, CliRejectsBadOptionBeforeLoadingData) {
  const auto r = test::run_cli({"bench", "--examples", "0", "--data", "/nonexistent"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("--examples 0"));
  EXPECT_THAT(r.output, HasSubstr("1..60000"));
  const auto m = test::run_cli({"bench", "--mode", "fast"});
  EXPECT_EQ(m.exit_code, 1);
  EXPECT_THAT(m.output, HasSubstr("--mode 'fast'"));
}

}  // namespace
}  // namespace apical::bench
