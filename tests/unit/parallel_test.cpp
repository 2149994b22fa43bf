// SPDX-License-Identifier: Apache-2.0
#include "apical/core/error.hpp"
#include "apical/core/parallel.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

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

}  // namespace
}  // namespace apical
