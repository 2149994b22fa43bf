// SPDX-License-Identifier: Apache-2.0
#include "apical/core/rng.hpp"

#include <Random123/philox.h>

#include <cmath>
#include <limits>
#include <numbers>

namespace apical {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t stream_name_hash(std::string_view name) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (char ch : name) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001B3ULL;
  }
  return splitmix64(h);
}

Stream::Stream(std::uint64_t seed, std::string_view name, std::uint64_t a, std::uint64_t b, std::uint64_t c)
    : key_{splitmix64(seed), stream_name_hash(name)}, index_{a, b, c} {}

void Stream::refill() {
  using Philox = r123::Philox4x64;
  const Philox::key_type key = {{key_[0], key_[1]}};
  // Counter: (block number, a, b, c). Each block gives four words.
  const Philox::ctr_type ctr = {{position_ >> 2, index_[0], index_[1], index_[2]}};
  const Philox::ctr_type out = Philox()(ctr, key);
  for (int i = 0; i < 4; ++i) block_[i] = out.v[i];
}

void Stream::seek(std::uint64_t position) {
  position_ = position;
  if ((position_ & 3U) != 0) {
    refill();
  }
}

double Stream::exponential(double rate) { return -std::log(uniform_pos()) / rate; }

double Stream::normal() {
  const double u1 = uniform_pos();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Stream::wald(double mean, double shape) {
  const double nu = normal();
  const double y = nu * nu;
  const double mu_y = mean * y;
  const double x = mean + mean * mu_y / (2.0 * shape) -
                   mean / (2.0 * shape) * std::sqrt(4.0 * shape * mu_y + mu_y * mu_y);
  return uniform() <= mean / (mean + x) ? x : mean * mean / x;
}

std::uint64_t Stream::below(std::uint64_t n) {
  // Rejection of the top partial range: every value in [0, n) gets exactly floor(2^64 / n) preimages.
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                              (std::numeric_limits<std::uint64_t>::max() % n + 1) % n;
  std::uint64_t x = next_u64();
  while (x > limit) x = next_u64();
  return x % n;
}

}  // namespace apical
