// SPDX-License-Identifier: Apache-2.0
// IDX reader on small synthetic files, plain and gzipped: valid files and each kind of damage.
#include "apical/data/idx.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "apical/core/error.hpp"
#include "test_support.hpp"

namespace apical::data {
namespace {

using ::testing::HasSubstr;

/// The bytes of an IDX file: magic 0 0 type ndims, big-endian dims, values.
std::string idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                      const std::vector<std::uint8_t>& values) {
  std::string out = {'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xFF));
  }
  out.append(values.begin(), values.end());
  return out;
}

std::vector<std::uint8_t> iota_bytes(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 7 % 256);
  return v;
}

void write_gz(const std::filesystem::path& path, const std::string& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(gz), Z_OK);
}

/// read_idx's error message, or a test failure if it does not throw.
std::string idx_error(const std::filesystem::path& path) {
  try {
    read_idx(path);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "read_idx(" << path << ") did not throw";
  return "";
}

class IdxBothFormats : public ::testing::TestWithParam<bool> {
 protected:
  /// Writes bytes as a plain or gzipped file (per the test parameter) and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& bytes) {
    const auto path = dir_ / name;
    if (GetParam()) {
      write_gz(path, bytes);
    } else {
      test::write_text(path, bytes);
    }
    return path;
  }
  test::TempDir dir_{"idx"};
};

TEST_P(IdxBothFormats, ReadsDimsAndValues) {
  const auto values = iota_bytes(3 * 4 * 5);
  const auto path = write("images-idx3-ubyte", idx_bytes(0x08, {3, 4, 5}, values));
  const IdxArray a = read_idx(path);
  EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{3, 4, 5}));
  EXPECT_EQ(a.values, values);

  const auto labels = write("labels-idx1-ubyte", idx_bytes(0x08, {7}, {1, 2, 3, 4, 5, 6, 7}));
  const IdxArray l = read_idx(labels);
  EXPECT_EQ(l.dims, (std::vector<std::uint32_t>{7}));
  EXPECT_EQ(l.values, (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6, 7}));
}

TEST_P(IdxBothFormats, TruncatedDataNamesExpectedAndActualBytes) {
  std::string bytes = idx_bytes(0x08, {3, 2, 2}, iota_bytes(12));  // 16 + 12 = 28 bytes
  bytes.resize(20);
  const std::string msg = idx_error(write("train-images-idx3-ubyte", bytes));
  EXPECT_THAT(msg, HasSubstr("train-images-idx3-ubyte"));
  EXPECT_THAT(msg, HasSubstr("truncated"));
  EXPECT_THAT(msg, HasSubstr("3x2x2"));
  EXPECT_THAT(msg, HasSubstr("28 bytes"));
  EXPECT_THAT(msg, HasSubstr("holds 20 bytes"));
  if (GetParam()) {
    EXPECT_THAT(msg, HasSubstr("after decompression"));
  }
}

TEST_P(IdxBothFormats, TrailingBytesAreAnError) {
  std::string bytes = idx_bytes(0x08, {3, 2, 2}, iota_bytes(12)) + "xyz";
  const std::string msg = idx_error(write("t10k-images-idx3-ubyte", bytes));
  EXPECT_THAT(msg, HasSubstr("t10k-images-idx3-ubyte"));
  EXPECT_THAT(msg, HasSubstr("3 unexpected trailing bytes"));
  EXPECT_THAT(msg, HasSubstr("28 bytes"));
  EXPECT_THAT(msg, HasSubstr("holds 31 bytes"));
}

TEST_P(IdxBothFormats, WrongMagicNumber) {
  std::string bytes = idx_bytes(0x08, {2}, {1, 2});
  bytes[0] = 0x12;
  bytes[1] = 0x34;
  const std::string msg = idx_error(write("labels.idx", bytes));
  EXPECT_THAT(msg, HasSubstr("labels.idx"));
  EXPECT_THAT(msg, HasSubstr("not an IDX file"));
  EXPECT_THAT(msg, HasSubstr("0x12 0x34"));
  EXPECT_THAT(msg, HasSubstr("expected 0x00 0x00"));
}

TEST_P(IdxBothFormats, WrongTypeByteListsTheValidTypes) {
  const std::string known = idx_error(write("float-idx1", idx_bytes(0x0D, {1}, {0, 0, 0, 0})));
  EXPECT_THAT(known, HasSubstr("float-idx1"));
  EXPECT_THAT(known, HasSubstr("unsupported IDX type byte 0x0d (32-bit float)"));
  EXPECT_THAT(known, HasSubstr("only type 0x08 (unsigned byte)"));

  const std::string unknown = idx_error(write("weird-idx1", idx_bytes(0x05, {1}, {0})));
  EXPECT_THAT(unknown, HasSubstr("weird-idx1"));
  EXPECT_THAT(unknown, HasSubstr("invalid IDX type byte 0x05"));
  EXPECT_THAT(unknown, HasSubstr("0x08 (unsigned byte), 0x09 (signed byte)"));
}

