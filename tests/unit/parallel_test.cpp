// SPDX-License-Identifier: Apache-2.0
#include "apical/core/parallel.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "apical/core/error.hpp"

namespace apical {
namespace {

using ::testing::HasSubstr;

TEST(ParallelFor, RunsEveryIndexOnce) {
  std::atomic<int> sum{0};
  parallel_for(3, [&](int t) { sum += 1 << t; });
  EXPECT_EQ(sum.load(), 7);
}

TEST(ParallelFor, ReportsEveryDistinctFailure) {
  try {
    parallel_for(3, [](int t) {
      if (t == 1) fail("root cause in thread 1");
      if (t == 2) fail("stopped because of another failure");
    });
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("root cause in thread 1"));
    EXPECT_THAT(e.what(), HasSubstr("stopped because of another failure"));
  }
}

TEST(RunJobs, RunsEveryJobOnceWithAtMostTheGivenWorkers) {
  std::atomic<bool> stop{false};
  std::atomic<int> running{0}, most{0};
  std::mutex m;
  std::multiset<std::size_t> done;
  const std::size_t started = run_jobs(
      3, 10,
      [&](std::size_t k) {
        const int now = ++running;
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        --running;
        const std::lock_guard<std::mutex> lock(m);
        done.insert(k);
      },
      stop);
  EXPECT_EQ(started, 10u);
  EXPECT_EQ(done, (std::multiset<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(run_jobs(
                2, 0, [](std::size_t) { FAIL(); }, stop),
            0u);
}

TEST(RunJobs, AFailureStopsTheRunningJobsStartsNoMoreAndIsRethrown) {
  // Job 0 runs until it is told to stop (as a training polls its stop flag); job 1, on the other worker, fails.
  std::atomic<bool> stop{false};
  std::atomic<bool> job0_saw_stop{false};
  std::mutex m;
  std::set<std::size_t> started;
  const std::string msg = [&] {
    try {
      run_jobs(
          2, 5,
          [&](std::size_t k) {
            {
              const std::lock_guard<std::mutex> lock(m);
              started.insert(k);
            }
            if (k == 1) fail("root cause in job 1");
            if (k == 0) {
              const auto t0 = std::chrono::steady_clock::now();
              while (!stop.load() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
              }
              job0_saw_stop = stop.load();
            }
          },
          stop);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  }();
  EXPECT_THAT(msg, HasSubstr("root cause in job 1"));
  EXPECT_TRUE(job0_saw_stop.load());
  EXPECT_EQ(started, (std::set<std::size_t>{0, 1}));
  EXPECT_FALSE(stop.load());  // cleared again: the failure set it, not a signal
}

TEST(RunJobs, AStopFromOutsideKeepsFurtherJobsFromStarting) {
  std::atomic<bool> stop{false};
  std::vector<std::size_t> ran;
  const std::size_t started = run_jobs(
      1, 5,
      [&](std::size_t k) {
        ran.push_back(k);
        if (k == 1) stop = true;  // as the signal handler would
      },
      stop);
  EXPECT_EQ(started, 2u);
  EXPECT_EQ(ran, (std::vector<std::size_t>{0, 1}));
  EXPECT_TRUE(stop.load());  // still set: it was not a failure
}

}  // namespace
}  // namespace apical
