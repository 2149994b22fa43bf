// SPDX-License-Identifier: Apache-2.0
// MD5 against the test suite of RFC 1321 (appendix A.5), padding boundaries and streaming.
#include "apical/data/md5.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apical/core/error.hpp"
#include "test_support.hpp"

namespace apical::data {
namespace {

using ::testing::HasSubstr;

std::string md5_of(const std::string& s) {
  return md5_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

TEST(Md5, Rfc1321TestSuite) {
  EXPECT_EQ(md5_of(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_of("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5_of("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_of("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5_of("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5_of("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(Md5, PaddingBoundaries) {
  // Lengths around the 56-byte and 64-byte block boundaries (padding into one or two extra blocks).
  const std::vector<std::pair<std::size_t, std::string>> cases = {
      {55, "ef1772b6dff9a122358552954ad0df65"},     {56, "3b0c8ac703f828b04c6c197006d17218"},
      {57, "652b906d60af96844ebd21b674f35e93"},     {63, "b06521f39153d618550606be297466d5"},
      {64, "014842d480b571495a4a0363793f7367"},     {65, "c743a45e0d2e6a95cb859adae0248435"},
      {127, "020406e1d05cdc2aa287641f7ae2cc39"},    {128, "e510683b3f5ffe4093d021808bc6ff70"},
      {1000000, "7707d6ae4e027c70eea2a935c2296f21"}};
  for (const auto& [n, expected] : cases) EXPECT_EQ(md5_of(std::string(n, 'a')), expected) << n << " bytes";
}

TEST(Md5, StreamingInUnevenPiecesEqualsOneShot) {
  std::vector<std::uint8_t> data;
  for (int rep = 0; rep < 300; ++rep) {
    for (int b = 0; b < 256; ++b) data.push_back(static_cast<std::uint8_t>(b));
  }
  const std::string one_shot = md5_hex(data);
  EXPECT_EQ(one_shot, "97ab7d414a0df5138afc887ee74a0aff");
  Md5 md5;
  std::size_t pos = 0, step = 1;
  while (pos < data.size()) {
    const std::size_t n = std::min(step, data.size() - pos);
    md5.update(std::span<const std::uint8_t>(data.data() + pos, n));
    pos += n;
    step = step * 3 % 199 + 1;  // 1, 4, 13, 40, 121, 167, ... crosses block edges in every way
  }
  EXPECT_EQ(md5.hex_digest(), one_shot);
  EXPECT_THROW(md5.update(data), Error);
}

TEST(Md5, FileMatchesInMemory) {
  test::TempDir dir("md5");
  test::write_text(dir / "msg.txt", "message digest");
  EXPECT_EQ(md5_file_hex(dir / "msg.txt"), "f96b697d7cb7938d525a2f31aaf161d0");
  std::string big(200000, 'a');
  test::write_text(dir / "big.bin", big);
  EXPECT_EQ(md5_file_hex(dir / "big.bin"), md5_of(big));
}

TEST(Md5, MissingFileNamesTheFile) {
  test::TempDir dir("md5");
  try {
    md5_file_hex(dir / "absent.gz");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("absent.gz"));
    EXPECT_THAT(e.what(), HasSubstr("cannot open"));
  }
}

}  // namespace
}  // namespace apical::data
