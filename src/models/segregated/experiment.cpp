// SPDX-License-Identifier: Apache-2.0
#include "apical/models/segregated/experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>
#include <thread>

#include "apical/analysis/stats.hpp"
#include "apical/core/error.hpp"
#include "apical/core/parallel.hpp"
#include "apical/core/progress.hpp"
#include "apical/io/archive.hpp"
#include "apical/io/atomic_file.hpp"
#include "apical/io/csv.hpp"
#include "apical/io/npy.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/segregated/jacobian.hpp"

namespace apical::segregated {

std::atomic<bool> stop_requested{false};

namespace {

constexpr const char* kCheckpointFile = "checkpoint.apical";
constexpr const char* kCheckpointFormat = "apical.segregated.checkpoint";
constexpr int kCheckpointVersion = 1;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// The training order of an epoch: a permutation from the "order" stream (Fisher-Yates), or the file order.
std::vector<std::size_t> epoch_order(std::uint64_t seed, int epoch, std::size_t n, bool shuffle) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (!shuffle) return order;
  Stream s(seed, "order", static_cast<std::uint64_t>(epoch));
  for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[static_cast<std::size_t>(s.below(i + 1))]);
  return order;
}

int thread_count(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// ---- metrics files ---------------------------------------------------------------------------------------------

void write_metrics(const io::RunDir& run, const std::vector<EpochMetrics>& rows) {
  std::vector<std::vector<double>> values;
  for (const auto& r : rows) {
    values.push_back({static_cast<double>(r.epoch), r.test_error, r.train_error, r.mean_loss, r.wall_seconds,
                      r.examples_per_second});
  }
  run.write_metrics({"epoch", "test_error_pct", "train_error_pct", "mean_loss", "wall_s", "examples_per_s"},
                    values);
}

nlohmann::json metrics_to_json(const std::vector<EpochMetrics>& rows) {
  // Exact (bit-preserving) storage for the checkpoint: numbers as their IEEE-754 bit patterns.
  nlohmann::json out = nlohmann::json::array();
  auto bits = [](double v) {
    std::uint64_t b = 0;
    std::memcpy(&b, &v, sizeof b);
    return b;
  };
  for (const auto& r : rows) {
    out.push_back({r.epoch, bits(r.test_error), bits(r.train_error), bits(r.mean_loss), bits(r.wall_seconds),
                   bits(r.examples_per_second)});
  }
  return out;
}

std::vector<EpochMetrics> metrics_from_json(const nlohmann::json& j) {
  auto val = [](std::uint64_t b) {
    double v = 0;
    std::memcpy(&v, &b, sizeof v);
    return v;
  };
  std::vector<EpochMetrics> rows;
  for (const auto& r : j) {
    rows.push_back({r.at(0).get<int>(), val(r.at(1).get<std::uint64_t>()), val(r.at(2).get<std::uint64_t>()),
                    val(r.at(3).get<std::uint64_t>()), val(r.at(4).get<std::uint64_t>()),
                    val(r.at(5).get<std::uint64_t>())});
  }
  return rows;
}

// ---- checkpoints -----------------------------------------------------------------------------------------------

/// Where training stands: enough to continue exactly.
struct Position {
  int epoch = 1;                   ///< epoch in progress (1-based)
  std::int64_t index = 0;          ///< examples of this epoch already done
  std::int64_t examples_done = 0;  ///< over the whole run
  std::int64_t epoch_errors = 0;
  double epoch_loss = 0;
  double epoch_train_seconds = 0;
  std::vector<std::uint8_t> active;       ///< per layer: not silent at some example of this epoch
  std::vector<std::uint8_t> unsaturated;  ///< per layer: not saturated at some example of this epoch
  std::vector<EpochMetrics> metrics;
  std::vector<double> angles;    ///< Fig 7A: this epoch's local-vs-backprop angles so far (analysis.record_angles)
  std::vector<double> jacobian;  ///< Fig 5S1A: this epoch's (product of means, mean of products) eigenvalues
};

void put_spikes(io::ArchiveWriter& a, const std::string& name, const SpikeHistory& h) {
  std::vector<std::uint32_t> units;
  std::vector<std::uint16_t> counts;
  std::vector<std::uint64_t> lengths;
  for (int d = h.depth(); d >= 1; --d) {  // oldest first
    const SpikeSlot& s = h.slot(d);
    units.insert(units.end(), s.unit.begin(), s.unit.end());
    counts.insert(counts.end(), s.count.begin(), s.count.end());
    lengths.push_back(s.size());
  }
  std::vector<std::int64_t> u64(units.begin(), units.end()), c64(counts.begin(), counts.end());
  a.put(name + ".units", u64);
  a.put(name + ".counts", c64);
  a.put(name + ".lengths", lengths);
}

void get_spikes(const io::ArchiveReader& a, const std::string& name, SpikeHistory& h) {
  const auto units = a.get<std::int64_t>(name + ".units");
  const auto counts = a.get<std::int64_t>(name + ".counts");
  const auto lengths = a.get<std::uint64_t>(name + ".lengths");
  if (static_cast<int>(lengths.size()) != h.depth() || units.size() != counts.size()) {
    fail("{}: spike history '{}' does not match the network (kernel_steps {})", a.source().string(), name,
         h.depth());
  }
  h.clear();
  std::size_t at = 0;
  for (const auto len : lengths) {
    SpikeSlot& s = h.push();
    for (std::uint64_t e = 0; e < len; ++e, ++at) {
      s.unit.push_back(static_cast<std::uint32_t>(units.at(at)));
      s.count.push_back(static_cast<std::uint16_t>(counts.at(at)));
    }
  }
}

void put_population(io::ArchiveWriter& a, const std::string& name, const PopulationState& p) {
  put_spikes(a, name + ".spikes", p.spikes);
  a.put(name + ".rng", p.generator.positions());
  a.put(name + ".wait", p.generator.waits());
  a.put(name + ".bound", std::vector<double>{p.generator.thinned_bound()});
  a.put(name + ".trace_L", p.trace_L);
  a.put(name + ".trace_s", p.trace_s);
}

void get_population(const io::ArchiveReader& a, const std::string& name, PopulationState& p) {
  get_spikes(a, name + ".spikes", p.spikes);
  p.generator.restore(a.get<std::uint64_t>(name + ".rng"), a.get<double>(name + ".wait"),
                      a.get<double>(name + ".bound").at(0));
  p.trace_L = a.get<double>(name + ".trace_L");
  p.trace_s = a.get<double>(name + ".trace_s");
}

void put_weights(io::ArchiveWriter& a, const Weights& w) {
  for (std::size_t m = 0; m < w.layers.size(); ++m) {
    const LayerWeights& L = w.layers[m];
    const std::string p = "weights." + std::to_string(m);
    a.put(p + ".W", L.W);
    a.put(p + ".b", L.b);
    a.put(p + ".Y", L.Y);
    a.put(p + ".c", L.c);
    a.put(p + ".Y_mask", L.Y_mask);
  }
}

void get_weights(const io::ArchiveReader& a, Weights& w) {
  for (std::size_t m = 0; m < w.layers.size(); ++m) {
    LayerWeights& L = w.layers[m];
    const std::string p = "weights." + std::to_string(m);
    auto take = [&](const std::string& key, std::vector<double>& dst) {
      auto v = a.get<double>(key);
      if (v.size() != dst.size()) {
        fail("{}: array '{}' has {} values, the network needs {}", a.source().string(), key, v.size(), dst.size());
      }
      dst = std::move(v);
    };
    take(p + ".W", L.W);
    take(p + ".b", L.b);
    take(p + ".Y", L.Y);
    take(p + ".c", L.c);
    L.Y_mask = a.get<std::uint8_t>(p + ".Y_mask");
  }
}

void write_checkpoint(const io::RunDir& run, const Network& net, const Position& pos,
                      const JacobianRecorder* jac) {
  io::ArchiveWriter a;
  if (jac != nullptr) jac->save(a, "jacobian_window");
  put_weights(a, net.weights());
  const SimState& s = net.state();
  put_population(a, "input", s.input);
  for (std::size_t m = 0; m < s.pop.size(); ++m) {
    const std::string p = "layer." + std::to_string(m);
    put_population(a, p, s.pop[m]);
    a.put(p + ".soma", s.layer[m].soma);
    a.put(p + ".basal", s.layer[m].basal);
    a.put(p + ".apical", s.layer[m].apical);
    a.put(p + ".rate", s.layer[m].rate);
  }
  a.put("psp_out", s.psp_out);
  a.put("rate_out", s.rate_out);
  a.put("active", pos.active);
  a.put("angles", pos.angles);
  a.put("jacobian", pos.jacobian);
  a.put("unsaturated", pos.unsaturated);
  std::uint64_t loss_bits = 0, secs_bits = 0;
  std::memcpy(&loss_bits, &pos.epoch_loss, sizeof loss_bits);
  std::memcpy(&secs_bits, &pos.epoch_train_seconds, sizeof secs_bits);
  a.set_meta({{"format", kCheckpointFormat},
              {"version", kCheckpointVersion},
              {"epoch", pos.epoch},
              {"index", pos.index},
              {"examples_done", pos.examples_done},
              {"epoch_errors", pos.epoch_errors},
              {"epoch_loss_bits", loss_bits},
              {"epoch_train_seconds_bits", secs_bits},
              {"metrics", metrics_to_json(pos.metrics)}});
  a.write(run.file(kCheckpointFile));
}

Position read_checkpoint(const io::RunDir& run, Network& net, JacobianRecorder* jac) {
  const io::ArchiveReader a = io::ArchiveReader::open(run.file(kCheckpointFile));
  if (jac != nullptr) jac->load(a, "jacobian_window");
  const auto& meta = a.meta();
  if (meta.value("format", "") != kCheckpointFormat || meta.value("version", 0) != kCheckpointVersion) {
    fail("{}: not a version-{} segregated-dendrites checkpoint (format '{}', version {})", a.source().string(),
         kCheckpointVersion, meta.value("format", ""), meta.value("version", 0));
  }
  get_weights(a, net.weights());
  SimState& s = net.state();
  get_population(a, "input", s.input);
  for (std::size_t m = 0; m < s.pop.size(); ++m) {
    const std::string p = "layer." + std::to_string(m);
    get_population(a, p, s.pop[m]);
    s.layer[m].soma = a.get<double>(p + ".soma");
    s.layer[m].basal = a.get<double>(p + ".basal");
    s.layer[m].apical = a.get<double>(p + ".apical");
    s.layer[m].rate = a.get<double>(p + ".rate");
  }
  s.psp_out = a.get<double>("psp_out");
  s.rate_out = a.get<double>("rate_out");
  net.rebuild_drives(s);
  Position pos;
  pos.active = a.get<std::uint8_t>("active");
  // Recorder state; absent in checkpoints written before the recorders existed (then they were off).
  if (a.has("angles")) pos.angles = a.get<double>("angles");
  if (a.has("jacobian")) pos.jacobian = a.get<double>("jacobian");
  pos.unsaturated = a.get<std::uint8_t>("unsaturated");
  pos.epoch = meta.at("epoch").get<int>();
  pos.index = meta.at("index").get<std::int64_t>();
  pos.examples_done = meta.at("examples_done").get<std::int64_t>();
  pos.epoch_errors = meta.at("epoch_errors").get<std::int64_t>();
  const auto loss_bits = meta.at("epoch_loss_bits").get<std::uint64_t>();
  const auto secs_bits = meta.at("epoch_train_seconds_bits").get<std::uint64_t>();
  std::memcpy(&pos.epoch_loss, &loss_bits, sizeof loss_bits);
  std::memcpy(&pos.epoch_train_seconds, &secs_bits, sizeof secs_bits);
  pos.metrics = metrics_from_json(meta.at("metrics"));
  return pos;
}

void check_guard_rails(const Position& pos, const Params& p, const ExperimentSettings& st, int epoch) {
  for (std::size_t m = 0; m < pos.active.size(); ++m) {
    const std::string which = m + 1 == pos.active.size() ? "output layer" : fmt::format("hidden layer {}", m);
    if (pos.active[m] == 0) {
      fail(
          "the {} ({} neurons) was silent for the whole of epoch {}: its mean rate stayed below {} spikes/ms in "
          "every example. Learning cannot recover from this; check the learning rates and the initialisation.",
          which, p.layers[m], epoch, st.silent_rate * p.lambda_max);
    }
    if (pos.unsaturated[m] == 0) {
      fail(
          "the {} ({} neurons) was saturated for the whole of epoch {}: its mean rate stayed above {} spikes/ms "
          "in every example. Check the learning rates and the initialisation.",
          which, p.layers[m], epoch, st.saturated_rate * p.lambda_max);
    }
  }
}

}  // namespace

