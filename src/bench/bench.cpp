// SPDX-License-Identifier: Apache-2.0
#include "apical/bench/bench.hpp"

#include <fmt/format.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <thread>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/io/atomic_file.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/segregated/experiment.hpp"
#include "apical/models/segregated/network.hpp"

namespace apical::bench {
namespace {

using segregated::Mode;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kFullTestImages = 10000.0;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// CPU seconds of this thread or of the whole process (0 if the clock is unavailable).
double cpu_seconds(clockid_t clock) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return 0.0;
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

Stats per_item_ms(const std::vector<double>& seconds, std::int64_t items) {
  if (items <= 0) return {};
  std::vector<double> ms;
  for (double t : seconds) ms.push_back(1000.0 * t / static_cast<double>(items));
  return stats(ms);
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::string join_layers(const std::vector<int>& layers) {
  std::string out;
  for (std::size_t m = 0; m < layers.size(); ++m) out += (m == 0 ? "" : ",") + std::to_string(layers[m]);
  return out;
}

nlohmann::json stats_json(const Stats& s, const std::vector<double>& values, double scale) {
  nlohmann::json per = nlohmann::json::array();
  for (double v : values) per.push_back(v * scale);
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"per_repeat", per}};
}

}  // namespace

void validate(const BenchOptions& o) {
  if (o.examples < 1 || o.examples > kMaxExamples) {
    fail("--examples {}: the number of training examples per repeat must be in 1..{}", o.examples, kMaxExamples);
  }
  if (o.test_images < 0 || o.test_images > kMaxTestImages) {
    fail("--test-images {}: the number of test images must be in 0..{} (0 = no test pass)", o.test_images,
         kMaxTestImages);
  }
  if (o.threads < 0 || o.threads > kMaxThreads) {
    fail("--threads {}: must be in 0..{} (0 = all cores)", o.threads, kMaxThreads);
  }
  if (o.repeats < 1 || o.repeats > kMaxRepeats) {
    fail("--repeats {}: must be in 1..{}", o.repeats, kMaxRepeats);
  }
  if (o.layers.empty()) fail("--layers: give at least the output layer, e.g. --layers 500,10");
  for (int n : o.layers) {
    if (n < 1 || n > kMaxLayerSize) {
      fail("--layers {}: every layer size must be in 1..{}", join_layers(o.layers), kMaxLayerSize);
    }
  }
  if (o.layers.back() < 10) {
    fail("--layers {}: the output layer needs at least 10 neurons (one per MNIST class)", join_layers(o.layers));
  }
}

void validate(const BenchOptions& o, const data::DataSplit& data) {
  validate(o);
  if (data.train.image_size() != 784 || (data.test.size() > 0 && data.test.image_size() != 784)) {
    fail("{}: images of {} x {} pixels; apical bench needs 28 x 28 (784) pixel images", data.train.name,
         data.train.rows, data.train.cols);
  }
  if (static_cast<std::size_t>(o.examples) > data.train.size()) {
    fail("--examples {}: the training set {} has only {} images; valid: 1..{}", o.examples, data.train.name,
         data.train.size(), data.train.size());
  }
  if (static_cast<std::size_t>(o.test_images) > data.test.size()) {
    fail("--test-images {}: the test set {} has only {} images; valid: 0..{}", o.test_images, data.test.name,
         data.test.size(), data.test.size());
  }
}

std::vector<int> parse_layers(std::string_view text) {
  std::vector<int> layers;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item = trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size()) {
      fail(
          "--layers '{}': expected comma-separated layer sizes ending with the output layer, e.g. 500,10 or "
          "500,100,10",
          text);
    }
    layers.push_back(value);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  BenchOptions o;
  o.layers = layers;
  validate(o);
  return layers;
}

Mode parse_mode(std::string_view text) {
  if (text == "spiking") return Mode::spiking;
  if (text == "nonspiking") return Mode::nonspiking;
  fail("--mode '{}': valid choices: spiking, nonspiking", text);
}

std::string_view mode_name(Mode mode) {
  return mode == Mode::spiking ? "spiking" : "nonspiking";
}

