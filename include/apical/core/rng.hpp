// SPDX-License-Identifier: Apache-2.0
#pragma once

// Counter-based random numbers (Philox4x64-10, Salmon et al. 2011, from Debian's Random123).
//
// Every random quantity in apical is drawn from a *named stream*: the stream's key is derived from the
// experiment seed and the stream's name ("init.W", "order", "spikes.train", ...), and up to three indices
// (epoch, example, layer, neuron, ...) select an independent sub-stream. A draw is a pure function of
// (seed, name, indices, draw number), so results depend on the seed alone: not on the thread count, not on the
// order in which neurons are processed, and not on which other streams were used. A stream's whole state is
// one integer (the number of draws taken), which is what checkpoints store.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace apical {

/// 64-bit FNV-1a hash of a stream name, mixed so that similar names give unrelated keys.
std::uint64_t stream_name_hash(std::string_view name);

/// An independent stream of random numbers: (seed, name, a, b, c) -> an endless sequence of 64-bit words.
class Stream {
 public:
  Stream() = default;
  Stream(std::uint64_t seed, std::string_view name, std::uint64_t a = 0, std::uint64_t b = 0, std::uint64_t c = 0);

  /// Next 64 random bits.
  std::uint64_t next_u64() {
    if ((position_ & 3U) == 0) refill();
    return block_[position_++ & 3U];
  }
  /// Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// Uniform on (0, 1]: never 0, safe for logarithms.
  double uniform_pos() { return static_cast<double>((next_u64() >> 11) + 1) * 0x1.0p-53; }
  /// Exponential with the given rate (mean 1/rate): standard_exponential() / rate.
  double exponential(double rate) { return standard_exponential() / rate; }
  /// Exponential with mean 1, by the ziggurat method (one 64-bit word for about 97.8 % of draws). The common case
  /// is inline; the rest (wedges, tail, rejections) in standard_exponential_beyond.
  double standard_exponential() {
    const std::uint64_t word = next_u64();
    const std::size_t i = word & 0xFFU;
    const double x = static_cast<double>(word >> 11) * 0x1.0p-53 * kExponentialLayers[i];
    if (x < kExponentialLayers[i + 1]) return x;
    return standard_exponential_beyond(i, x);
  }
  /// Standard normal by the ziggurat method (one 64-bit word for about 99 % of draws; the sign from a ninth bit).
  double normal();
  /// Wald (inverse Gaussian) with the given mean and shape, by Michael, Schucany & Haas (1976).
  double wald(double mean, double shape);
  /// Uniform integer in [0, n), unbiased (rejection of the incomplete top range).
  std::uint64_t below(std::uint64_t n);

  /// The number of 64-bit words drawn so far: the stream's complete state.
  std::uint64_t position() const { return position_; }
  /// Restores a state saved with position().
  void seek(std::uint64_t position);

 private:
  void refill();
  double standard_exponential_beyond(std::size_t i, double x);
  /// The exponential ziggurat's layer edges x_0 .. x_256 (rng.cpp).
  static const double* const kExponentialLayers;

  std::array<std::uint64_t, 2> key_{};
  std::array<std::uint64_t, 3> index_{};
  std::uint64_t position_ = 0;
  std::array<std::uint64_t, 4> block_{};
};

}  // namespace apical
