// SPDX-License-Identifier: Apache-2.0
#include "apical/models/microcircuit/sweep_experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>

#include "apical/core/error.hpp"
#include "apical/core/progress.hpp"
#include "apical/core/rng.hpp"
#include "apical/io/archive.hpp"
#include "apical/io/csv.hpp"
#include "apical/io/npy.hpp"
#include "apical/io/run_dir.hpp"

namespace apical::microcircuit {

std::atomic<bool> sweep_stop_requested{false};

namespace {

constexpr const char* kCheckpointFile = "checkpoint.apical";
constexpr const char* kCheckpointFormat = "apical.microcircuit.sweep.checkpoint";
constexpr int kCheckpointVersion = 1;
constexpr std::size_t kEvalChunk = 1000;
constexpr std::size_t kApicalImages = 1000;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::uint64_t bits(double v) {
  std::uint64_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
double from_bits(std::uint64_t b) {
  double v = 0;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

/// The training order of an epoch over the first n images: Fisher-Yates from the stream ("order", epoch).
std::vector<std::size_t> epoch_order(std::uint64_t seed, int epoch, std::size_t n, bool shuffle) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (!shuffle || n < 2) return order;
  Stream s(seed, "order", static_cast<std::uint64_t>(epoch));
  for (std::size_t i = n - 1; i > 0; --i) std::swap(order[i], order[static_cast<std::size_t>(s.below(i + 1))]);
  return order;
}

/// Every weight array of a rule with its file / archive name, e.g. ("W_up_1", matrix).
struct Named {
  std::string name;
  Matrix* m = nullptr;
  Vector* v = nullptr;
};

std::vector<Named> named_arrays(const SweepParams& p, SweepWeights& w) {
  std::vector<Named> out;
  const bool mc = p.rule == Rule::microcircuit;
  for (int k = 1; k <= p.n_top(); ++k) {
    const auto K = sz(k);
    out.push_back({fmt::format("W_up_{}", k), &w.w.up[K], nullptr});
    out.push_back({fmt::format("b_up_{}", k), nullptr, &w.w.up_bias[K]});
    if (!p.is_hidden(k)) continue;
    if (mc || p.rule == Rule::fa) out.push_back({fmt::format("W_down_{}", k), &w.w.down[K], nullptr});
    if (mc) {
      out.push_back({fmt::format("W_ip_{}", k), &w.w.ip[K], nullptr});
      out.push_back({fmt::format("b_ip_{}", k), nullptr, &w.w.ip_bias[K]});
      out.push_back({fmt::format("W_pi_{}", k), &w.w.pi[K], nullptr});
    }
    if (p.rule == Rule::dfa) out.push_back({fmt::format("D_{}", k), &w.direct[K], nullptr});
  }
  return out;
}

std::span<const double> values(const Named& a) {
  if (a.m != nullptr) return {a.m->data(), static_cast<std::size_t>(a.m->size())};
  return {a.v->data(), static_cast<std::size_t>(a.v->size())};
}

std::vector<std::size_t> shape(const Named& a) {
  if (a.m != nullptr) return {static_cast<std::size_t>(a.m->rows()), static_cast<std::size_t>(a.m->cols())};
  return {static_cast<std::size_t>(a.v->size())};
}

void fill(const Named& a, const std::vector<double>& data, const std::vector<std::size_t>& stored,
          const std::string& source) {
  if (stored != shape(a)) {
    fail("{}: array {} has shape [{}] but model.layers needs [{}]", source, a.name, fmt::join(stored, ", "),
         fmt::join(shape(a), ", "));
  }
  double* dst = a.m != nullptr ? a.m->data() : a.v->data();
  std::copy(data.begin(), data.end(), dst);
}

// ---- metrics ---------------------------------------------------------------------------------------------------

void write_metrics(const io::RunDir& run, const std::vector<SweepMetrics>& rows) {
  std::vector<std::vector<double>> values;
  for (const auto& r : rows) {
    values.push_back({static_cast<double>(r.epoch), r.train_error, r.train_loss, r.validation_error, r.test_error,
                      r.apical, r.wall_seconds, r.examples_per_second});
  }
  run.write_metrics({"epoch", "train_error_pct", "train_loss", "validation_error_pct", "test_error_pct",
                     "apical_rms", "wall_s", "examples_per_s"},
                    values);
}

nlohmann::json metrics_to_json(const std::vector<SweepMetrics>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    out.push_back({r.epoch, bits(r.train_error), bits(r.train_loss), bits(r.validation_error), bits(r.test_error),
                   bits(r.apical), bits(r.wall_seconds), bits(r.examples_per_second)});
  }
  return out;
}

std::vector<SweepMetrics> metrics_from_json(const nlohmann::json& j) {
  std::vector<SweepMetrics> rows;
  for (const auto& r : j) {
    auto at = [&](std::size_t i) { return from_bits(r.at(i).get<std::uint64_t>()); };
    rows.push_back({r.at(0).get<int>(), at(1), at(2), at(3), at(4), at(5), at(6), at(7)});
  }
  return rows;
}

// ---- checkpoints -----------------------------------------------------------------------------------------------

struct Position {
  int epoch = 1;                   ///< epoch in progress (1-based)
  std::int64_t index = 0;          ///< examples of this epoch already done
  std::int64_t examples_done = 0;  ///< over the whole run
  std::int64_t epoch_errors = 0;
  double epoch_loss = 0;     ///< sum over the epoch's examples
  double epoch_seconds = 0;  ///< training time of this epoch before the last checkpoint
  std::vector<SweepMetrics> metrics;
};

void write_checkpoint(const io::RunDir& run, const SweepParams& p, SweepWeights& w, const Position& pos) {
  io::ArchiveWriter a;
  for (const Named& n : named_arrays(p, w)) a.put(n.name, values(n), shape(n));
  a.set_meta({{"format", kCheckpointFormat},
              {"version", kCheckpointVersion},
              {"rule", std::string(rule_name(p.rule))},
              {"epoch", pos.epoch},
              {"index", pos.index},
              {"examples_done", pos.examples_done},
              {"epoch_errors", pos.epoch_errors},
              {"epoch_loss", bits(pos.epoch_loss)},
              {"epoch_seconds", bits(pos.epoch_seconds)},
              {"metrics", metrics_to_json(pos.metrics)}});
  a.write(run.file(kCheckpointFile));
}

Position read_checkpoint(const io::RunDir& run, const SweepParams& p, SweepWeights& w) {
  const io::ArchiveReader a = io::ArchiveReader::open(run.file(kCheckpointFile));
  const nlohmann::json& m = a.meta();
  if (m.value("format", "") != kCheckpointFormat || m.value("version", 0) != kCheckpointVersion) {
    fail("{}: not a version-{} two-sweep microcircuit / baseline checkpoint (format '{}')", a.source().string(),
         kCheckpointVersion, m.value("format", ""));
  }
  if (m.value("rule", "") != rule_name(p.rule)) {
    fail("{}: the checkpoint was written by rule '{}', but the config says '{}'", a.source().string(),
         m.value("rule", ""), rule_name(p.rule));
  }
  for (const Named& n : named_arrays(p, w)) fill(n, a.get<double>(n.name), a.shape(n.name), a.source().string());
  Position pos;
  pos.epoch = m.at("epoch").get<int>();
  pos.index = m.at("index").get<std::int64_t>();
  pos.examples_done = m.at("examples_done").get<std::int64_t>();
  pos.epoch_errors = m.at("epoch_errors").get<std::int64_t>();
  pos.epoch_loss = from_bits(m.at("epoch_loss").get<std::uint64_t>());
  pos.epoch_seconds = from_bits(m.at("epoch_seconds").get<std::uint64_t>());
  pos.metrics = metrics_from_json(m.at("metrics"));
  return pos;
}

/// Root-mean-square apical potential of the hidden pyramids without nudging (the paper's "apical compartments
/// remain approximately silent when output nudging is turned off", spec 8.1), over images [begin, end).
double apical_rms(const SweepParams& p, const SweepWeights& w, const data::Dataset& d, std::size_t begin,
                  std::size_t end) {
  if (p.rule != Rule::microcircuit || p.n_top() < 2 || end <= begin) return kNaN;
  double sum = 0;
  double count = 0;
  std::vector<int> labels;
  for (std::size_t i = begin; i < end; i += kEvalChunk) {
    const Matrix x = image_batch(d, nullptr, i, std::min(kEvalChunk, end - i), labels);
    SweepState s = upward(p, w, x);
    downward(p, w, s, nullptr);
    for (int k = 1; k < p.n_top(); ++k) {
      sum += s.v_A[sz(k)].squaredNorm();
      count += static_cast<double>(s.v_A[sz(k)].size());
    }
  }
  return std::sqrt(sum / count);
}

}  // namespace

Matrix image_batch(const data::Dataset& d, const std::vector<std::size_t>* order, std::size_t begin, std::size_t n,
                   std::vector<int>& labels) {
  const std::size_t m = d.image_size();
  Matrix x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(m));
  labels.resize(n);
  for (std::size_t b = 0; b < n; ++b) {
    const std::size_t image = order != nullptr ? (*order)[begin + b] : begin + b;
    const auto raw = d.raw_image(image);
    double* row = x.data() + b * m;
    for (std::size_t j = 0; j < m; ++j) row[j] = static_cast<double>(raw[j]) / 255.0;
    labels[b] = d.labels[image];
  }
  return x;
}

