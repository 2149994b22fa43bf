// SPDX-License-Identifier: Apache-2.0
#include "apical/models/segregated/reproduce.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "apical/analysis/plots.hpp"
#include "apical/analysis/stats.hpp"
#include "apical/core/error.hpp"
#include "apical/core/parallel.hpp"
#include "apical/core/process.hpp"
#include "apical/io/atomic_file.hpp"
#include "apical/io/csv.hpp"
#include "apical/io/npy.hpp"
#include "apical/io/run_dir.hpp"
#include "apical/models/segregated/experiment.hpp"
#include "apical/models/segregated/settings.hpp"

namespace apical::segregated {
namespace {

namespace fs = std::filesystem;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

/// A run to do: a condition trained for a given number of epochs with the options' shortening.
struct Job {
  const Condition* condition = nullptr;
  int epochs = 60;
  config::Config config = config::Config::defaults(schema());
  fs::path folder;
  std::vector<double> test_curve;    ///< test error per epoch (0 = initial)
  std::vector<double> wall_seconds;  ///< wall time per epoch (training and its test)
  std::vector<double> repeats;       ///< repeated final tests
  bool need_repeats = false;         ///< used by a test-error panel (angle-only runs skip the repeated tests)
  std::vector<double> angles;        ///< Fig 7A: per-example angles of all epochs
  std::vector<double> eig_pm,
      eig_mp;  ///< Fig 5S1A: per-example eigenvalue condition (product of means, mean of products)
};

/// Trailing mean over up to `window` values, ignoring NaN (examples whose update was exactly zero).
std::vector<double> sliding_mean_finite(const std::vector<double>& x, std::size_t window) {
  std::vector<double> out(x.size());
  double sum = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i])) {
      sum += x[i];
      ++count;
    }
    if (i >= window && std::isfinite(x[i - window])) {
      sum -= x[i - window];
      --count;
    }
    out[i] = count > 0 ? sum / static_cast<double>(count) : kNaN;
  }
  return out;
}

// The folder of a condition's run: <id>-<epochs>ep-<hash of the resolved config>. A folder written by an earlier
// apical whose config differs only by options added since (they take their defaults) is the same run: it is
// found by loading each candidate's config.yaml with today's schema and comparing the resolved configs, so that
// runs continue across versions.
fs::path run_folder(const fs::path& runs, const std::string& id, int epochs, const config::Config& cfg) {
  const std::string resolved = cfg.to_yaml();
  const std::string prefix = fmt::format("{}-{}ep-", id, epochs);
  const fs::path exact = runs / (prefix + config::short_hash(resolved));
  if (fs::exists(exact) || !fs::is_directory(runs)) return exact;
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(runs)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.size() == prefix.size() + 8 && name.rfind(prefix, 0) == 0)
      candidates.push_back(entry.path());
  }
  std::sort(candidates.begin(), candidates.end());
  for (const auto& folder : candidates) {
    if (config::same_settings(cfg, folder / "config.yaml")) return folder;
  }
  return exact;
}

const Condition& condition(const std::string& id) {
  for (const auto& c : guerguiev_conditions()) {
    if (c.id == id) return c;
  }
  fail("unknown condition '{}'", id);
}

/// Fails with what to do when a reused run lacks an analysis file of its figure (an archived run keeps only the
/// small files: config, meta, metrics and repeated tests).
void require_analysis(const Job& job, const std::string& file, const std::string& panel) {
  const fs::path path = job.folder / "analysis" / file;
  if (fs::exists(path)) return;
  fail(
      "{}: panel {} needs {}, which this finished run does not have (an archived run keeps only config, meta, "
      "metrics and repeated tests); copy the whole run folder here, or move this one away to train it again",
      job.folder.string(), panel, (fs::path("analysis") / file).string());
}

std::string job_key(const std::string& id, int epochs) {
  return id + "@" + std::to_string(epochs);
}

}  // namespace

const std::vector<Condition>& guerguiev_conditions() {
  static const std::vector<Condition> c = {
      {"no_hidden", "784-10", "no_hidden.yaml", {}},
      // The one- and two-hidden-layer runs also record the Fig 5 losses and the Fig 6C activity (spec section 16,
      // runs R2 and R3): the recorders only observe (test Recorders.OnlyObserveTheTraining), so these figures need
      // no training of their own.
      {"one_hidden", "784-500-10", "one_hidden.yaml", {"analysis.record_losses=true"}},
      {"two_hidden", "784-500-100-10", "two_hidden.yaml", {"analysis.record_activity=true"}},
      {"stochastic_plateaus", "stochastic plateaus", "stochastic_plateaus.yaml", {}},
      {"sparse_feedback", "sparse feedback x5", "sparse_feedback.yaml", {}},
      {"sparse_feedback_x1", "sparse feedback x1", "sparse_feedback_x1.yaml", {}},
      {"symmetric_feedback", "symmetric feedback", "symmetric_feedback.yaml", {}},
      {"symmetric_feedback_noise", "symmetric feedback + noise", "symmetric_feedback_noise.yaml", {}},
      {"strong_attenuation", "g_A = 0.05", "strong_attenuation.yaml", {}},
      {"weak_attenuation", "g_A = 0.6", "weak_attenuation.yaml", {}},
      {"angles_spiking_feedback", "spiking feedback", "one_hidden.yaml", {"analysis.record_angles=true"}},
      {"angles_rate_feedback", "rate feedback", "rate_feedback.yaml", {"analysis.record_angles=true"}},
      {"jacobian_one_hidden", "784-500-10", "one_hidden.yaml", {"analysis.record_jacobian=true"}},
      {"backprop", "backprop hidden layer", "backprop.yaml", {}},
  };
  return c;
}

