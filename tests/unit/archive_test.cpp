// SPDX-License-Identifier: Apache-2.0
#include "apical/io/archive.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <functional>
#include <limits>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"
#include "test_support.hpp"

namespace apical::io {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

using test::error_of;

std::vector<std::uint64_t> tricky_double_bits() {
  return {
      0x7ff8000000000123ULL,  // quiet NaN with a payload
      0xfff4000000000abcULL,  // negative signalling NaN with a payload
      0x8000000000000000ULL,  // -0.0
      0x0000000000000001ULL,  // smallest subnormal
      0x000fffffffffffffULL,  // largest subnormal
      std::bit_cast<std::uint64_t>(std::numeric_limits<double>::max()),
      std::bit_cast<std::uint64_t>(-std::numeric_limits<double>::infinity()),
      std::bit_cast<std::uint64_t>(0.1),
  };
}

ArchiveWriter sample() {
  ArchiveWriter w;
  std::vector<double> d;
  for (auto bits : tricky_double_bits()) d.push_back(std::bit_cast<double>(bits));
  w.put("W_0", d, {2, 4});
  w.put("b_0", std::vector<float>{1.5f, -0.0f, std::bit_cast<float>(0x7fc00001U)});
  w.put("order", std::vector<std::int64_t>{3, -1, std::numeric_limits<std::int64_t>::min()});
  w.put("counts", std::vector<std::uint64_t>{std::numeric_limits<std::uint64_t>::max(), 0});
  w.put("i32", std::vector<std::int32_t>{-5, 5});
  w.put("u32", std::vector<std::uint32_t>{7});
  w.put("pixels", std::vector<std::uint8_t>{0, 128, 255}, {1, 3});
  const bool mask[] = {true, false};
  w.put("mask", std::span<const bool>(mask));
  w.put("empty", std::vector<double>{}, {0});
  w.set_meta({{"epoch", 3}, {"rng", {{"order", 12345678901234ULL}}}, {"name", "mnist \"run\""}, {"lr", 0.1}});
  return w;
}

TEST(Archive, RoundTripIsBitExact) {
  test::TempDir dir("archive");
  const fs::path p = dir / "checkpoint.apk";
  sample().write(p);
  const ArchiveReader r = ArchiveReader::open(p);

  EXPECT_EQ(r.names(),
            (std::vector<std::string>{"W_0", "b_0", "order", "counts", "i32", "u32", "pixels", "mask", "empty"}));
  EXPECT_EQ(r.shape("W_0"), (std::vector<std::size_t>{2, 4}));
  EXPECT_EQ(r.dtype("W_0"), "<f8");
  const auto w = r.get<double>("W_0");
  ASSERT_EQ(w.size(), 8U);
  const auto bits = tricky_double_bits();
  for (std::size_t i = 0; i < w.size(); ++i) EXPECT_EQ(std::bit_cast<std::uint64_t>(w[i]), bits[i]) << i;

  const auto b = r.get<float>("b_0");
  ASSERT_EQ(b.size(), 3U);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(b[1]), 0x80000000U);
  EXPECT_EQ(std::bit_cast<std::uint32_t>(b[2]), 0x7fc00001U);
  EXPECT_EQ(r.get<std::int64_t>("order"),
            (std::vector<std::int64_t>{3, -1, std::numeric_limits<std::int64_t>::min()}));
  EXPECT_EQ(r.get<std::uint64_t>("counts")[0], std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(r.get<std::int32_t>("i32"), (std::vector<std::int32_t>{-5, 5}));
  EXPECT_EQ(r.get<std::uint32_t>("u32"), std::vector<std::uint32_t>{7});
  EXPECT_EQ(r.get<std::uint8_t>("pixels"), (std::vector<std::uint8_t>{0, 128, 255}));
  EXPECT_EQ(r.shape("pixels"), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(r.get<bool>("mask"), (std::vector<bool>{true, false}));
  EXPECT_TRUE(r.get<double>("empty").empty());

  EXPECT_EQ(r.meta(), sample().meta());
  EXPECT_EQ(r.meta()["rng"]["order"].get<std::uint64_t>(), 12345678901234ULL);
  EXPECT_TRUE(r.has("W_0"));
  EXPECT_FALSE(r.has("W_1"));
}

TEST(Archive, SameContentGivesSameBytes) {
  EXPECT_EQ(sample().bytes(), sample().bytes());
}

TEST(Archive, EveryFlippedByteIsDetected) {
  const std::string good = sample().bytes();
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_THROW(ArchiveReader::parse(bad, "mem"), Error) << "byte " << i;
  }
}

TEST(Archive, CorruptedFileGivesClearErrorNamingTheFile) {
  test::TempDir dir("archive");
  const fs::path p = dir / "checkpoint.apk";
  sample().write(p);
  std::string bytes = read_file(p);
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);  // one bit in the data
  test::write_text(p, bytes);
  const std::string msg = error_of([&] { ArchiveReader::open(p); });
  EXPECT_THAT(msg, HasSubstr(p.string()));
  EXPECT_THAT(msg, HasSubstr("damaged checkpoint archive: CRC-32 mismatch"));
}