double classification_error(const SweepParams& p, const SweepWeights& w, const data::Dataset& d, std::size_t begin,
                            std::size_t end) {
  if (end <= begin) return kNaN;
  std::int64_t errors = 0;
  std::vector<int> labels;
  for (std::size_t i = begin; i < end; i += kEvalChunk) {
    const Matrix x = image_batch(d, nullptr, i, std::min(kEvalChunk, end - i), labels);
    const std::vector<int> predicted = argmax_rows(predict_rates(p, w, x));
    for (std::size_t b = 0; b < labels.size(); ++b) errors += predicted[b] != labels[b] ? 1 : 0;
  }
  return 100.0 * static_cast<double>(errors) / static_cast<double>(end - begin);
}

void save_sweep_weights(const io::RunDir& run, const std::filesystem::path& folder, const SweepParams& p,
                        const SweepWeights& w) {
  SweepWeights copy = w;  // named_arrays hands out mutable pointers; a copy keeps `w` const (once per epoch)
  for (const Named& n : named_arrays(p, copy)) run.write_npy(folder / (n.name + ".npy"), values(n), shape(n));
}

SweepWeights load_sweep_weights(const std::filesystem::path& folder, const SweepParams& p, std::uint64_t seed) {
  SweepWeights w = SweepWeights::initial(p, seed);
  for (const Named& n : named_arrays(p, w)) {
    const auto file = folder / (n.name + ".npy");
    if (!std::filesystem::exists(file))
      fail("{}: missing (weights saved by another rule or model?)", file.string());
    const io::NpyArray a = io::read_npy(file);
    fill(n, a.as<double>(), a.shape, file.string());
  }
  return w;
}