// ---- testing ---------------------------------------------------------------------------------------------------

void input_image(const data::Dataset& d, std::size_t n, bool column_major, std::vector<double>& out) {
  out.resize(d.image_size());
  d.image(n, out);
  if (!column_major) return;
  // Column by column, as the authors' code flattened MNIST (A.17).
  const std::vector<double> rows(out);
  for (std::size_t r = 0; r < d.rows; ++r) {
    for (std::size_t c = 0; c < d.cols; ++c) out[c * d.rows + r] = rows[r * d.cols + c];
  }
}

TestResult test_network(const Network& net, const data::Dataset& data, std::int64_t count,
                        const std::string& stream, std::uint64_t pass, int threads,
                        const std::vector<std::size_t>* indices, bool column_major_pixels) {
  const std::size_t n =
      indices != nullptr
          ? indices->size()
          : static_cast<std::size_t>(std::min<std::int64_t>(count, static_cast<std::int64_t>(data.size())));
  TestResult result;
  result.examples = static_cast<std::int64_t>(n);
  result.predicted.assign(n, -1);
  const int n_threads = std::min<int>(thread_count(threads), static_cast<int>(std::max<std::size_t>(n, 1)));
  parallel_for(n_threads, [&](int t) {
    SimState state(net.params());
    std::vector<double> pixels;
    for (std::size_t k = static_cast<std::size_t>(t); k < n; k += static_cast<std::size_t>(n_threads)) {
      const std::size_t image = indices != nullptr ? (*indices)[k] : k;
      input_image(data, image, column_major_pixels, pixels);
      net.open_test_generators(state, stream, pass, image);
      result.predicted[k] = net.classify(pixels, state);
    }
  });
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t image = indices != nullptr ? (*indices)[k] : k;
    if (result.predicted[k] != data.labels[image]) ++result.errors;
  }
  return result;
}

