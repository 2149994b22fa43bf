// SPDX-License-Identifier: Apache-2.0
#include "apical/io/csv.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <functional>
#include <limits>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"
#include "test_support.hpp"

namespace apical::io {
namespace {

using ::testing::HasSubstr;

using test::error_of;

TEST(Csv, FormatsHeaderAndRows) {
  CsvTable t({"epoch", "train_error", "note"});
  t.add_row({1, 0.1, "ok"});
  t.add_row({2, 0.25, "a, b"});
  t.add_row({3, 1e-300, "say \"hi\""});
  EXPECT_EQ(t.str(),
            "epoch,train_error,note\n"
            "1,0.1,ok\n"
            "2,0.25,\"a, b\"\n"
            "3,1e-300,\"say \"\"hi\"\"\"\n");
  EXPECT_EQ(t.rows(), 3U);
  EXPECT_EQ(t.columns(), 3U);
}

TEST(Csv, WriteAndReadBackExactly) {
  test::TempDir dir("csv");
  CsvTable t({"epoch", "loss", "label", "flag"});
  const double tricky[] = {0.1 + 0.2, -0.0, 4.9e-324, std::numeric_limits<double>::max(), 1.0 / 3.0};
  for (int i = 0; i < 5; ++i) t.add_row({i, tricky[i], "", i % 2 == 0});
  t.add_row({std::numeric_limits<std::int64_t>::max(), std::nan(""), "multi\nline", true});
  t.add_row({-1, -std::numeric_limits<double>::infinity(), " padded ", false});
  t.add_row({7, 2.5f, "x", false});
  t.write(dir / "metrics.csv");

  const CsvTable r = CsvTable::read(dir / "metrics.csv");
  EXPECT_EQ(r.header(), t.header());
  ASSERT_EQ(r.rows(), t.rows());
  EXPECT_EQ(r.str(), t.str());
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.integer(i, "epoch"), static_cast<std::int64_t>(i));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(r.number(i, "loss")), std::bit_cast<std::uint64_t>(tricky[i])) << i;
    EXPECT_EQ(r.cell(i, "label"), "");
  }
  EXPECT_EQ(r.integer(5, "epoch"), std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(std::isnan(r.number(5, "loss")));
  EXPECT_EQ(r.cell(5, "label"), "multi\nline");
  EXPECT_EQ(r.cell(5, "flag"), "true");
  EXPECT_EQ(r.number(6, "loss"), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.cell(6, "label"), " padded ");
  EXPECT_EQ(r.number(7, "loss"), 2.5);
}

TEST(Csv, SingleEmptyColumnSurvives) {
  CsvTable t({"only"});
  t.add_row({""});
  t.add_row({"x"});
  const CsvTable r = CsvTable::parse(t.str());
  ASSERT_EQ(r.rows(), 2U);
  EXPECT_EQ(r.cell(0, 0), "");
}

TEST(Csv, ParsesCrLfAndSkipsBlankLines) {
  const CsvTable r = CsvTable::parse("a,b\r\n1,2\r\n\r\n3,\"4\r\n5\"\r\n");
  ASSERT_EQ(r.rows(), 2U);
  EXPECT_EQ(r.cell(1, "b"), "4\r\n5");
  EXPECT_EQ(r.number(0, "b"), 2.0);
}

TEST(Csv, TruncateForResume) {
  CsvTable t({"epoch"});
  for (int i = 1; i <= 5; ++i) t.add_row({i});
  t.truncate(3);
  EXPECT_EQ(t.str(), "epoch\n1\n2\n3\n");
  t.truncate(10);
  EXPECT_EQ(t.rows(), 3U);
}

TEST(Csv, Errors) {
  CsvTable t({"epoch", "error"});
  EXPECT_THAT(error_of([&] { t.add_row({1}); }), HasSubstr("1 values, but the table has 2 columns"));
  EXPECT_THAT(error_of([&] { t.column("loss"); }), HasSubstr("no column 'loss' (columns: epoch, error)"));
  t.add_row({1, "n/a"});
  EXPECT_THAT(error_of([&] { t.number(0, "error"); }), HasSubstr("'n/a' is not a number"));
  EXPECT_THAT(error_of([&] { t.integer(0, "error"); }), HasSubstr("not an integer"));
  EXPECT_THAT(error_of([] { CsvTable({"a", "a"}); }), HasSubstr("'a' appears twice"));

  test::TempDir dir("csv");
  test::write_text(dir / "bad.csv", "a,b\n1,2\n3\n");
  const std::string msg = error_of([&] { CsvTable::read(dir / "bad.csv"); });
  EXPECT_THAT(msg, HasSubstr((dir / "bad.csv").string()));
  EXPECT_THAT(msg, HasSubstr("line 3 has 1 fields, but the header has 2"));
  EXPECT_THAT(error_of([] { CsvTable::parse("a,b\n\"1,2\n", "q.csv"); }),
              HasSubstr("q.csv: line 2: unterminated quoted field"));
  EXPECT_THAT(error_of([] { CsvTable::parse("", "e.csv"); }), HasSubstr("e.csv: empty CSV file"));
  EXPECT_THAT(error_of([&] { CsvTable::read(dir / "missing.csv"); }), HasSubstr("missing.csv"));
}

}  // namespace
}  // namespace apical::io
