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
// The ziggurat method (Marsaglia & Tsang 2000) for a decreasing density f on x >= 0 (unnormalised), exact up to
// the 53-bit resolution of the uniforms, as inversion is.
//
// The area under f is covered by 256 layers of equal area v: layer 0 is the base strip [0, r] x [0, f(r)] together
// with the tail x > r; layer i >= 1 is the rectangle [0, x_i] x [f(x_i), f(x_{i+1})] with x_1 = r,
// x_{i+1} = f^-1(f(x_i) + v / x_i) and x_256 = 0. One 64-bit word picks a layer (its low 8 bits) and a point
// x = U x_i in it (its top 53 bits); x < x_{i+1} lies under f for sure (about 98-99 % of draws). Otherwise the
// point is accepted if a uniform height in the layer falls under f(x); in the base layer, x >= r falls into the
// tail, which each density draws its own way.
namespace {

struct Ziggurat {
  static constexpr std::size_t kLayers = 256;
  std::array<double, kLayers + 1> x{};  // x[0] = v / f(r): the base strip's width as a rectangle of area v
  std::array<double, kLayers + 1> f{};  // f(x[i]) (f[0] = f(r))

  template <class Density, class Inverse>
  Ziggurat(double r, double v, Density density, Inverse inverse) {
    x[0] = v / density(r);
    x[1] = r;
    for (std::size_t i = 1; i + 1 < kLayers; ++i) x[i + 1] = inverse(density(x[i]) + v / x[i]);
    x[kLayers] = 0.0;
    for (std::size_t i = 0; i <= kLayers; ++i) f[i] = density(x[i]);
    f[0] = density(r);
  }
};

// Exponential, f(x) = exp(-x): r and v are the published constants for 256 layers; v makes the layers fill the
// area exactly (x_256 = 0 to 1e-12). The tail beyond r is, by memorylessness, r plus a fresh exponential.
constexpr double kExpR = 7.69711747013104972;
const Ziggurat kExponential(
    kExpR, 0.0039496598225815571993, [](double x) { return std::exp(-x); },
    [](double y) { return -std::log(y); });

// Half-normal, f(x) = exp(-x^2 / 2): r is the published constant for 256 layers and v the exact area of the base
// layer, r f(r) + the tail integral sqrt(pi / 2) erfc(r / sqrt 2), so that x_256 = 0 to 1e-14. Tail: Marsaglia's
// (1964) method. A ninth bit of the word gives the sign.
constexpr double kNormalR = 3.6541528853610088;
double half_normal_density(double x) {
  return std::exp(-0.5 * x * x);
}
const Ziggurat kNormal(
    kNormalR,
    kNormalR * half_normal_density(kNormalR) +
        std::sqrt(std::numbers::pi / 2.0) * std::erfc(kNormalR / std::numbers::sqrt2),
    half_normal_density, [](double y) { return y >= 1.0 ? 0.0 : std::sqrt(-2.0 * std::log(y)); });

}  // namespace

const double* const Stream::kExponentialLayers = kExponential.x.data();

double Stream::standard_exponential_beyond(std::size_t i, double x) {
  // The draw of standard_exponential() whose point (layer i, x) was not under the curve for sure, continued.
  const Ziggurat& z = kExponential;
  for (;;) {
    if (i == 0) return kExpR - std::log(uniform_pos());
    // The wedge between x_{i+1} and x_i: accept under the curve.
    if (z.f[i] + uniform() * (z.f[i + 1] - z.f[i]) < std::exp(-x)) return x;
    const std::uint64_t word = next_u64();
    i = word & 0xFFU;
    x = static_cast<double>(word >> 11) * 0x1.0p-53 * z.x[i];
    if (x < z.x[i + 1]) return x;
  }
}

double Stream::normal() {
  const Ziggurat& z = kNormal;
  for (;;) {
    const std::uint64_t word = next_u64();
    const std::size_t i = word & 0xFFU;
    const double sign = (word & 0x100U) != 0 ? -1.0 : 1.0;
    const double x = static_cast<double>(word >> 11) * 0x1.0p-53 * z.x[i];
    if (x < z.x[i + 1]) return sign * x;
    if (i == 0) {
      // Tail x > r: x = r + a with a ~ exponential(r), accepted with probability exp(-a^2 / 2).
      for (;;) {
        const double a = -std::log(uniform_pos()) / kNormalR;
        const double b = -std::log(uniform_pos());
        if (2.0 * b >= a * a) return sign * (kNormalR + a);
      }
    }
    if (z.f[i] + uniform() * (z.f[i + 1] - z.f[i]) < half_normal_density(x)) return sign * x;
  }
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