std::vector<ImageLosses> test_losses(const Network& net, const data::Dataset& data, std::int64_t count,
                                     std::uint64_t pass, int threads, bool column_major_pixels) {
  const Params& p = net.params();
  if (p.n_layers() < 2) fail("test losses need a hidden layer; model.layers has none");
  const auto n = static_cast<std::size_t>(std::min<std::int64_t>(count, static_cast<std::int64_t>(data.size())));
  std::vector<ImageLosses> out(n);
  const int n_threads = std::min<int>(thread_count(threads), static_cast<int>(std::max<std::size_t>(n, 1)));
  parallel_for(n_threads, [&](int t) {
    SimState state(p);
    std::vector<double> pixels;
    std::vector<LayerAverages> fwd, tgt;
    for (std::size_t k = static_cast<std::size_t>(t); k < n; k += static_cast<std::size_t>(n_threads)) {
      input_image(data, k, column_major_pixels, pixels);
      net.open_test_generators(state, "spikes.loss", pass, k);
      state.reset();
      net.present(state, pixels);
      const int label = data.labels[k];
      net.run_phase(state, p.mode == Mode::spiking ? p.phase_min_steps : 2, label, false, fwd);
      net.run_phase(state, p.mode == Mode::spiking ? p.phase_min_steps : 2, label, true, tgt);
      double l0 = 0, l1 = 0;
      for (std::size_t i = 0; i < fwd[0].plateau.size(); ++i) {
        const double d = tgt[0].plateau[i] - fwd[0].plateau[i];
        l0 += d * d;
      }
      const auto& u_f = fwd.back().soma;
      for (std::size_t i = 0; i < u_f.size(); ++i) {
        const double d = tgt.back().rate[i] - p.lambda_max * sigmoid(u_f[i]);
        l1 += d * d;
      }
      out[k] = {l0, l1};
    }
  });
  return out;
}

