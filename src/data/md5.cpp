// SPDX-License-Identifier: Apache-2.0
// MD5 written from the algorithm description in RFC 1321 (sections 3.1-3.5).
#include "apical/data/md5.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

#include "apical/core/error.hpp"

namespace apical::data {
namespace {

// RFC 1321 3.4: T[i] is the integer part of 4294967296 * |sin(i)| for i = 1..64 (radians).
std::array<std::uint32_t, 64> make_sine_table() {
  std::array<std::uint32_t, 64> t{};
  for (std::size_t i = 0; i < t.size(); ++i) {
    t[i] = static_cast<std::uint32_t>(std::floor(4294967296.0 * std::fabs(std::sin(static_cast<double>(i + 1)))));
  }
  return t;
}

const std::array<std::uint32_t, 64>& sine_table() {
  static const std::array<std::uint32_t, 64> table = make_sine_table();
  return table;
}

// Per-round left-rotation amounts; each round cycles through its four values.
constexpr std::array<std::array<unsigned, 4>, 4> kShift = {
    {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}}};

constexpr std::uint32_t rotl(std::uint32_t x, unsigned s) {
  return (x << s) | (x >> (32U - s));
}

std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::string to_hex(const std::array<std::uint8_t, 16>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

}  // namespace

Md5::Md5() : state_{0x67452301U, 0xEFCDAB89U, 0x98BADCFEU, 0x10325476U} {}

void Md5::process_block(const std::uint8_t* block) {
  std::array<std::uint32_t, 16> x{};
  for (std::size_t i = 0; i < 16; ++i) x[i] = load_le32(block + 4 * i);
  const auto& t = sine_table();

  std::uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
  for (std::size_t i = 0; i < 64; ++i) {
    const std::size_t round = i / 16;
    std::uint32_t f = 0;
    std::size_t k = 0;
    switch (round) {
      case 0:  // F(X,Y,Z) = XY v not(X) Z
        f = (b & c) | (~b & d);
        k = i;
        break;
      case 1:  // G(X,Y,Z) = XZ v Y not(Z)
        f = (b & d) | (c & ~d);
        k = (1 + 5 * i) % 16;
        break;
      case 2:  // H(X,Y,Z) = X xor Y xor Z
        f = b ^ c ^ d;
        k = (5 + 3 * i) % 16;
        break;
      default:  // I(X,Y,Z) = Y xor (X v not(Z))
        f = c ^ (b | ~d);
        k = (7 * i) % 16;
        break;
    }
    const std::uint32_t rotated = rotl(a + f + x[k] + t[i], kShift[round][i % 4]);
    a = d;
    d = c;
    c = b;
    b = b + rotated;
  }
  state_[0] += a;
  state_[1] += b;
  state_[2] += c;
  state_[3] += d;
}

void Md5::update(std::span<const std::uint8_t> bytes) {
  if (finished_) fail("md5: update() called after the digest was taken; use a new Md5 object");
  total_bytes_ += bytes.size();
  std::size_t pos = 0;
  if (buffered_ > 0) {
    const std::size_t take = std::min(bytes.size(), buffer_.size() - buffered_);
    std::memcpy(buffer_.data() + buffered_, bytes.data(), take);
    buffered_ += take;
    pos = take;
    if (buffered_ < buffer_.size()) return;
    process_block(buffer_.data());
    buffered_ = 0;
  }
  for (; pos + 64 <= bytes.size(); pos += 64) process_block(bytes.data() + pos);
  if (pos < bytes.size()) {
    std::memcpy(buffer_.data(), bytes.data() + pos, bytes.size() - pos);
    buffered_ = bytes.size() - pos;
  }
}

std::array<std::uint8_t, 16> Md5::digest() {
  if (finished_) fail("md5: digest() called twice; use a new Md5 object");
  // RFC 1321 3.1-3.2: append a single 1 bit, zeros up to 56 bytes mod 64, then the bit length (little-endian).
  const std::uint64_t bit_length = total_bytes_ * 8U;
  std::array<std::uint8_t, 72> pad{};
  pad[0] = 0x80;
  const std::size_t pad_len = (buffered_ < 56) ? (56 - buffered_) : (120 - buffered_);
  update(std::span<const std::uint8_t>(pad.data(), pad_len));
  std::array<std::uint8_t, 8> length{};
  for (std::size_t i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(bit_length >> (8 * i));
  update(length);
  finished_ = true;

  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 4; ++i) {
    for (std::size_t j = 0; j < 4; ++j) out[4 * i + j] = static_cast<std::uint8_t>(state_[i] >> (8 * j));
  }
  return out;
}

std::string Md5::hex_digest() {
  return to_hex(digest());
}

std::string md5_hex(std::span<const std::uint8_t> bytes) {
  Md5 md5;
  md5.update(bytes);
  return md5.hex_digest();
}

std::string md5_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading to compute its MD5: {}", path.string(), std::strerror(errno));
  Md5 md5;
  std::vector<char> chunk(1 << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got > 0)
      md5.update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(chunk.data()), got));
  }
  if (in.bad()) fail("{}: read error while computing its MD5", path.string());
  return md5.hex_digest();
}

}  // namespace apical::data