SweepSummary train_sweep(const SweepSettings& st, const data::DataSplit& data, io::RunDir& run, bool show_progress,
                         const std::function<void(const SweepMetrics&)>& on_epoch) {
  const SweepParams& p = st.params;
  p.validate();
  if (static_cast<int>(data.train.image_size()) != p.size(0)) {
    fail("the training images have {} pixels but model.layers[0] = {}", data.train.image_size(), p.size(0));
  }
  const std::size_t n_file = data.train.size();
  const auto n_train = static_cast<std::size_t>(st.train_examples);
  const auto n_val = static_cast<std::size_t>(st.validation_examples);
  if (n_train + n_val > n_file) {
    fail("training.train_examples ({}) + training.validation_examples ({}) exceed the {} images of {}", n_train,
         n_val, n_file, data.train.name);
  }
  if (n_train == 0) fail("training.train_examples must be at least 1");
  const std::size_t val_begin = n_file - n_val;
  const std::size_t n_epoch =
      st.examples_per_epoch > 0 ? std::min(n_train, static_cast<std::size_t>(st.examples_per_epoch)) : n_train;
  const std::size_t n_test = std::min(static_cast<std::size_t>(st.test_examples), data.test.size());
  const std::size_t n_apical = std::min(kApicalImages, n_val);

  SweepWeights w = SweepWeights::initial(p, st.seed);
  Position pos;
  auto note = [&](const std::string& line) {
    if (show_progress) fmt::print(stderr, "{}\n", line);
  };
  auto evaluate = [&](SweepMetrics& row) {
    row.validation_error = classification_error(p, w, data.train, val_begin, n_file);
    row.test_error = classification_error(p, w, data.test, 0, n_test);
    row.apical = apical_rms(p, w, data.train, val_begin, val_begin + n_apical);
  };
  if (std::filesystem::exists(run.file(kCheckpointFile))) {
    pos = read_checkpoint(run, p, w);
    note(fmt::format("resuming {} at epoch {}, example {} of {}", run.path().string(), pos.epoch, pos.index,
                     n_epoch));
  } else {
    save_sweep_weights(run, "weights/initial", p, w);
    const auto t0 = std::chrono::steady_clock::now();
    SweepMetrics row{0, kNaN, kNaN, 0, 0, 0, 0, kNaN};
    evaluate(row);
    row.wall_seconds = seconds_since(t0);
    pos.metrics.push_back(row);
    write_metrics(run, pos.metrics);
    note(fmt::format("epoch 0: validation error {:.2f} %, test error {:.2f} %", row.validation_error,
                     row.test_error));
  }

  ProgressOptions popt;
  popt.quiet = !show_progress;
  popt.unit = "examples";
  SweepSummary summary;
  summary.run_dir = run.path();
  const auto batch = static_cast<std::size_t>(st.batch_size);
  std::vector<int> labels;
  SweepTrainer trainer(p);
  for (; pos.epoch <= st.epochs; ++pos.epoch) {
    const int epoch = pos.epoch;
    const std::vector<std::size_t> order = epoch_order(st.seed, epoch, n_train, st.shuffle);
    Progress progress(fmt::format("epoch {}/{}", epoch, st.epochs), n_epoch, stderr, popt);
    auto t_start = std::chrono::steady_clock::now();
    std::int64_t batches = 0;
    while (static_cast<std::size_t>(pos.index) < n_epoch) {
      const auto begin = static_cast<std::size_t>(pos.index);
      const std::size_t n = std::min(batch, n_epoch - begin);
      const Matrix x = image_batch(data.train, &order, begin, n, labels);
      const SweepState& s = trainer.train_batch(w, x, labels);
      const std::vector<int> predicted = argmax_rows(s.r_out_up);
      for (std::size_t b = 0; b < n; ++b) pos.epoch_errors += predicted[b] != labels[b] ? 1 : 0;
      pos.epoch_loss += 0.5 * (s.r_out_up - target_rates(p, labels)).squaredNorm();
      pos.index += static_cast<std::int64_t>(n);
      pos.examples_done += static_cast<std::int64_t>(n);
      if (++batches % 100 == 0) check_finite(w);
      progress.update(static_cast<std::uint64_t>(pos.index),
                      fmt::format("training error {:.2f} %",
                                  100.0 * static_cast<double>(pos.epoch_errors) / static_cast<double>(pos.index)));
      const bool stop_now =
          sweep_stop_requested.load() || (st.stop_after > 0 && pos.examples_done >= st.stop_after);
      const bool periodic =
          st.checkpoint_every > 0 && pos.examples_done % st.checkpoint_every < static_cast<std::int64_t>(n);
      if ((stop_now || periodic) && static_cast<std::size_t>(pos.index) < n_epoch) {
        Position saved = pos;
        saved.epoch_seconds += seconds_since(t_start);
        pos.epoch_seconds = saved.epoch_seconds;
        t_start = std::chrono::steady_clock::now();
        check_finite(w);
        write_checkpoint(run, p, w, saved);
        if (stop_now) {
          progress.finish("stopped");
          summary.epochs_done = epoch - 1;
          summary.metrics = pos.metrics;
          return summary;
        }
      }
    }
    check_finite(w);
    const double train_seconds = pos.epoch_seconds + seconds_since(t_start);
    progress.finish();
    SweepMetrics row;
    row.epoch = epoch;
    row.train_error = 100.0 * static_cast<double>(pos.epoch_errors) / static_cast<double>(n_epoch);
    row.train_loss = pos.epoch_loss / static_cast<double>(n_epoch);
    evaluate(row);
    row.wall_seconds = train_seconds;
    row.examples_per_second = static_cast<double>(n_epoch) / train_seconds;
    pos.metrics.push_back(row);
    write_metrics(run, pos.metrics);
    if (st.save_epoch_weights) save_sweep_weights(run, fmt::format("weights/epoch_{}", epoch), p, w);
    note(
        fmt::format("epoch {}: training error {:.2f} %, validation error {:.2f} %, test error {:.2f} % ({:.1f} s)",
                    epoch, row.train_error, row.validation_error, row.test_error, train_seconds));
    Position next;
    next.epoch = epoch + 1;
    next.examples_done = pos.examples_done;
    next.metrics = pos.metrics;
    write_checkpoint(run, p, w, next);
    if (on_epoch) on_epoch(row);
    pos = next;
    pos.epoch = epoch;  // the loop increments it
    const bool stop_now = sweep_stop_requested.load() || (st.stop_after > 0 && pos.examples_done >= st.stop_after);
    if (stop_now && epoch < st.epochs) {
      summary.epochs_done = epoch;
      summary.metrics = pos.metrics;
      return summary;
    }
  }
  save_sweep_weights(run, "weights/final", p, w);
  summary.completed = true;
  summary.epochs_done = st.epochs;
  summary.metrics = pos.metrics;
  return summary;
}

}  // namespace apical::microcircuit