std::vector<std::vector<float>> test_activity(const Network& net, const data::Dataset& data, std::int64_t count,
                                              int threads, bool column_major_pixels) {
  const Params& p = net.params();
  const auto n = static_cast<std::size_t>(std::min<std::int64_t>(count, static_cast<std::int64_t>(data.size())));
  std::vector<std::vector<float>> out(p.layers.size());
  for (std::size_t m = 0; m < out.size(); ++m) out[m].assign(n * sz(p.layers[m]), 0.0F);
  const int n_threads = std::min<int>(thread_count(threads), static_cast<int>(std::max<std::size_t>(n, 1)));
  parallel_for(n_threads, [&](int t) {
    SimState state(p);
    std::vector<double> pixels;
    std::vector<std::vector<double>> rates;
    for (std::size_t k = static_cast<std::size_t>(t); k < n; k += static_cast<std::size_t>(n_threads)) {
      input_image(data, k, column_major_pixels, pixels);
      net.open_test_generators(state, "spikes.activity", 0, k);
      net.classify(pixels, state, nullptr, &rates);
      for (std::size_t m = 0; m < rates.size(); ++m) {
        for (std::size_t i = 0; i < rates[m].size(); ++i)
          out[m][k * rates[m].size() + i] = static_cast<float>(rates[m][i]);
      }
    }
  });
  return out;
}

