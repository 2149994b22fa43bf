// SPDX-License-Identifier: Apache-2.0
#include "kernels.hpp"

#include "apical/models/segregated/network.hpp"

#include "core/simd.hpp"

namespace apical::segregated::kernels {

APICAL_CLONES void add_scaled(double* __restrict y, const double* __restrict x, double a, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i] * a;
}

APICAL_CLONES void add(double* __restrict y, const double* __restrict x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}

APICAL_CLONES void sub_scaled(double* __restrict y, const double* __restrict c, double a, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] -= c[i] * a;
}

APICAL_CLONES void rates(const double* __restrict soma, double* __restrict rate, double lambda_max, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) rate[i] = lambda_max * sigmoid(soma[i]);
}

void apical(const double* Y, const double* fb, const double* c, double* out, std::size_t n, std::size_t n_fb) {
  constexpr std::size_t kLanes = 8;
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    double acc[kLanes] = {};
    const double* rows = Y + i * n_fb;
    for (std::size_t k = 0; k < n_fb; ++k) {
      const double f = fb[k];
      for (std::size_t q = 0; q < kLanes; ++q) acc[q] += rows[q * n_fb + k] * f;
    }
    for (std::size_t q = 0; q < kLanes; ++q) out[i + q] = acc[q] + c[i + q];
  }
  for (; i < n; ++i) {
    double acc = 0.0;
    for (std::size_t k = 0; k < n_fb; ++k) acc += Y[i * n_fb + k] * fb[k];
    out[i] = acc + c[i];
  }
}

namespace {

// The helpers below are always inlined into each clone, so the baseline ABI of a 32-byte vector argument never
// applies; GCC warns about it regardless.
#pragma GCC diagnostic ignored "-Wpsabi"

// Four doubles; GCC lowers the arithmetic to the clone's instruction set (two SSE2 operations in the baseline
// clone), each lane computed with the scalar operation, so the results do not depend on the clone.
typedef double v4 __attribute__((vector_size(32)));  // NOLINT(modernize-use-using): GCC attribute syntax

__attribute__((always_inline)) inline v4 load4(const double* p) {
  return simd::load<v4>(p);
}
__attribute__((always_inline)) inline void store4(double* p, v4 v) {
  simd::store(p, v);
}

// A block of 16 neurons is four vectors, kept in registers (the loops below have constant trip counts).
constexpr std::size_t kVectors = 4;
constexpr std::size_t kBlock = 4 * kVectors;

/// acc[q] += row[4q .. 4q + 3] * scale
__attribute__((always_inline)) inline void add_row(v4* acc, const double* row, double scale) {
  for (std::size_t q = 0; q < kVectors; ++q) acc[q] += load4(row + 4 * q) * scale;
}
__attribute__((always_inline)) inline void store_row(double* row, const v4* acc) {
  for (std::size_t q = 0; q < kVectors; ++q) store4(row + 4 * q, acc[q]);
}

}  // namespace

APICAL_CLONES void hidden_step(const HiddenStep& h) {
  const std::size_t n_blocks = h.n / kBlock;
  double* const fresh = h.drive[0];
  for (std::size_t blk = 0; blk < n_blocks; ++blk) {
    const std::size_t i0 = blk * kBlock;
    v4 drive[kVectors] = {};
    for (std::size_t e = 0; e < h.n_spikes; ++e) add_row(drive, h.col[e] + i0, h.count[e]);
    store_row(fresh + i0, drive);
    v4 basal[kVectors];
    for (std::size_t q = 0; q < kVectors; ++q) basal[q] = v4{0, 0, 0, 0} + drive[q] * h.kappa[0];
    for (std::size_t d = 1; d < h.K; ++d) add_row(basal, h.drive[d] + i0, h.kappa[d]);
    for (std::size_t q = 0; q < kVectors; ++q) basal[q] += load4(h.b + i0 + 4 * q);
    store_row(h.basal + i0, basal);
    for (std::size_t q = 0; q < kVectors; ++q) {
      const v4 c = load4(h.soma + i0 + 4 * q);
      const v4 a = load4(h.apical + i0 + 4 * q);
      store4(h.soma + i0 + 4 * q, c + h.dt * ((-h.g_L * c + h.g_B * (basal[q] - c)) + h.g_A * (a - c)));
    }
  }
  for (std::size_t i = n_blocks * kBlock; i < h.n; ++i) {
    double d = 0.0;
    for (std::size_t e = 0; e < h.n_spikes; ++e) d += h.col[e][i] * h.count[e];
    fresh[i] = d;
    double bsum = 0.0;
    for (std::size_t k = 0; k < h.K; ++k) bsum += h.drive[k][i] * h.kappa[k];
    bsum += h.b[i];
    h.basal[i] = bsum;
    const double c = h.soma[i];
    h.soma[i] = c + h.dt * (-h.g_L * c + h.g_B * (bsum - c) + h.g_A * (h.apical[i] - c));
  }
}

}  // namespace apical::segregated::kernels