TEST_P(IdxBothFormats, WrongNumberOfDimensions) {
  const std::string zero = idx_error(write("zero-dims", idx_bytes(0x08, {}, {})));
  EXPECT_THAT(zero, HasSubstr("zero-dims"));
  EXPECT_THAT(zero, HasSubstr("invalid number of dimensions 0"));
  EXPECT_THAT(zero, HasSubstr("expected 1 to 8"));

  const std::string many = idx_error(write("many-dims", idx_bytes(0x08, std::vector<std::uint32_t>(9, 1), {1})));
  EXPECT_THAT(many, HasSubstr("many-dims"));
  EXPECT_THAT(many, HasSubstr("invalid number of dimensions 9"));
}

TEST_P(IdxBothFormats, ZeroSizedDimension) {
  const std::string msg = idx_error(write("empty-idx3", idx_bytes(0x08, {0, 28, 28}, {})));
  EXPECT_THAT(msg, HasSubstr("empty-idx3"));
  EXPECT_THAT(msg, HasSubstr("dimension 1 of 3 has size 0"));
  EXPECT_THAT(msg, HasSubstr("at least 1"));
}

TEST_P(IdxBothFormats, TruncatedHeader) {
  std::string bytes = idx_bytes(0x08, {60000, 28, 28}, {});
  bytes.resize(9);
  const std::string msg = idx_error(write("short-header", bytes));
  EXPECT_THAT(msg, HasSubstr("short-header"));
  EXPECT_THAT(msg, HasSubstr("truncated header"));
  EXPECT_THAT(msg, HasSubstr("16-byte header"));
  EXPECT_THAT(msg, HasSubstr("holds 9 bytes"));
}

TEST_P(IdxBothFormats, EmptyFile) {
  const std::string msg = idx_error(write("empty", ""));
  EXPECT_THAT(msg, HasSubstr("empty"));
  EXPECT_THAT(msg, HasSubstr("too short for an IDX file: holds 0 bytes"));
}

TEST_P(IdxBothFormats, FullMnistSizedHeaderOnTinyFileReportsTruncation) {
  // The header declares 60000 images of 28x28 but only 10 pixels follow.
  const auto path = write("train-images-idx3-ubyte.gz", idx_bytes(0x08, {60000, 28, 28}, iota_bytes(10)));
  const std::string msg = idx_error(path);
  EXPECT_THAT(msg, HasSubstr("train-images-idx3-ubyte.gz: truncated"));
  EXPECT_THAT(msg, HasSubstr("60000x28x28"));
  EXPECT_THAT(msg, HasSubstr("47040016 bytes"));
  EXPECT_THAT(msg, HasSubstr("holds 26 bytes"));
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, IdxBothFormats, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Gzip" : "Plain"; });

TEST(Idx, GzipIsDetectedByMagicNotByName) {
  test::TempDir dir("idx");
  const auto values = iota_bytes(6);
  write_gz(dir / "compressed-without-suffix", idx_bytes(0x08, {2, 3}, values));
  test::write_text(dir / "plain-with-suffix.gz", idx_bytes(0x08, {2, 3}, values));
  EXPECT_EQ(read_idx(dir / "compressed-without-suffix").values, values);
  EXPECT_EQ(read_idx(dir / "plain-with-suffix.gz").values, values);
}

TEST(Idx, CorruptGzipStreamNamesTheFile) {
  test::TempDir dir("idx");
  std::string garbage = "\x1f\x8b\x08";
  garbage += std::string(40, '\x55');
  test::write_text(dir / "corrupt.gz", garbage);
  const std::string msg = idx_error(dir / "corrupt.gz");
  EXPECT_THAT(msg, HasSubstr("corrupt.gz"));
  EXPECT_THAT(msg, HasSubstr("corrupt or incomplete gzip stream"));
}

TEST(Idx, CutGzipStreamNamesTheFile) {
  test::TempDir dir("idx");
  write_gz(dir / "whole.gz", idx_bytes(0x08, {50, 20}, iota_bytes(1000)));
  const std::string whole = test::read_text(dir / "whole.gz");
  test::write_text(dir / "cut.gz", whole.substr(0, whole.size() / 2));
  const std::string msg = idx_error(dir / "cut.gz");
  EXPECT_THAT(msg, HasSubstr("cut.gz"));
  EXPECT_THAT(msg, HasSubstr("gzip stream"));
}

TEST(Idx, MissingFileAndFolder) {
  test::TempDir dir("idx");
  const std::string missing = idx_error(dir / "nope-idx1-ubyte.gz");
  EXPECT_THAT(missing, HasSubstr("nope-idx1-ubyte.gz: no such file"));
  const std::string folder = idx_error(dir.path());
  EXPECT_THAT(folder, HasSubstr("is a folder"));
}

}  // namespace
}  // namespace apical::data