// ---- weights as .npy -------------------------------------------------------------------------------------------

void save_weights(const io::RunDir& run, const std::filesystem::path& folder, const Weights& w) {
  for (std::size_t m = 0; m < w.layers.size(); ++m) {
    const LayerWeights& L = w.layers[m];
    // W_m as the usual (n_post x n_pre) row-major matrix.
    std::vector<double> rows(L.W.size());
    for (int i = 0; i < L.n_post; ++i) {
      for (int j = 0; j < L.n_pre; ++j) rows[sz(i) * sz(L.n_pre) + sz(j)] = L.w(i, j);
    }
    const std::string k = std::to_string(m);
    run.write_npy(folder / ("W_" + k + ".npy"), rows, {sz(L.n_post), sz(L.n_pre)});
    run.write_npy(folder / ("b_" + k + ".npy"), L.b, {sz(L.n_post)});
    if (!L.Y.empty()) {
      const std::size_t n_out = L.Y.size() / sz(L.n_post);
      run.write_npy(folder / ("Y_" + k + ".npy"), L.Y, {sz(L.n_post), n_out});
      run.write_npy(folder / ("c_" + k + ".npy"), L.c, {sz(L.n_post)});
    }
    if (!L.Y_mask.empty()) {
      run.write_npy(folder / ("Y_mask_" + k + ".npy"), L.Y_mask, {sz(L.n_post), L.Y_mask.size() / sz(L.n_post)});
    }
  }
}

Weights load_weights(const std::filesystem::path& folder, const Params& p) {
  Weights w;
  w.layers.resize(p.layers.size());
  for (int m = 0; m < p.n_layers(); ++m) {
    LayerWeights& L = w.layers[sz(m)];
    L.n_post = p.layers[sz(m)];
    L.n_pre = p.n_pre(m);
    const std::string k = std::to_string(m);
    auto load = [&](const std::string& name, std::vector<std::size_t> shape) {
      const auto path = folder / name;
      if (!std::filesystem::exists(path)) fail("{}: missing (expected the weights of layer {})", path.string(), m);
      const io::NpyArray a = io::read_npy(path);
      if (a.shape != shape) {
        fail("{}: shape ({}) does not match the model's ({})", path.string(), fmt::join(a.shape, ", "),
             fmt::join(shape, ", "));
      }
      return a;
    };
    const auto rows = load("W_" + k + ".npy", {sz(L.n_post), sz(L.n_pre)}).as<double>();
    L.W.resize(rows.size());
    for (int i = 0; i < L.n_post; ++i) {
      for (int j = 0; j < L.n_pre; ++j) L.w(i, j) = rows[sz(i) * sz(L.n_pre) + sz(j)];
    }
    L.b = load("b_" + k + ".npy", {sz(L.n_post)}).as<double>();
    if (m + 1 < p.n_layers()) {
      L.Y = load("Y_" + k + ".npy", {sz(L.n_post), sz(p.n_output())}).as<double>();
      L.c = load("c_" + k + ".npy", {sz(L.n_post)}).as<double>();
      if (std::filesystem::exists(folder / ("Y_mask_" + k + ".npy"))) {
        L.Y_mask = load("Y_mask_" + k + ".npy", {sz(L.n_post), sz(p.n_output())}).as<std::uint8_t>();
      }
    }
  }
  return w;
}

// ---- training --------------------------------------------------------------------------------------------------