std::string network_name(const std::vector<int>& layers) {
  std::string out = "784";
  for (int n : layers) out += "-" + std::to_string(n);
  return out;
}

segregated::Params bench_params(const BenchOptions& o) {
  segregated::Params p;
  p.mode = o.mode;
  p.layers = o.layers;
  if (o.layers == std::vector<int>{10}) {
    p.learning_rates = {0.19};
  } else if (o.layers == std::vector<int>{500, 100, 10}) {
    p.learning_rates = {0.23, 0.23, 0.12};
  } else {
    p.learning_rates.assign(o.layers.size(), 0.21);
  }
  p.validate();
  return p;
}

int resolve_threads(int threads) {
  if (threads > 0) return threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

PeakMemory peak_memory() {
  PeakMemory m;
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) m.max_rss_mib = static_cast<double>(usage.ru_maxrss) * 1024.0 / kMiB;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    // "VmHWM:     70012 kB"
    const std::string value = trim(std::string_view(line).substr(6));
    double kb = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), kb);
    if (ec == std::errc()) m.vm_hwm_mib = kb * 1024.0 / kMiB;
    (void)end;
    break;
  }
  return m;
}

Stats stats(std::vector<double> values) {
  Stats s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  s.median = n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  s.min = values.front();
  s.max = values.back();
  return s;
}

Stats BenchResult::ms_per_example() const {
  return per_item_ms(train_seconds, options.examples);
}
Stats BenchResult::ms_per_test_image() const {
  return per_item_ms(test_seconds, options.test_images);
}
Stats BenchResult::cpu_ms_per_example() const {
  return per_item_ms(train_cpu_seconds, options.examples);
}
Stats BenchResult::cpu_ms_per_test_image() const {
  return per_item_ms(test_cpu_seconds, options.test_images);
}

double BenchResult::full_test_seconds() const {
  return ms_per_test_image().median * kFullTestImages / 1000.0;
}

double BenchResult::train_steps_per_second() const {
  const double t = stats(train_seconds).median;
  return t > 0 ? static_cast<double>(train_steps) / t : 0.0;
}

double BenchResult::test_steps_per_second() const {
  const double t = stats(test_seconds).median;
  return t > 0 ? static_cast<double>(test_steps) / t : 0.0;
}

BenchResult run_bench(const BenchOptions& options, const data::DataSplit& data,
                      const std::function<void(const std::string&)>& progress) {
  validate(options, data);
  const segregated::Params p = bench_params(options);
  BenchResult r;
  r.options = options;
  r.threads = resolve_threads(options.threads);
  r.data = data.folder.empty() ? data.train.name : data.folder.string();
  const auto n_train = static_cast<std::size_t>(options.examples);
  std::vector<double> pixels;

  for (int rep = 0; rep < options.repeats; ++rep) {
    // Training: exactly what the trainer does per example (image, schedule, noise stream, example), file order.
    segregated::Network net(p, segregated::Weights::initialise(p, options.seed), options.seed);
    std::int64_t steps = 0, errors = 0;
    const double c0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t k = 0; k < n_train; ++k) {
      segregated::input_image(data.train, k, false, pixels);
      const segregated::ExampleSchedule schedule = net.draw_schedule(1, k);
      Stream noise(options.seed, "feedback.noise", 1, k);
      const int label = data.train.labels[k];
      const segregated::ExampleOutcome out = net.train_example(pixels, label, schedule, &noise);
      steps += schedule.forward_steps + schedule.target_steps;
      errors += out.predicted != label;
    }
    r.train_seconds.push_back(seconds_since(t0));
    r.train_cpu_seconds.push_back(cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - c0);
    r.train_steps = steps;
    r.train_error_percent = 100.0 * static_cast<double>(errors) / static_cast<double>(n_train);
    r.spikes_per_step.clear();
    if (p.mode == Mode::spiking) {
      const segregated::SimState& st = net.state();
      const auto per_step = [&](std::uint64_t total) {
        return static_cast<double>(total) / static_cast<double>(steps);
      };
      r.spikes_per_step.push_back(per_step(st.input.spike_total));
      for (const auto& pop : st.pop) r.spikes_per_step.push_back(per_step(pop.spike_total));
    }

    // Test pass of the trained network.
    double test_s = 0;
    if (options.test_images > 0) {
      const double c1 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
      const auto t1 = std::chrono::steady_clock::now();
      const segregated::TestResult t =
          segregated::test_network(net, data.test, options.test_images, "spikes.test", 1, r.threads);
      test_s = seconds_since(t1);
      r.test_seconds.push_back(test_s);
      r.test_cpu_seconds.push_back(cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - c1);
      r.test_error_percent = t.error_percent();
    }
    const int per_image = p.mode == Mode::spiking ? p.test_steps : 2;  // classify(): 2 rate steps non-spiking
    r.test_steps = options.test_images * per_image;
    if (progress) {
      progress(
          fmt::format("repeat {}/{}: training {:.3f} ms/example ({} examples, {:.2f} s), test {:.3f} ms/image "
                      "({} images on {} threads, {:.2f} s)",
                      rep + 1, options.repeats, 1000.0 * r.train_seconds.back() / static_cast<double>(n_train),
                      n_train, r.train_seconds.back(),
                      options.test_images > 0 ? 1000.0 * test_s / static_cast<double>(options.test_images) : 0.0,
                      options.test_images, r.threads, test_s));
    }
  }
  r.memory = peak_memory();
  return r;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) return trim(std::string_view(line).substr(colon + 1));
  }
  return "unknown";
}