const std::vector<Figure>& guerguiev_figures() {
  // Paper numbers from the eLife text (spec section 11); NaN where they are only in the figure images.
  static const std::vector<Figure> f = {
      {"5",
       "Fig 5B,C: hidden loss L0 vs output loss L1 on the test images",
       60,
       {{"5B", {"one_hidden"}, {kNaN}, {}, false, false, false, true}}},
      {"5s1",
       "Fig 5-figure supplement 1: Theorem 1's Jacobian condition during the first epoch",
       1,
       {{"5S1A", {"jacobian_one_hidden"}, {kNaN}, {}, false, true}}},
      {"6",
       "Fig 6B: depth (no, one and two hidden layers)",
       60,
       {{"6B",
         {"no_hidden", "one_hidden", "two_hidden"},
         {8.3, 4.1, 3.2},
         {{"no_hidden", "one_hidden", 197.11, 2.5e-58},
          {"no_hidden", "two_hidden", 238.26, 1.9e-61},
          {"one_hidden", "two_hidden", 42.99, 2.3e-33}}}}},
      {"6c",
       "Fig 6C: t-SNE of the input, hidden-1 and hidden-2 activity of the two-hidden-layer network",
       60,
       {{"6C", {"two_hidden"}, {kNaN}, {}, false, false, false, false, true}}},
      {"6s1",
       "Fig 6-figure supplement 1B: synchronous vs stochastic plateau times",
       60,
       {{"6S1B", {"one_hidden", "stochastic_plateaus"}, {4.1, kNaN}, {}}}},
      {"7bc",
       "Fig 7B,C: receptive fields of the local rule vs backprop",
       60,
       {{"7C", {"one_hidden", "backprop"}, {4.1, kNaN}, {}, false, false, true}}},
      {"8",
       "Fig 8B, 8D: sparse and symmetric feedback",
       60,
       {{"8B", {"one_hidden", "sparse_feedback"}, {4.1, 3.7}, {{"one_hidden", "sparse_feedback", 16.43, 7.4e-19}}},
        {"8D",
         {"one_hidden", "symmetric_feedback", "symmetric_feedback_noise"},
         {4.1, 3.6, kNaN},
         {{"one_hidden", "symmetric_feedback", 18.46, 4.3e-20},
          {"one_hidden", "symmetric_feedback_noise", -71.54, 1.2e-41},
          {"symmetric_feedback", "symmetric_feedback_noise", -80.35, 1.5e-43}}}}},
      {"8s1",
       "Fig 8-figure supplement 1: sparse feedback with and without amplification (20 epochs)",
       20,
       {{"8S1",
         {"one_hidden", "sparse_feedback", "sparse_feedback_x1"},
         {kNaN, kNaN, kNaN},
         {{"one_hidden", "sparse_feedback", 44.96, 4.4e-34},
          {"one_hidden", "sparse_feedback_x1", -51.30, 3.2e-36},
          {"sparse_feedback", "sparse_feedback_x1", -100.73, 2.8e-47}}}}},
      {"7",
       "Fig 7A: angle between the local and the backprop update of W^0 (10 epochs)",
       10,
       {{"7A", {"angles_spiking_feedback", "angles_rate_feedback"}, {kNaN, kNaN}, {}, true}}},
      {"9",
       "Fig 9B: apical attenuation in the two-hidden-layer network",
       60,
       {{"9B",
         {"two_hidden", "strong_attenuation", "weak_attenuation"},
         {3.2, kNaN, kNaN},
         {{"two_hidden", "strong_attenuation", -4.00, 8.4e-4},
          {"two_hidden", "weak_attenuation", -95.24, 2.4e-46},
          {"strong_attenuation", "weak_attenuation", -92.51, 7.1e-46}}}}},
  };
  return f;
}

std::string guerguiev_figure_list() {
  std::vector<std::string> ids;
  for (const auto& f : guerguiev_figures()) ids.push_back(f.id);
  std::sort(ids.begin(), ids.end());  // 5, 5s1, 6, 6c, ...: the paper's order (figure numbers are one digit)
  return fmt::format("{}", fmt::join(ids, ", "));
}

