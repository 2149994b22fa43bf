// SPDX-License-Identifier: Apache-2.0
#include "apical/core/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "apical/core/error.hpp"

namespace apical {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double interval_from_env(double fallback) {
  const char* text = std::getenv("APICAL_PROGRESS_INTERVAL");
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v) || v < 0) {
    fail("APICAL_PROGRESS_INTERVAL='{}' is not a number of seconds (expected e.g. 30 or 0.5)", text);
  }
  return v;
}

/// Width of the terminal behind `out`, or 0 if unknown.
std::size_t terminal_width(std::FILE* out) {
  winsize ws{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 0;
}

}  // namespace

Progress::Progress(std::string label, std::uint64_t total, std::FILE* out, Options options)
    : label_(std::move(label)), total_(total), out_(out), options_(std::move(options)) {
  if (!options_.clock) options_.clock = steady_seconds;
  if (out_ == nullptr) options_.quiet = true;
  terminal_ = options_.terminal ? *options_.terminal : (out_ != nullptr && ::isatty(::fileno(out_)) == 1);
  interval_ = options_.interval_seconds >= 0 ? options_.interval_seconds : interval_from_env(30);
  start_ = now();
  last_plain_ = start_;
  last_update_ = start_;
  samples_.emplace_back(start_, 0);
}

Progress::~Progress() {
  if (!finished_ && !options_.quiet && terminal_ && drawn_ > 0) {
    std::fputc('\n', out_);  // leave the partial line visible and start later output on a fresh line
    std::fflush(out_);
  }
}

void Progress::update(std::uint64_t done, std::string_view status) {
  if (finished_) return;
  const double t = now();
  done_ = done;
  status_.assign(status);
  // Keep samples spaced by ~1/20 of the window, and one sample at or before the window's start.
  const double spacing = options_.rate_window_seconds / 20;
  if (t - samples_.back().first >= spacing) samples_.emplace_back(t, done);
  while (samples_.size() > 2 && samples_[1].first <= t - options_.rate_window_seconds) samples_.pop_front();
  last_update_ = t;
  if (options_.quiet) return;
  if (terminal_) {
    if (t - last_draw_ >= options_.redraw_seconds || (total_ > 0 && done >= total_)) draw_live(t);
  } else if (t - last_plain_ >= interval_) {
    last_plain_ = t;
    print_plain_line(line());
  }
}

double Progress::rate() const {
  const auto& [t0, d0] = samples_.front();
  const double dt = last_update_ - t0;
  if (dt <= 0 || done_ <= d0) return 0;
  return static_cast<double>(done_ - d0) / dt;
}

std::optional<double> Progress::eta_seconds() const {
  const double r = rate();
  if (total_ == 0 || done_ == 0 || r <= 0) return std::nullopt;
  return done_ >= total_ ? 0.0 : static_cast<double>(total_ - done_) / r;
}

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<std::uint64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

std::string Progress::format_rate(double per_second) {
  if (!std::isfinite(per_second) || per_second <= 0) return "0";
  if (per_second >= 99.95) return fmt::format("{:.0f}", per_second);
  if (per_second >= 9.995) return fmt::format("{:.1f}", per_second);
  if (per_second >= 0.9995) return fmt::format("{:.2f}", per_second);
  return fmt::format("{:.3f}", per_second);
}

std::string Progress::line() const {
  std::string out = label_;
  if (total_ > 0) {
    const double pct = 100.0 * static_cast<double>(done_) / static_cast<double>(total_);
    out += fmt::format("  {}/{}  {:5.1f} %", done_, total_, pct);
  } else {
    out += fmt::format("  {}", done_);
  }
  out +=
      fmt::format("  {} {}/s  elapsed {}", format_rate(rate()), options_.unit, format_duration(elapsed_seconds()));
  if (total_ > 0) {
    const auto eta = eta_seconds();
    out += "  ETA " + (eta ? format_duration(*eta) : std::string("--:--"));
  }
  if (!status_.empty()) out += "  " + status_;
  return out;
}

void Progress::draw_live(double t) {
  last_draw_ = t;
  std::string text = line();
  if (const std::size_t width = terminal_width(out_); width > 1 && text.size() >= width) text.resize(width - 1);
  std::fputc('\r', out_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fputs("\x1b[K", out_);  // clear the rest of the previous, possibly longer, line
  std::fflush(out_);
  drawn_ = text.size() > 0 ? text.size() : 1;
}

void Progress::print_plain_line(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void Progress::finish(std::string_view summary) {
  if (finished_) return;
  finished_ = true;
  if (options_.quiet) return;
  const double elapsed = elapsed_seconds();
  std::string text = label_;
  if (total_ > 0) {
    const double pct = 100.0 * static_cast<double>(done_) / static_cast<double>(total_);
    text += fmt::format("  {}/{}  {:5.1f} %", done_, total_, pct);
  } else {
    text += fmt::format("  {}", done_);
  }
  const double average = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  text += fmt::format("  done in {}  ({} {}/s)", format_duration(elapsed), format_rate(average), options_.unit);
  if (!summary.empty()) {
    text += "  ";
    text += summary;
  }
  if (terminal_) std::fputs("\r", out_);
  std::fwrite(text.data(), 1, text.size(), out_);
  if (terminal_) std::fputs("\x1b[K", out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

}  // namespace apical