TEST(Archive, TruncatedOrForeignFilesAreRejected) {
  test::TempDir dir("archive");
  const std::string good = sample().bytes();
  test::write_text(dir / "t.apk", good.substr(0, good.size() - 100));
  EXPECT_THAT(error_of([&] { ArchiveReader::open(dir / "t.apk"); }), HasSubstr("truncated or damaged"));
  test::write_text(dir / "x.npy", "\x93NUMPY...");
  EXPECT_THAT(error_of([&] { ArchiveReader::open(dir / "x.npy"); }),
              HasSubstr("not an apical checkpoint archive"));
  std::string v2 = good;
  v2[8] = 2;
  EXPECT_THAT(error_of([&] { ArchiveReader::parse(v2, "v2"); }), HasSubstr("format version 2 is not supported"));
  EXPECT_THAT(error_of([&] { ArchiveReader::open(dir / "none.apk"); }), HasSubstr("none.apk"));
}

TEST(Archive, MissingArrayErrorListsPresentArrays) {
  const ArchiveReader r = ArchiveReader::parse(sample().bytes(), "run/ckpt.apk");
  const std::string msg = error_of([&] { r.get<double>("W_1"); });
  EXPECT_THAT(msg, HasSubstr("run/ckpt.apk"));
  EXPECT_THAT(msg, HasSubstr("no array 'W_1'"));
  EXPECT_THAT(msg, HasSubstr("W_0, b_0, order"));
  EXPECT_THAT(error_of([&] { r.get<float>("W_0"); }), HasSubstr("stored dtype is '<f8' (float64)"));
  EXPECT_THAT(error_of([&] { r.shape("nope"); }), HasSubstr("no array 'nope'"));
}

TEST(Archive, EmptyArchiveRoundTrips) {
  const ArchiveReader r = ArchiveReader::parse(ArchiveWriter().bytes(), "e");
  EXPECT_TRUE(r.names().empty());
  EXPECT_TRUE(r.meta().is_object());
  EXPECT_THAT(error_of([&] { r.get<double>("x"); }), HasSubstr("no arrays"));
}

TEST(Archive, WriterErrors) {
  ArchiveWriter w;
  w.put("a", std::vector<double>{1});
  EXPECT_THAT(error_of([&] { w.put("a", std::vector<double>{2}); }), HasSubstr("'a' was added twice"));
  EXPECT_THAT(error_of([&] { w.put("", std::vector<double>{2}); }), HasSubstr("must not be empty"));
  EXPECT_THAT(error_of([&] {
                w.put("m", std::vector<double>{1, 2, 3}, {2, 2});
              }),
              HasSubstr("needs 4 elements, but 3"));
  EXPECT_THAT(error_of([&] { w.set_meta(nlohmann::json::array()); }), HasSubstr("must be a JSON object"));
}

}  // namespace
}  // namespace apical::io