fs::path reproduce_guerguiev(const ReproduceOptions& opt) {
  // Which figures.
  std::vector<const Figure*> figures;
  for (const auto& f : guerguiev_figures()) {
    if (opt.figures.empty() || std::find(opt.figures.begin(), opt.figures.end(), f.id) != opt.figures.end()) {
      figures.push_back(&f);
    }
  }
  for (const auto& id : opt.figures) {
    const bool known = std::any_of(guerguiev_figures().begin(), guerguiev_figures().end(),
                                   [&](const Figure& f) { return f.id == id; });
    if (!known) fail("--figure {}: not a reproducible figure; valid: {} (or --all)", id, guerguiev_figure_list());
  }
  if (opt.repeats < 2) fail("--repeats {}: the t-tests need at least 2 repeated tests per condition", opt.repeats);
  if (!fs::is_directory(opt.configs)) {
    fail(
        "{}: no such folder; pass --configs DIR with the guerguiev2017 configs (configs/guerguiev2017 in the "
        "apical source tree)",
        opt.configs.string());
  }
  config::check_overrides(opt.overrides, {{"training.epochs", "--epochs N"},
                                          {"training.examples_per_epoch", "--examples-per-epoch N"},
                                          {"test.examples", "--test-examples N"},
                                          {"test.initial", "nothing: every figure needs the initial test"},
                                          {"name", "nothing: the run is named after its condition"}});

  // The runs they need (a condition trained for the same epochs is shared between panels and figures).
  std::map<std::string, Job> jobs;
  std::vector<std::string> order;
  for (const Figure* f : figures) {
    const int epochs = opt.epochs > 0 ? opt.epochs : f->epochs;
    for (const auto& panel : f->panels) {
      for (const auto& id : panel.conditions) {
        const std::string key = job_key(id, epochs);
        if (jobs.count(key) != 0) {
          jobs.at(key).need_repeats =
              jobs.at(key).need_repeats || (!panel.angles && !panel.jacobian && !panel.losses && !panel.tsne);
          continue;
        }
        Job job;
        job.condition = &condition(id);
        job.epochs = epochs;
        job.need_repeats = !panel.angles && !panel.jacobian && !panel.losses && !panel.tsne;
        // The condition's own overrides, the command's --set (on every run), then the shortening.
        std::vector<std::string> overrides = job.condition->overrides;
        overrides.insert(overrides.end(), opt.overrides.begin(), opt.overrides.end());
        overrides.push_back(fmt::format("training.epochs={}", epochs));
        if (opt.examples_per_epoch > 0)
          overrides.push_back(fmt::format("training.examples_per_epoch={}", opt.examples_per_epoch));
        if (opt.test_examples > 0) overrides.push_back(fmt::format("test.examples={}", opt.test_examples));
        overrides.push_back("test.initial=true");
        overrides.push_back(fmt::format("name={}", id));
        const fs::path file = opt.configs / job.condition->config;
        job.config = config::load_run(schema(), file, overrides, fmt::format("condition {}", id));
        job.folder = run_folder(opt.out / "runs", id, epochs, job.config);
        jobs.emplace(key, std::move(job));
        order.push_back(key);
      }
    }
  }

  const int n_jobs = job_workers(opt.jobs, order.size());
  const auto first = settings_from_config(jobs.at(order.front()).config);
  const data::DataSplit data = data::load_dataset(data::parse_dataset_kind(first.dataset), opt.data_dir);
  fs::create_directories(opt.out / "runs");

  std::mutex print_mutex;
  auto say = [&](const std::string& line) {
    if (opt.quiet) return;
    const std::lock_guard<std::mutex> lock(print_mutex);
    fmt::print(stderr, "{}\n", line);
  };
  // A failure stops the other trainings at their next example (they checkpoint); so does a signal.
  const std::size_t started = run_jobs(
      n_jobs, order.size(),
      [&](std::size_t k) {
        Job& job = jobs.at(order[k]);
        ExperimentSettings st = settings_from_config(job.config);
        st.threads = n_jobs > 1 ? 1 : 0;
        const fs::path meta = job.folder / "meta.json";
        bool done = false;
        if (fs::exists(meta)) {
          const auto m = nlohmann::json::parse(io::read_file(meta));
          done = m.value("status", "") == "completed";
        }
        if (!done) {
          const bool resume = fs::exists(job.folder / "checkpoint.apical");
          io::RunDir run =
              resume ? io::RunDir::open(job.folder) : io::RunDir::create(job.condition->id, job.folder, true);
          run.write_text("config.yaml", job.config.to_yaml());
          nlohmann::json m = io::sitting_meta(job.folder, st.seed, "guerguiev2017", resume);
          run.write_meta(m);
          say(fmt::format("[{}/{}] {} {} ({} epochs) in {}", k + 1, order.size(), resume ? "resuming" : "training",
                          job.condition->id, job.epochs, job.folder.string()));
          // With several trainings at once, one line per finished epoch instead of the live progress line.
          auto epoch_line = [&](const EpochMetrics& row) {
            if (n_jobs > 1)
              say(fmt::format("{}: epoch {}/{}: test error {:.2f} %, training error {:.2f} % ({:.0f} s)",
                              job.condition->id, row.epoch, job.epochs, row.test_error, row.train_error,
                              row.wall_seconds));
          };
          const bool completed = io::record_ending(
              run, m, [&] { return train(st, data, run, !opt.quiet && n_jobs == 1, epoch_line).completed; });
          if (!completed) fail("{}: training was stopped; run the command again to continue", job.folder.string());
        } else {
          say(fmt::format("[{}/{}] reusing {}", k + 1, order.size(), job.folder.string()));
        }
        // Per-epoch test errors.
        const io::CsvTable metrics = io::CsvTable::read(job.folder / "metrics.csv");
        for (std::size_t r = 0; r < metrics.rows(); ++r) {
          job.test_curve.push_back(metrics.number(r, "test_error_pct"));
          job.wall_seconds.push_back(metrics.number(r, "wall_s"));
        }
        for (int e = 1; e <= job.epochs && st.record_angles; ++e) {
          const io::CsvTable t =
              io::CsvTable::read(job.folder / "analysis" / fmt::format("angles_epoch_{}.csv", e));
          for (std::size_t r = 0; r < t.rows(); ++r) job.angles.push_back(t.number(r, "angle_deg"));
        }
        for (int e = 1; e <= job.epochs && st.record_jacobian; ++e) {
          const io::CsvTable t =
              io::CsvTable::read(job.folder / "analysis" / fmt::format("jacobian_epoch_{}.csv", e));
          for (std::size_t r = 0; r < t.rows(); ++r) {
            job.eig_pm.push_back(t.number(r, "max_eig_product_of_means"));
            job.eig_mp.push_back(t.number(r, "max_eig_mean_of_products"));
          }
        }
        if (!job.need_repeats) {
          say(fmt::format("done: {} ({} epochs): {} recorded examples", job.condition->id, job.epochs,
                          std::max(job.angles.size(), job.eig_pm.size())));
          return;
        }
        // Repeated tests of the final weights (reused when already there).
        const fs::path rep = job.folder / "tests" / "repeats_final.csv";
        if (fs::exists(rep)) {
          const io::CsvTable t = io::CsvTable::read(rep);
          for (std::size_t r = 0; r < t.rows() && static_cast<int>(r) < opt.repeats; ++r) {
            job.repeats.push_back(t.number(r, "test_error_pct"));
          }
        }
        if (static_cast<int>(job.repeats.size()) < opt.repeats) {
          job.repeats.clear();
          const Network net(st.params, load_weights(job.folder / "weights" / "final", st.params), st.seed);
          io::CsvTable t({"repeat", "test_error_pct"});
          for (int r = 1; r <= opt.repeats; ++r) {
            const TestResult res =
                test_network(net, data.test, st.test_examples, "spikes.repeat", static_cast<std::uint64_t>(r),
                             st.threads, nullptr, st.column_major_pixels);
            job.repeats.push_back(res.error_percent());
            t.add_row({io::CsvValue(r), io::CsvValue(res.error_percent())});
          }
          fs::create_directories(job.folder / "tests");
          t.write(rep);
        }
        const auto s = analysis::summarize(job.repeats);
        say(fmt::format("done: {} ({} epochs): {} repeated tests, mean {:.2f} %", job.condition->id, job.epochs,
                        job.repeats.size(), s.mean));
      },
      stop_requested);
  if (started < order.size()) fail("stopped before every training had started; run the command again to continue");

  // Source-data files and the report.
  std::string report = "# Guerguiev et al. 2017: reproduction report\n\n";
  report += fmt::format("Written by `apical reproduce guerguiev2017` (apical {}, commit {}) on {}.\n\n",
                        APICAL_VERSION, io::build_commit(), io::iso8601_utc_now());
  report +=
      "Each condition is one trained network (seed from its config, as the paper trained one network per "
      "condition); its final weights were tested repeatedly with fresh spike noise. t-tests: two-tailed, "
      "pooled variance (t_38 for 20 vs 20), Bonferroni-corrected over 3 comparisons in three-condition panels, "
      "as the paper did.\n\n";
  if (!opt.overrides.empty()) {
    std::vector<std::string> quoted;
    for (const auto& o : opt.overrides) quoted.push_back(fmt::format("`{}`", o));
    report += fmt::format(
        "**A variant, not the paper's settings**: every run below was trained with {} (`--set`, applied after "
        "each condition's own config), so the paper's numbers beside ours are for orientation only.\n\n",
        fmt::join(quoted, ", "));
  }
  for (const Figure* f : figures) {
    const int epochs = opt.epochs > 0 ? opt.epochs : f->epochs;
    report += fmt::format("## {}\n\n", f->title);
    std::vector<std::string> shortened;
    if (epochs < f->epochs) shortened.push_back(fmt::format("{} epochs instead of {}", epochs, f->epochs));
    if (opt.examples_per_epoch > 0 && opt.examples_per_epoch < 60000) {
      shortened.push_back(fmt::format("{} training examples per epoch instead of 60,000", opt.examples_per_epoch));
    }
    if (opt.test_examples > 0 && opt.test_examples < 10000) {
      shortened.push_back(fmt::format("{} test images instead of 10,000", opt.test_examples));
    }
    if (opt.repeats != 20) shortened.push_back(fmt::format("{} repeated tests instead of 20", opt.repeats));
    report += shortened.empty()
                  ? "Full length, as in the paper.\n\n"
                  : fmt::format("**Shortened runs**: {}. Not comparable with the paper's numbers.\n\n",
                                fmt::join(shortened, "; "));
    for (const auto& panel : f->panels) {
      std::vector<const Job*> cols;
      for (const auto& id : panel.conditions) cols.push_back(&jobs.at(job_key(id, epochs)));
      if (panel.tsne) {
        // Fig 6C: the activity goes beside the report; python/apical_plots embeds it with scikit-learn's t-SNE
        // (perplexity 30, PCA initialisation, seed 0) into Fig_6C.csv and draws it.
        const Job& j = *cols.front();
        require_analysis(j, "activity_layer_0.npy", panel.name);
        const std::vector<std::pair<std::string, std::string>> files = {
            {"activity_labels.npy", "Fig_6C_labels.npy"},
            {"activity_input.npy", "Fig_6C_input.npy"},
            {"activity_layer_0.npy", "Fig_6C_hidden1.npy"},
            {"activity_layer_1.npy", "Fig_6C_hidden2.npy"}};
        for (const auto& [from, to] : files) {
          fs::copy_file(j.folder / "analysis" / from, opt.out / to, fs::copy_options::overwrite_existing);
        }
        report += fmt::format(
            "### Panel {}\n\nThe test images' pixels and the hidden layers' mean test-phase rates "
            "(`Fig_6C_*.npy`, "
            "from `{}`) are embedded in 2-D by t-SNE (scikit-learn, perplexity 30, PCA initialisation, seed 0) in "
            "the plotting step, which writes `Fig_6C.csv` (digit, then x, y for input, hidden 1, hidden 2) and "
            "`Fig_6C.png`. The paper shows the clusters separating better from input to hidden 1 to hidden 2.\n\n",
            panel.name, fs::relative(j.folder, opt.out).string());
        continue;
      }
      if (panel.losses) {
        // Fig 5B: L0 and L1 of every '2' test image after epoch 1, and L0 of a shuffled pairing. Fig 5C: per epoch
        // and digit, Pearson r between L0 and L1, and its mean over 20 shufflings of the pairing
        // (spec 10.2, 15.11).
        const Job& j = *cols.front();
        require_analysis(j, "losses_epoch_1.csv", panel.name);
        auto read_losses = [&](int e) {
          return io::CsvTable::read(j.folder / "analysis" / fmt::format("losses_epoch_{}.csv", e));
        };
        auto shuffled = [](std::vector<double> v, std::uint64_t key) {
          Stream s(1, "fig5.shuffle", key);
          for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<std::size_t>(s.below(i))]);
          return v;
        };
        const io::CsvTable epoch1 = read_losses(1);
        std::vector<double> l0, l1;
        for (std::size_t r = 0; r < epoch1.rows(); ++r) {
          if (epoch1.integer(r, "label") != 2) continue;
          l0.push_back(epoch1.number(r, "L0"));
          l1.push_back(epoch1.number(r, "L1"));
        }
        const std::vector<double> l0_shuffled = shuffled(l0, 0);
        io::CsvTable fig_b({"L0", "L1", "L0_shuffled", "L1_shuffled"});
        for (std::size_t i = 0; i < l0.size(); ++i) {
          fig_b.add_row(
              {io::CsvValue(l0[i]), io::CsvValue(l1[i]), io::CsvValue(l0_shuffled[i]), io::CsvValue(l1[i])});
        }
        fig_b.write(opt.out / "Fig_5B.csv");
        std::vector<std::string> header = {"epoch"};
        for (int d = 0; d < 10; ++d) header.push_back(fmt::format("r_{}", d));
        for (int d = 0; d < 10; ++d) header.push_back(fmt::format("r_{}_shuffled", d));
        io::CsvTable fig_c(header);
        auto safe_r = [](const std::vector<double>& a, const std::vector<double>& b) {
          try {
            return analysis::pearson(a, b);
          } catch (const Error&) {
            return kNaN;
          }
        };
        double r_two_epoch1 = kNaN;
        std::vector<double> mean_r, mean_shuffled;
        for (int e = 1; e <= j.epochs; ++e) {
          const io::CsvTable t = e == 1 ? epoch1 : read_losses(e);
          std::vector<std::vector<double>> a(10), b(10);
          for (std::size_t r = 0; r < t.rows(); ++r) {
            const auto d = static_cast<std::size_t>(t.integer(r, "label"));
            a[d].push_back(t.number(r, "L0"));
            b[d].push_back(t.number(r, "L1"));
          }
          std::vector<io::CsvValue> row = {io::CsvValue(e)};
          std::vector<double> controls;
          double sum_r = 0, sum_c = 0;
          for (int d = 0; d < 10; ++d) {
            const double r = safe_r(a[static_cast<std::size_t>(d)], b[static_cast<std::size_t>(d)]);
            row.emplace_back(r);
            sum_r += r;
            if (e == 1 && d == 2) r_two_epoch1 = r;
            double c = 0;
            for (int k = 0; k < 20; ++k) {
              c += safe_r(
                  shuffled(a[static_cast<std::size_t>(d)], static_cast<std::uint64_t>(e * 1000 + d * 20 + k)),
                  b[static_cast<std::size_t>(d)]);
            }
            controls.push_back(c / 20);
            sum_c += c / 20;
          }
          for (double c : controls) row.emplace_back(c);
          fig_c.add_row(row);
          mean_r.push_back(sum_r / 10);
          mean_shuffled.push_back(sum_c / 10);
        }
        fig_c.write(opt.out / "Fig_5C.csv");
        report += fmt::format(
            "### Panels 5B, 5C\n\nPaper: r = 0.61 between L0 and L1 for the '2' test images after one epoch; per "
            "category mostly 0.2 - 0.6, lower in epoch 1, well above the shuffled control.\n\n"
            "| | apical |\n|---|---|\n| r for '2' images after epoch 1 ({} images) | {:.3f} |\n"
            "| same, shuffled pairing | {:.3f} |\n| mean r over the 10 digits, epoch 1 | {:.3f} (shuffled {:.3f}) "
            "|\n"
            "| mean r over the 10 digits, epoch {} | {:.3f} (shuffled {:.3f}) |\n\n"
            "Files: `Fig_5B.csv` (L0, L1 per '2' image, and with shuffled pairing), `Fig_5C.csv` (r per epoch and "
            "digit, "
            "then the mean over 20 shufflings). Run: `{}`. Losses come from a forward and a target phase of "
            "phases.min_steps steps on each test image, without learning (spec 15.11).\n\n",
            l0.size(), r_two_epoch1, safe_r(l0_shuffled, l1), mean_r.front(), mean_shuffled.front(), j.epochs,
            mean_r.back(), mean_shuffled.back(), fs::relative(j.folder, opt.out).string());
        continue;
      }
      if (panel.fields) {
        // Fig 7C: each local-rule receptive field (row of W^0) against all backprop fields: the largest Pearson r,
        // and the same after shuffling the values of each local field (control), spec 10.6.
        const Job& local = *cols[0];
        const Job& bp = *cols[1];
        const auto w_local = io::read_npy(local.folder / "weights" / "final" / "W_0.npy");
        const auto w_bp = io::read_npy(bp.folder / "weights" / "final" / "W_0.npy");
        const std::size_t n = w_local.shape.at(0), dim = w_local.shape.at(1);
        const auto a = w_local.as<double>();
        const auto b = w_bp.as<double>();
        std::vector<double> shuffled(a);
        for (std::size_t r = 0; r < n; ++r) {
          Stream s(1, "fig7c.shuffle", r);
          for (std::size_t j = dim - 1; j > 0; --j) {
            std::swap(shuffled[r * dim + j], shuffled[r * dim + static_cast<std::size_t>(s.below(j + 1))]);
          }
        }
        const auto regular = analysis::max_row_correlations(a, n, b, w_bp.shape.at(0), dim);
        const auto control = analysis::max_row_correlations(shuffled, n, b, w_bp.shape.at(0), dim);
        io::CsvTable table({"regular", "shuffled"});
        for (std::size_t r = 0; r < n; ++r) table.add_row({io::CsvValue(regular[r]), io::CsvValue(control[r])});
        table.write(opt.out / "Fig_7C.csv");
        const auto sr = analysis::summarize(regular), sc = analysis::summarize(control);
        const analysis::TTest t = analysis::t_test(regular, control);
        report += fmt::format(
            "### Panel {}\n\nPaper: the local-rule fields' maximum correlations with the backprop fields are "
            "higher than "
            "the shuffled control (no statistic given).\n\n| | mean max r | SD | min - max |\n|---|---|---|---|\n"
            "| regular | {:.3f} | {:.3f} | {:.3f} - {:.3f} |\n| shuffled | {:.3f} | {:.3f} | {:.3f} - {:.3f} |\n\n"
            "Regular vs shuffled: t = {:.1f} (df {}), p = {:.2g}.\n\n",
            panel.name, sr.mean, sr.sd, sr.min, sr.max, sc.mean, sc.sd, sc.min, sc.max, t.t, t.df, t.p);
        report += fmt::format("| network | test error: mean of {} tests | run |\n|---|---|---|\n", opt.repeats);
        for (const Job* j : cols) {
          report += fmt::format("| {} | {:.2f} % | `{}` |\n", j->condition->label,
                                analysis::summarize(j->repeats).mean, fs::relative(j->folder, opt.out).string());
        }
        report +=
            "\nFile: `Fig_7C.csv` (one row per local receptive field). The fields themselves (Fig 7B) are "
            "`weights/final/W_0.npy` of both runs (rows are fields, columns are pixels, row-major).\n\n";
        continue;
      }
      if (panel.jacobian) {
        // Fig_5S1A.csv: the condition per training example; Fig_5S1B_*.npy: J-bar_beta J-bar_gamma before and
        // after.
        const Job* j = cols.front();
        io::CsvTable table({"example", "max_eig_product_of_means", "max_eig_mean_of_products"});
        for (std::size_t r = 0; r < j->eig_pm.size(); ++r) {
          table.add_row({io::CsvValue(r + 1), io::CsvValue(j->eig_pm[r]), io::CsvValue(j->eig_mp[r])});
        }
        table.write(opt.out / fmt::format("Fig_{}.csv", panel.name));
        fs::copy_file(j->folder / "analysis" / "JbJg_initial.npy", opt.out / "Fig_5S1B_initial.npy",
                      fs::copy_options::overwrite_existing);
        fs::copy_file(j->folder / "analysis" / fmt::format("JbJg_epoch_{}.npy", j->epochs),
                      opt.out / fmt::format("Fig_5S1B_epoch_{}.npy", j->epochs),
                      fs::copy_options::overwrite_existing);
        auto first_below_one = [](const std::vector<double>& v) -> std::string {
          for (std::size_t i = 0; i < v.size(); ++i) {
            if (v[i] < 1.0) return fmt::format("example {}", i + 1);
          }
          return "never";
        };
        auto at = [](const std::vector<double>& v, std::size_t i) {
          return v.empty() ? kNaN : v[std::min(i, v.size() - 1)];
        };
        report += fmt::format(
            "### Panel {}\n\nPaper: the maximum eigenvalue of (I - J_beta J_gamma)^T (I - J_beta J_gamma) \"drops "
            "below "
            "one as learning progresses\" during the first epoch (no numbers in the text).\n\n"
            "| statistic (window of 100 examples) | after 100 examples | at the end | first below 1 "
            "|\n|---|---|---|---|\n"
            "| product of mean Jacobians (paper caption) | {:.3f} | {:.3f} | {} |\n"
            "| mean of Jacobian products (authors' code) | {:.3f} | {:.3f} | {} |\n\n"
            "Files: `Fig_{}.csv`, `Fig_5S1B_initial.npy` and `Fig_5S1B_epoch_{}.npy` (J-bar_beta J-bar_gamma, 10 "
            "x 10). "
            "Run: `{}`.\n\n",
            panel.name, at(j->eig_pm, 99), at(j->eig_pm, j->eig_pm.size()), first_below_one(j->eig_pm),
            at(j->eig_mp, 99), at(j->eig_mp, j->eig_mp.size()), first_below_one(j->eig_mp), panel.name, j->epochs,
            fs::relative(j->folder, opt.out).string());
        continue;
      }
      if (panel.angles) {
        // Fig_7A.csv: the angle smoothed over a sliding window of 100 examples, per condition.
        std::vector<std::string> header = {"example"};
        std::vector<std::vector<double>> smooth;
        for (const Job* j : cols) {
          header.push_back(j->condition->label);
          smooth.push_back(sliding_mean_finite(j->angles, 100));
        }
        io::CsvTable table(header);
        std::size_t n_rows = 0;
        for (const auto& v : smooth) n_rows = std::max(n_rows, v.size());
        for (std::size_t r = 0; r < n_rows; ++r) {
          std::vector<io::CsvValue> row = {io::CsvValue(r + 1)};
          for (const auto& v : smooth) row.emplace_back(r < v.size() ? v[r] : kNaN);
          table.add_row(row);
        }
        table.write(opt.out / fmt::format("Fig_{}.csv", panel.name));
        report += fmt::format(
            "### Panel {}\n\nPaper: spiking feedback falls from about 90 to about 65 degrees, then rises "
            "to about 70; rate feedback falls to about 35, then rises to about 40.\n\n"
            "| condition | first 100 examples | minimum (100-example mean) | last 100 examples | "
            "examples | run |\n|---|---|---|---|---|---|\n",
            panel.name);
        for (std::size_t c = 0; c < cols.size(); ++c) {
          const auto& v = smooth[c];
          double lo = kNaN;
          for (std::size_t i = std::min<std::size_t>(99, v.size()); i < v.size(); ++i) {
            if (std::isfinite(v[i]) && !(v[i] >= lo)) lo = v[i];
          }
          report +=
              fmt::format("| {} | {:.1f} deg | {:.1f} deg | {:.1f} deg | {} | `{}` |\n", cols[c]->condition->label,
                          v.empty() ? kNaN : v[std::min<std::size_t>(99, v.size() - 1)], lo,
                          v.empty() ? kNaN : v.back(), v.size(), fs::relative(cols[c]->folder, opt.out).string());
        }
        report += fmt::format("\nFile: `Fig_{}.csv` (angle in degrees, trailing mean over 100 examples).\n\n",
                              panel.name);
        continue;
      }
      // Fig_<panel>_errors.csv: test error per epoch; Fig_<panel>_final_errors.csv: the repeated tests.
      std::vector<std::string> header = {"epoch"};
      for (const Job* j : cols) header.push_back(j->condition->label);
      io::CsvTable curves(header);
      std::size_t n_rows = 0;
      for (const Job* j : cols) n_rows = std::max(n_rows, j->test_curve.size());
      for (std::size_t r = 0; r < n_rows; ++r) {
        std::vector<io::CsvValue> row = {io::CsvValue(r)};
        for (const Job* j : cols) row.emplace_back(r < j->test_curve.size() ? j->test_curve[r] : kNaN);
        curves.add_row(row);
      }
      curves.write(opt.out / fmt::format("Fig_{}_errors.csv", panel.name));
      header[0] = "repeat";
      io::CsvTable finals(header);
      for (int r = 0; r < opt.repeats; ++r) {
        std::vector<io::CsvValue> row = {io::CsvValue(r + 1)};
        for (const Job* j : cols) row.emplace_back(j->repeats[static_cast<std::size_t>(r)]);
        finals.add_row(row);
      }
      finals.write(opt.out / fmt::format("Fig_{}_final_errors.csv", panel.name));

      report += fmt::format(
          "### Panel {}\n\n| condition | paper | apical: mean of {} tests | min - max | SD | run |\n"
          "|---|---|---|---|---|---|\n",
          panel.name, opt.repeats);
      for (std::size_t c = 0; c < cols.size(); ++c) {
        const auto s = analysis::summarize(cols[c]->repeats);
        const double paper = panel.paper_error[c];
        report +=
            fmt::format("| {} | {} | {:.2f} % | {:.2f} - {:.2f} % | {:.3f} | `{}` |\n", cols[c]->condition->label,
                        std::isfinite(paper) ? fmt::format("{:.1f} %", paper) : "not in the text", s.mean, s.min,
                        s.max, s.sd, fs::relative(cols[c]->folder, opt.out).string());
      }
      report += "\n";
      if (!panel.tests.empty()) {
        const std::size_t comparisons = panel.conditions.size() >= 3 ? 3 : 1;
        report += "| comparison | paper t_38 | paper p | apical t | apical p |\n|---|---|---|---|---|\n";
        for (const auto& t : panel.tests) {
          const auto& a = jobs.at(job_key(t.a, epochs));
          const auto& b = jobs.at(job_key(t.b, epochs));
          std::string ours_t = "n/a", ours_p = "n/a";
          try {
            const analysis::TTest r = analysis::t_test(a.repeats, b.repeats);
            ours_t = fmt::format("{:.2f} (df {})", r.t, r.df);
            ours_p = fmt::format("{:.2g}", analysis::bonferroni(r.p, comparisons));
          } catch (const Error&) {
            ours_t = "undefined (no variance)";
          }
          report += fmt::format("| {} vs {} | {:.2f} | {:.2g} | {} | {} |\n", a.condition->label,
                                b.condition->label, t.t, t.p, ours_t, ours_p);
        }
        report += "\n";
      }
      report += fmt::format(
          "Files: `Fig_{0}_errors.csv` (test error per epoch, epoch 0 = before training), "
          "`Fig_{0}_final_errors.csv` (the repeated tests).\n\n",
          panel.name);
    }
  }
  // Plots, through the python/apical_plots package and Debian's matplotlib when they are there.
  const std::string plots = analysis::draw_plots("guerguiev2017", opt.out);
  say(plots);
  report += "## Plots\n\n" + plots + "\n";
  report +=
      "\n## Runs\n\n| condition | epochs | folder | trained by commit(s) | training wall time "
      "|\n|---|---|---|---|---|\n";
  for (const auto& key : order) {
    const Job& job = jobs.at(key);
    const std::string commits = io::commits_cell(nlohmann::json::parse(io::read_file(job.folder / "meta.json")));
    double seconds = 0;
    for (double w : job.wall_seconds) seconds += std::isfinite(w) ? w : 0.0;
    report += fmt::format("| {} | {} | `{}` | {} | {:.1f} min |\n", job.condition->id, job.epochs,
                          fs::relative(job.folder, opt.out).string(), commits, seconds / 60.0);
  }
  const fs::path report_path = opt.out / "report.md";
  io::write_file_atomic(report_path, report);
  return report_path;
}

}  // namespace apical::segregated