nlohmann::json machine_context(int argc, const char* const* argv) {
  nlohmann::json meta = io::make_meta(0, argc, argv);
  nlohmann::json c = nlohmann::json::object();
  for (const char* key : {"apical_version", "git_commit", "build_type", "compiler", "host", "os"})
    c[key] = meta[key];
  c["cpu_model"] = cpu_model();
  c["cores"] = std::thread::hardware_concurrency();
  c["date"] = io::iso8601_utc_now();
  c["command_line"] = meta["command_line"];
  return c;
}

nlohmann::json to_json(const BenchResult& r, const nlohmann::json& context) {
  const BenchOptions& o = r.options;
  nlohmann::json j = nlohmann::json::object();
  j["context"] = context;
  j["options"] = {{"examples", o.examples}, {"test_images", o.test_images},
                  {"threads", r.threads},   {"mode", std::string(mode_name(o.mode))},
                  {"layers", o.layers},     {"network", network_name(o.layers)},
                  {"repeats", o.repeats},   {"seed", o.seed},
                  {"data", r.data}};
  j["train"] = {{"examples", o.examples},
                {"steps", r.train_steps},
                {"seconds", stats_json(stats(r.train_seconds), r.train_seconds, 1.0)},
                {"ms_per_example",
                 stats_json(r.ms_per_example(), r.train_seconds, 1000.0 / static_cast<double>(o.examples))},
                {"cpu_ms_per_example", stats_json(r.cpu_ms_per_example(), r.train_cpu_seconds,
                                                  1000.0 / static_cast<double>(o.examples))},
                {"steps_per_second", r.train_steps_per_second()},
                {"train_error_percent", r.train_error_percent},
                {"spikes_per_step", r.spikes_per_step}};
  j["test"] = {
      {"images", o.test_images},
      {"threads", r.threads},
      {"steps", r.test_steps},
      {"seconds", stats_json(stats(r.test_seconds), r.test_seconds, 1.0)},
      {"ms_per_image", stats_json(r.ms_per_test_image(), r.test_seconds,
                                  o.test_images > 0 ? 1000.0 / static_cast<double>(o.test_images) : 0.0)},
      {"cpu_ms_per_image", stats_json(r.cpu_ms_per_test_image(), r.test_cpu_seconds,
                                      o.test_images > 0 ? 1000.0 / static_cast<double>(o.test_images) : 0.0)},
      {"full_test_seconds", r.full_test_seconds()},
      {"steps_per_second", r.test_steps_per_second()},
      {"test_error_percent", r.test_error_percent}};
  j["memory"] = {{"max_rss_mib", r.memory.max_rss_mib}, {"vm_hwm_mib", r.memory.vm_hwm_mib}};
  return j;
}

