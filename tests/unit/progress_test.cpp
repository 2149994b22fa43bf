// SPDX-License-Identifier: Apache-2.0
#include "apical/core/progress.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "apical/core/error.hpp"

namespace apical {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

/// A temporary FILE* (not a terminal) whose content can be read back.
class Capture {
 public:
  Capture() : file_(std::tmpfile()) {}
  ~Capture() { std::fclose(file_); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  std::FILE* get() const { return file_; }
  std::string text() const {
    std::fflush(file_);
    const long end = std::ftell(file_);
    std::string out(static_cast<std::size_t>(end), '\0');
    std::rewind(file_);
    const std::size_t n = std::fread(out.data(), 1, out.size(), file_);
    out.resize(n);
    std::fseek(file_, 0, SEEK_END);
    return out;
  }
  std::size_t lines() const {
    const std::string t = text();
    return static_cast<std::size_t>(std::count(t.begin(), t.end(), '\n'));
  }

 private:
  std::FILE* file_;
};

/// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<double> now = std::make_shared<double>(1000.0);
  std::function<double()> fn() const {
    auto p = now;
    return [p] { return *p; };
  }
  void set(double since_start) const { *now = 1000.0 + since_start; }
};

ProgressOptions plain(const FakeClock& clock, double interval = 30) {
  ProgressOptions o;
  o.terminal = false;
  o.interval_seconds = interval;
  o.clock = clock.fn();
  return o;
}

TEST(Progress, PlainOutputIsThrottledToTheInterval) {
  Capture out;
  FakeClock clock;
  Progress p("epoch 1", 1000, out.get(), plain(clock));
  for (double t : {1.0, 10.0, 29.9}) {
    clock.set(t);
    p.update(static_cast<std::uint64_t>(t * 10));
  }
  EXPECT_EQ(out.lines(), 0U);
  clock.set(30);
  p.update(300, "test error 12.3 %");
  EXPECT_EQ(out.lines(), 1U);
  clock.set(45);
  p.update(450);
  EXPECT_EQ(out.lines(), 1U);
  clock.set(60.5);
  p.update(605);
  EXPECT_EQ(out.lines(), 2U);
  clock.set(70);
  p.finish("train error 3.1 %");
  EXPECT_EQ(out.lines(), 3U);
  p.finish();  // second call does nothing
  p.update(800);
  EXPECT_EQ(out.lines(), 3U);

  const std::string text = out.text();
  EXPECT_THAT(text, Not(HasSubstr("\r")));
  EXPECT_THAT(text,
              HasSubstr("epoch 1  300/1000   30.0 %  10.0 items/s  elapsed 0:30  ETA 1:10  test error 12.3 %\n"));
  EXPECT_THAT(text, HasSubstr("epoch 1  605/1000   60.5 %  10.0 items/s  elapsed 1:01  ETA 0:40\n"));
  EXPECT_THAT(text, HasSubstr("epoch 1  605/1000   60.5 %  done in 1:10  (8.64 items/s)  train error 3.1 %\n"));
}

TEST(Progress, RateAndEtaArithmetic) {
  Capture out;
  FakeClock clock;
  Progress p("eval", 1000, out.get(), plain(clock));
  EXPECT_EQ(p.rate(), 0.0);
  EXPECT_FALSE(p.eta_seconds().has_value());
  clock.set(5);
  p.update(250);
  EXPECT_DOUBLE_EQ(p.rate(), 50.0);
  ASSERT_TRUE(p.eta_seconds().has_value());
  EXPECT_DOUBLE_EQ(*p.eta_seconds(), 15.0);
  EXPECT_THAT(p.line(), HasSubstr("250/1000   25.0 %  50.0 items/s  elapsed 0:05  ETA 0:15"));
  clock.set(20);
  p.update(1000);
  EXPECT_DOUBLE_EQ(*p.eta_seconds(), 0.0);
}

TEST(Progress, RateFollowsTheRecentWindowNotTheAverage) {
  Capture out;
  FakeClock clock;
  ProgressOptions o = plain(clock, 1e9);
  o.rate_window_seconds = 10;
  Progress p("train", 100000, out.get(), o);
  std::uint64_t done = 0;
  double t = 0;
  for (; t < 60; t += 0.1) {  // 1000 items/s for a minute
    done += 100;
    clock.set(t + 0.1);
    p.update(done);
  }
  EXPECT_NEAR(p.rate(), 1000.0, 1.0);
  for (; t < 90; t += 0.1) {  // then 10 items/s for half a minute
    done += 1;
    clock.set(t + 0.1);
    p.update(done);
  }
  // The average since the start is ~667/s; the recent rate is 10/s.
  EXPECT_NEAR(p.rate(), 10.0, 0.6);
  ASSERT_TRUE(p.eta_seconds().has_value());
  EXPECT_NEAR(*p.eta_seconds(), static_cast<double>(100000 - done) / 10.0,
              0.06 * static_cast<double>(100000 - done) / 10.0);
}

TEST(Progress, UnknownTotalShowsCountWithoutPercentageOrEta) {
  Capture out;
  FakeClock clock;
  Progress p("reading", 0, out.get(), plain(clock, 0));
  clock.set(2);
  p.update(40);
  EXPECT_EQ(p.line(), "reading  40  20.0 items/s  elapsed 0:02");
  EXPECT_FALSE(p.eta_seconds().has_value());
}

TEST(Progress, QuietPrintsNothing) {
  Capture out;
  FakeClock clock;
  ProgressOptions o = plain(clock, 0);
  o.quiet = true;
  Progress p("x", 10, out.get(), o);
  clock.set(1);
  p.update(5);
  p.finish("done");
  EXPECT_EQ(out.text(), "");
}

TEST(Progress, TerminalModeRedrawsOneLineAtMostFiveTimesPerSecond) {
  Capture out;
  FakeClock clock;
  ProgressOptions o;
  o.terminal = true;  // forced: the tmpfile is not a terminal
  o.clock = clock.fn();
  o.unit = "img";
  Progress p("epoch 2", 100, out.get(), o);
  for (int i = 1; i <= 20; ++i) {  // 20 updates over 1 s
    clock.set(i * 0.05);
    p.update(static_cast<std::uint64_t>(i));
  }
  const std::string text = out.text();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 5);  // at 0.05, 0.25, 0.45, 0.65, 0.85 s
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 0);
  EXPECT_THAT(text, HasSubstr("img/s"));
  EXPECT_THAT(text, HasSubstr("\x1b[K"));
  clock.set(1.1);
  p.update(100);  // completion is always drawn
  p.finish("test error 2.0 %");
  const std::string final_text = out.text();
  EXPECT_EQ(std::count(final_text.begin(), final_text.end(), '\r'), 7);
  EXPECT_THAT(final_text,
              HasSubstr("\repoch 2  100/100  100.0 %  done in 0:01  (90.9 img/s)  test error 2.0 %\x1b[K\n"));
}

