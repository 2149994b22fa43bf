// SPDX-License-Identifier: Apache-2.0
#pragma once

// Progress reports for long loops (training epochs, evaluation). On a terminal: one live line, redrawn in place
// at most ~5 times per second. Elsewhere (CI logs, files): a plain line at most every `interval_seconds`
// (default 30, or the environment variable APICAL_PROGRESS_INTERVAL) and a final line. Not thread-safe: call
// from the thread that drives the loop.

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace apical {

struct ProgressOptions {
  bool quiet = false;               ///< print nothing at all
  std::optional<bool> terminal;     ///< live line (true) or plain lines (false); default: isatty(out)
  double interval_seconds = -1;     ///< plain lines: seconds between lines; < 0: APICAL_PROGRESS_INTERVAL or 30
  double redraw_seconds = 0.2;      ///< terminal: minimum seconds between redraws
  double rate_window_seconds = 10;  ///< items/s is measured over about this many recent seconds
  std::string unit = "items";       ///< shown as "<unit>/s"
  std::function<double()> clock;    ///< monotonic time in seconds; default std::chrono::steady_clock
};

class Progress {
 public:
  using Options = ProgressOptions;

  /// `total` == 0 means unknown (no percentage or ETA). Throws apical::Error if APICAL_PROGRESS_INTERVAL is set
  /// but is not a non-negative number.
  Progress(std::string label, std::uint64_t total, std::FILE* out = stderr, Options options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Reports that `done` items are complete; `status` (e.g. "test error 12.3 %") is shown after the numbers.
  void update(std::uint64_t done, std::string_view status = {});
  /// Prints the final line (total time, average rate, `summary`). Later calls do nothing.
  void finish(std::string_view summary = {});

  /// Items per second over the recent window (since the start until the window has filled); 0 before any progress.
  double rate() const;
  /// Seconds left at the current rate; nullopt if the total is unknown or nothing has been done yet.
  std::optional<double> eta_seconds() const;
  double elapsed_seconds() const { return now() - start_; }
  /// The progress line as it would be printed now (without "\r" or "\n").
  std::string line() const;

  /// "m:ss" below an hour, "h:mm:ss" above.
  static std::string format_duration(double seconds);
  /// Three significant digits: "1523", "15.2", "0.152".
  static std::string format_rate(double per_second);

 private:
  double now() const { return options_.clock(); }
  void draw_live(double t);
  void print_plain_line(std::string_view text);

  std::string label_;
  std::uint64_t total_;
  std::FILE* out_;
  Options options_;
  bool terminal_ = false;
  double interval_ = 30;
  double start_ = 0;
  double last_draw_ = -1e300;
  double last_plain_ = 0;
  double last_update_ = 0;
  std::uint64_t done_ = 0;
  std::string status_;
  std::size_t drawn_ = 0;  ///< width of the live line currently on screen (0: none)
  bool finished_ = false;
  std::deque<std::pair<double, std::uint64_t>> samples_;  ///< (time, done), oldest first
};

}  // namespace apical