void write_json(const std::filesystem::path& path, const BenchResult& result, const nlohmann::json& context) {
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) fail("--json {}: cannot create its folder: {}", path.string(), ec.message());
  }
  io::write_file_atomic(path, to_json(result, context).dump(2) + "\n");
}

std::string format_table(const BenchResult& r) {
  const BenchOptions& o = r.options;
  std::string out = fmt::format(
      "apical bench: {} {}, seed {}, {} training examples x {} repeats, {} test images on "
      "{} threads\ndata: {}\n\n",
      network_name(o.layers), mode_name(o.mode), o.seed, o.examples, o.repeats, o.test_images, r.threads, r.data);
  out += fmt::format("{:<44}{:>12}{:>12}{:>12}\n", "", "median", "min", "max");
  auto row = [&](const std::string& what, const Stats& s) {
    out += fmt::format("{:<44}{:>12.4f}{:>12.4f}{:>12.4f}\n", what, s.median, s.min, s.max);
  };
  row("training: ms per example", r.ms_per_example());
  row("training: CPU ms per example", r.cpu_ms_per_example());
  out += fmt::format("{:<44}{:>12.0f}   ({} steps per repeat)\n", "training: simulated steps per second",
                     r.train_steps_per_second(), r.train_steps);
  if (o.test_images > 0) {
    row(fmt::format("test: ms per image ({} threads)", r.threads), r.ms_per_test_image());
    row("test: CPU ms per image (all threads)", r.cpu_ms_per_test_image());
    row("test: wall time of the pass (s)", stats(r.test_seconds));
    out +=
        fmt::format("{:<44}{:>12.2f}\n", "test: full 10,000-image test (s, extrapolated)", r.full_test_seconds());
    out += fmt::format("{:<44}{:>12.0f}   ({} steps per pass)\n", "test: simulated steps per second",
                       r.test_steps_per_second(), r.test_steps);
  }
  out += fmt::format("{:<44}{:>12.1f}   (VmHWM {:.1f} MiB)\n", "peak memory: ru_maxrss (MiB)",
                     r.memory.max_rss_mib, r.memory.vm_hwm_mib);
  if (!r.spikes_per_step.empty()) {
    out += "training: spikes per step (input";
    for (std::size_t m = 1; m < r.spikes_per_step.size(); ++m) out += fmt::format(", layer {}", m - 1);
    out += "):";
    for (double v : r.spikes_per_step) out += fmt::format(" {:.1f}", v);
    out += "\n";
  }
  out += fmt::format("sanity: training error {:.2f} %, test error {:.2f} % (last repeat)\n", r.train_error_percent,
                     r.test_error_percent);
  return out;
}

data::Dataset synthetic_mnist_like(std::size_t n, std::uint64_t seed, const std::string& name) {
  // Each image: pixels of the central 20 x 20 box are lit with probability 0.37 (about 148 of 784 = 19 %), half
  // of them near full intensity and half at intermediate values, so the mean pixel is about 0.13 as in MNIST.
  data::Dataset d;
  d.name = name;
  d.rows = 28;
  d.cols = 28;
  d.pixels.assign(n * 784, 0);
  d.labels.resize(n);
  Stream s(seed, "bench.synthetic");
  for (std::size_t k = 0; k < n; ++k) {
    d.labels[k] = static_cast<std::uint8_t>(s.below(10));
    for (std::size_t r = 4; r < 24; ++r) {
      for (std::size_t c = 4; c < 24; ++c) {
        if (s.uniform() >= 0.37) continue;
        const double v = s.uniform() < 0.5 ? 0.9 + 0.1 * s.uniform() : 0.05 + 0.7 * s.uniform();
        d.pixels[k * 784 + r * 28 + c] = static_cast<std::uint8_t>(std::max(1.0, std::round(255.0 * v)));
      }
    }
  }
  return d;
}

}  // namespace apical::bench