TEST(Progress, IntervalFromEnvironment) {
  Capture out;
  FakeClock clock;
  ::setenv("APICAL_PROGRESS_INTERVAL", "5", 1);
  ProgressOptions o = plain(clock, -1);
  {
    Progress p("x", 100, out.get(), o);
    clock.set(4.9);
    p.update(1);
    EXPECT_EQ(out.lines(), 0U);
    clock.set(5);
    p.update(2);
    EXPECT_EQ(out.lines(), 1U);
  }
  ::setenv("APICAL_PROGRESS_INTERVAL", "soon", 1);
  try {
    Progress p("x", 100, out.get(), o);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("APICAL_PROGRESS_INTERVAL='soon'"));
  }
  ::unsetenv("APICAL_PROGRESS_INTERVAL");
}

TEST(Progress, Formatting) {
  EXPECT_EQ(Progress::format_duration(0), "0:00");
  EXPECT_EQ(Progress::format_duration(59.6), "1:00");
  EXPECT_EQ(Progress::format_duration(754), "12:34");
  EXPECT_EQ(Progress::format_duration(3661), "1:01:01");
  EXPECT_EQ(Progress::format_duration(-1), "--:--");
  EXPECT_EQ(Progress::format_rate(1523.4), "1523");
  EXPECT_EQ(Progress::format_rate(15.24), "15.2");
  EXPECT_EQ(Progress::format_rate(1.524), "1.52");
  EXPECT_EQ(Progress::format_rate(0.1524), "0.152");
  EXPECT_EQ(Progress::format_rate(0), "0");
}

}  // namespace
}  // namespace apical