TrainSummary train(const ExperimentSettings& st, const data::DataSplit& data, io::RunDir& run, bool show_progress,
                   const std::function<void(const EpochMetrics&)>& on_epoch) {
  const Params& p = st.params;
  p.validate();
  if (static_cast<int>(data.train.image_size()) != p.n_input) {
    fail("the training images have {} pixels but the network has {} inputs", data.train.image_size(), p.n_input);
  }
  const auto n_train = static_cast<std::size_t>(
      st.examples_per_epoch <= 0
          ? static_cast<std::int64_t>(data.train.size())
          : std::min<std::int64_t>(st.examples_per_epoch, static_cast<std::int64_t>(data.train.size())));
  const std::int64_t n_test =
      std::min<std::int64_t>(st.test_examples, static_cast<std::int64_t>(data.test.size()));
  const int n_layers = p.n_layers();

  Network net(p, Weights::initialise(p, st.seed), st.seed);
  std::optional<JacobianRecorder> jacobian;
  if (st.record_jacobian) jacobian.emplace(p.layers[0], p.layers[1], 100);
  Position pos;
  const bool resuming = std::filesystem::exists(run.file(kCheckpointFile));
  ProgressOptions popt;
  popt.quiet = !show_progress;
  popt.unit = "examples";
  auto note = [&](const std::string& line) {
    if (show_progress) fmt::print(stderr, "{}\n", line);
  };

  if (resuming) {
    pos = read_checkpoint(run, net, jacobian ? &*jacobian : nullptr);
    note(fmt::format("resuming {} at epoch {}, example {} of {}", run.path().string(), pos.epoch, pos.index,
                     n_train));
  } else {
    save_weights(run, "weights/initial", net.weights());
    if (st.initial_test && n_test > 0) {
      const auto t0 = std::chrono::steady_clock::now();
      const TestResult r =
          test_network(net, data.test, n_test, "spikes.test", 0, st.threads, nullptr, st.column_major_pixels);
      pos.metrics.push_back({0, r.error_percent(), kNaN, kNaN, seconds_since(t0), kNaN});
      note(fmt::format("epoch 0 (initial test): test error {:.2f} % on {} images", r.error_percent(), r.examples));
      write_metrics(run, pos.metrics);
    }
  }
  if (pos.active.empty()) {
    pos.active.assign(sz(n_layers), 0);
    pos.unsaturated.assign(sz(n_layers), 0);
  }

  std::vector<double> pixels;
  TrainSummary summary;
  summary.run_dir = run.path();
  for (; pos.epoch <= st.epochs; ++pos.epoch) {
    const int epoch = pos.epoch;
    const std::vector<std::size_t> order = epoch_order(st.seed, epoch, data.train.size(), st.shuffle);
    Progress progress(fmt::format("epoch {}/{}", epoch, st.epochs), n_train, stderr, popt);
    const auto t_epoch = std::chrono::steady_clock::now();
    const double train_seconds_before = pos.epoch_train_seconds;
    for (; pos.index < static_cast<std::int64_t>(n_train); ++pos.index) {
      const std::size_t image = order[static_cast<std::size_t>(pos.index)];
      input_image(data.train, image, st.column_major_pixels, pixels);
      const auto e = static_cast<std::uint64_t>(epoch);
      const auto k = static_cast<std::uint64_t>(pos.index);
      Stream noise(st.seed, "feedback.noise", e, k);
      ExampleTrace trace;
      LayerWeights output_before, feedback_before;  // the weights of the forward phase (Fig 5S1)
      if (jacobian) {
        output_before = net.weights().layers[1];
        feedback_before.Y = net.weights().layers[0].Y;
        feedback_before.c = net.weights().layers[0].c;
      }
      const ExampleOutcome out = net.train_example(pixels, data.train.labels[image], net.draw_schedule(e, k),
                                                   &noise, st.record_angles || jacobian ? &trace : nullptr);
      if (jacobian) {
        jacobian->add(p, net.derived(), output_before, feedback_before, trace.forward[1].soma);
        if (pos.examples_done == 0) {
          run.write_npy("analysis/JbJg_initial.npy", jacobian->product_of_means(),
                        {sz(p.layers[1]), sz(p.layers[1])});
        }
        pos.jacobian.push_back(jacobian->max_eig_product_of_means());
        pos.jacobian.push_back(jacobian->max_eig_mean_of_products());
      }
      if (st.record_angles) {
        // Fig 7A: both updates of W^0 share the presynaptic factor, so the angle between the weight updates is
        // the angle between the local error E^0 and the backprop error E^0_bp (spec 10.5). NaN if one is zero.
        const auto& e0 = trace.error[0];
        const auto& e_bp = trace.error_bp[0];
        const bool zero = std::all_of(e0.begin(), e0.end(), [](double v) { return v == 0.0; }) ||
                          std::all_of(e_bp.begin(), e_bp.end(), [](double v) { return v == 0.0; });
        pos.angles.push_back(zero ? kNaN : analysis::angle_degrees(e0, e_bp));
      }
      ++pos.examples_done;
      pos.epoch_errors += out.predicted != data.train.labels[image];
      pos.epoch_loss += out.loss;
      for (int m = 0; m < n_layers; ++m) {
        if (out.mean_rate[sz(m)] >= st.silent_rate * p.lambda_max) pos.active[sz(m)] = 1;
        if (out.mean_rate[sz(m)] <= st.saturated_rate * p.lambda_max) pos.unsaturated[sz(m)] = 1;
      }
      std::string status;
      if (st.quick_test_every > 0 && pos.examples_done % st.quick_test_every == 0) {
        // A quick test on random test images (its own streams: training randomness is untouched).
        Stream pick(st.seed, "quick_test", static_cast<std::uint64_t>(pos.examples_done));
        std::vector<std::size_t> idx(data.test.size());
        std::iota(idx.begin(), idx.end(), std::size_t{0});
        const auto q = static_cast<std::size_t>(
            std::min<std::int64_t>(st.quick_test_examples, static_cast<std::int64_t>(idx.size())));
        for (std::size_t i = 0; i < q; ++i)
          std::swap(idx[i], idx[i + static_cast<std::size_t>(pick.below(idx.size() - i))]);
        idx.resize(q);
        const TestResult r =
            test_network(net, data.test, 0, "spikes.quick_test", static_cast<std::uint64_t>(pos.examples_done),
                         st.threads, &idx, st.column_major_pixels);
        if (st.reset_after_test) net.state().reset();
        std::string csv = std::filesystem::exists(run.file("quick_tests.csv"))
                              ? io::read_file(run.file("quick_tests.csv"))
                              : std::string("examples_seen,epoch,quick_test_error_pct\n");
        csv += fmt::format("{},{},{}\n", pos.examples_done, epoch, r.error_percent());
        run.write_text("quick_tests.csv", csv);
        status = fmt::format("quick test {:.0f} %", r.error_percent());
      }
      const bool stop_now = stop_requested.load() || (st.stop_after > 0 && pos.examples_done >= st.stop_after);
      const bool periodic = st.checkpoint_every > 0 && pos.examples_done % st.checkpoint_every == 0;
      if (stop_now || periodic) {
        Position saved = pos;
        ++saved.index;  // this example is done
        saved.epoch_train_seconds = train_seconds_before + seconds_since(t_epoch);
        write_checkpoint(run, net, saved, jacobian ? &*jacobian : nullptr);
      }
      if (stop_now) {
        progress.finish("stopped");
        summary.completed = false;
        summary.epochs_done = epoch - 1;
        summary.metrics = pos.metrics;
        return summary;
      }
      if (status.empty()) {
        status = fmt::format("train error {:.1f} %",
                             100.0 * static_cast<double>(pos.epoch_errors) / static_cast<double>(pos.index + 1));
      }
      progress.update(static_cast<std::uint64_t>(pos.index + 1), status);
    }
    const double train_seconds = train_seconds_before + seconds_since(t_epoch);
    check_guard_rails(pos, p, st, epoch);
    const TestResult r =
        n_test > 0 ? test_network(net, data.test, n_test, "spikes.test", static_cast<std::uint64_t>(epoch),
                                  st.threads, nullptr, st.column_major_pixels)
                   : TestResult{};
    if (st.record_losses) {
      const auto losses = test_losses(net, data.test, n_test, static_cast<std::uint64_t>(epoch), st.threads,
                                      st.column_major_pixels);
      io::CsvTable table({"image", "label", "L0", "L1"});
      for (std::size_t k = 0; k < losses.size(); ++k) {
        table.add_row({io::CsvValue(k), io::CsvValue(static_cast<int>(data.test.labels[k])),
                       io::CsvValue(losses[k].hidden), io::CsvValue(losses[k].output)});
      }
      run.write_text(fmt::format("analysis/losses_epoch_{}.csv", epoch), table.str());
    }
    if (st.reset_after_test) net.state().reset();
    EpochMetrics row;
    row.epoch = epoch;
    row.test_error = n_test > 0 ? r.error_percent() : kNaN;
    row.train_error = 100.0 * static_cast<double>(pos.epoch_errors) / static_cast<double>(n_train);
    row.mean_loss = pos.epoch_loss / static_cast<double>(n_train);
    row.wall_seconds = train_seconds_before + seconds_since(t_epoch);
    row.examples_per_second = static_cast<double>(n_train) / std::max(train_seconds, 1e-9);
    pos.metrics.push_back(row);
    progress.finish(fmt::format("test error {:.2f} %, train error {:.2f} %", row.test_error, row.train_error));
    write_metrics(run, pos.metrics);
    if (on_epoch) on_epoch(row);
    if (st.record_angles) {
      io::CsvTable angles({"example", "angle_deg"});
      const auto first =
          static_cast<std::int64_t>(pos.examples_done) - static_cast<std::int64_t>(pos.angles.size());
      for (std::size_t i = 0; i < pos.angles.size(); ++i) {
        angles.add_row({io::CsvValue(first + static_cast<std::int64_t>(i) + 1), io::CsvValue(pos.angles[i])});
      }
      run.write_text(fmt::format("analysis/angles_epoch_{}.csv", epoch), angles.str());
      pos.angles.clear();
    }
    if (jacobian) {
      io::CsvTable table({"example", "max_eig_product_of_means", "max_eig_mean_of_products"});
      const auto n_rec = static_cast<std::int64_t>(pos.jacobian.size() / 2);
      for (std::int64_t i = 0; i < n_rec; ++i) {
        table.add_row({io::CsvValue(pos.examples_done - n_rec + i + 1),
                       io::CsvValue(pos.jacobian[static_cast<std::size_t>(2 * i)]),
                       io::CsvValue(pos.jacobian[static_cast<std::size_t>(2 * i + 1)])});
      }
      run.write_text(fmt::format("analysis/jacobian_epoch_{}.csv", epoch), table.str());
      run.write_npy(fmt::format("analysis/JbJg_epoch_{}.npy", epoch), jacobian->product_of_means(),
                    {sz(p.layers[1]), sz(p.layers[1])});
      pos.jacobian.clear();
    }
    if (st.save_epoch_weights || epoch == st.epochs) {
      save_weights(run, fmt::format("weights/epoch_{}", epoch), net.weights());
    }
    pos.index = 0;
    pos.epoch_errors = 0;
    pos.epoch_loss = 0;
    pos.epoch_train_seconds = 0;
    std::fill(pos.active.begin(), pos.active.end(), 0);
    std::fill(pos.unsaturated.begin(), pos.unsaturated.end(), 0);
    Position next = pos;
    ++next.epoch;
    write_checkpoint(run, net, next, jacobian ? &*jacobian : nullptr);
  }
  save_weights(run, "weights/final", net.weights());
  if (st.record_activity) {
    // Fig 6C: input pixels and every layer's mean test-phase rates, for t-SNE (python/apical_plots).
    const auto n = static_cast<std::size_t>(n_test);
    std::vector<float> input(n * data.test.image_size());
    std::vector<std::uint8_t> labels(n);
    for (std::size_t k = 0; k < n; ++k) {
      input_image(data.test, k, st.column_major_pixels, pixels);
      for (std::size_t j = 0; j < pixels.size(); ++j) input[k * pixels.size() + j] = static_cast<float>(pixels[j]);
      labels[k] = data.test.labels[k];
    }
    run.write_npy("analysis/activity_input.npy", input, {n, data.test.image_size()});
    run.write_npy("analysis/activity_labels.npy", labels, {n});
    const auto layers = test_activity(net, data.test, n_test, st.threads, st.column_major_pixels);
    for (std::size_t m = 0; m < layers.size(); ++m) {
      run.write_npy(fmt::format("analysis/activity_layer_{}.npy", m), layers[m], {n, sz(p.layers[m])});
    }
  }
  summary.completed = true;
  summary.epochs_done = st.epochs;
  summary.metrics = pos.metrics;
  return summary;
}

}  // namespace apical::segregated
