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

// ---------------------------------------------------------------------------------------------------------------
// Exponential variates by the ziggurat method (Marsaglia & Tsang 2000), exact for the standard exponential
// density f(x) = exp(-x) up to the 53-bit resolution of the uniforms, as inversion is.
//
// The area under f is covered by 256 layers of equal area v: layer 0 is the base strip [0, r] x [0, f(r)] together
// with the tail x > r; layer i >= 1 is the rectangle [0, x_i] x [f(x_i), f(x_{i+1})] with x_1 = r,
// x_{i+1} = f^-1(f(x_i) + v / x_i) and x_256 = 0. One 64-bit word picks a layer (its low 8 bits) and a point
// x = U x_i in it (its top 53 bits); x < x_{i+1} lies under f for sure (about 97.8 % of draws). Otherwise the
// point is accepted if a uniform height in the layer falls under f(x); in the base layer, x >= r falls into the
// tail, which by memorylessness is r plus a fresh exponential, drawn by inversion. r and v are the published
// constants for 256 layers; v makes the layers fill the area exactly (x_256 = 0 to 1e-12).
namespace {

struct Ziggurat {
  static constexpr int kLayers = 256;
  static constexpr double kR = 7.69711747013104972;
  static constexpr double kV = 0.0039496598225815571993;
  std::array<double, kLayers + 1> x{};  // x[0] = v / f(r): the base strip's width as a rectangle of area v
  std::array<double, kLayers + 1> f{};  // f(x[i]) (f[0] = f(r))

  Ziggurat() {
    x[0] = kV / std::exp(-kR);
    x[1] = kR;
    for (int i = 1; i < kLayers; ++i)
      x[static_cast<std::size_t>(i) + 1] =
          -std::log(std::exp(-x[static_cast<std::size_t>(i)]) + kV / x[static_cast<std::size_t>(i)]);
    x[kLayers] = 0.0;
    for (int i = 0; i <= kLayers; ++i) f[static_cast<std::size_t>(i)] = std::exp(-x[static_cast<std::size_t>(i)]);
    f[0] = std::exp(-kR);
  }
};

const Ziggurat kZiggurat;

}  // namespace

double Stream::standard_exponential() {
  const Ziggurat& z = kZiggurat;
  for (;;) {
    const std::uint64_t word = next_u64();
    const std::size_t i = word & 0xFFU;
    const double x = static_cast<double>(word >> 11) * 0x1.0p-53 * z.x[i];
    if (x < z.x[i + 1]) return x;
    if (i == 0) return Ziggurat::kR - std::log(uniform_pos());
    // The wedge between x_{i+1} and x_i: accept under the curve.
    if (z.f[i] + uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-x)) return x;
  }
}

double Stream::exponential(double rate) {
  return standard_exponential() / rate;
}

double Stream::normal() {
  const double u1 = uniform_pos();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

double Stream::wald(double mean, double shape) {
  const double nu = normal();
  const double y = nu * nu;
  const double mu_y = mean * y;
  const double x =
      mean + mean * mu_y / (2.0 * shape) - mean / (2.0 * shape) * std::sqrt(4.0 * shape * mu_y + mu_y * mu_y);
  return uniform() <= mean / (mean + x) ? x : mean * mean / x;
}

std::uint64_t Stream::below(std::uint64_t n) {
  // Rejection of the top partial range: every value in [0, n) gets exactly floor(2^64 / n) preimages.
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - (std::numeric_limits<std::uint64_t>::max() % n + 1) % n;
  std::uint64_t x = next_u64();
  while (x > limit) x = next_u64();
  return x % n;
}

}  // namespace apical
