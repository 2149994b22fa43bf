// SPDX-License-Identifier: Apache-2.0
#include "kernels.hpp"

#include <cstring>

// One clone per instruction set, chosen at load time (GCC function multi-versioning).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define APICAL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define APICAL_CLONES
#endif

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

namespace {

// The helpers below are always inlined into each clone, so the baseline ABI of a 32-byte vector argument never
// applies; GCC warns about it regardless.
#pragma GCC diagnostic ignored "-Wpsabi"

// Four doubles; GCC lowers the arithmetic to the clone's instruction set (two SSE2 operations in the baseline
// clone), each lane computed with the scalar operation, so the results do not depend on the clone.
typedef double v4 __attribute__((vector_size(32)));  // NOLINT(modernize-use-using): GCC attribute syntax

__attribute__((always_inline)) inline v4 load4(const double* p) {
  v4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline void store4(double* p, v4 v) {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace

APICAL_CLONES void hidden_step(const HiddenStep& h) {
  constexpr std::size_t kBlock = 16;  // four vectors of four doubles per accumulator
  const std::size_t n_blocks = h.n / kBlock;
  double* const fresh = h.drive[0];
  for (std::size_t blk = 0; blk < n_blocks; ++blk) {
    const std::size_t i0 = blk * kBlock;
    v4 d0 = {0, 0, 0, 0}, d1 = d0, d2 = d0, d3 = d0;
    for (std::size_t e = 0; e < h.n_spikes; ++e) {
      const double* c = h.col[e] + i0;
      const double m = h.count[e];
      d0 += load4(c) * m;
      d1 += load4(c + 4) * m;
      d2 += load4(c + 8) * m;
      d3 += load4(c + 12) * m;
    }
    store4(fresh + i0, d0);
    store4(fresh + i0 + 4, d1);
    store4(fresh + i0 + 8, d2);
    store4(fresh + i0 + 12, d3);
    const double k0 = h.kappa[0];
    v4 b0 = v4{0, 0, 0, 0} + d0 * k0, b1 = v4{0, 0, 0, 0} + d1 * k0, b2 = v4{0, 0, 0, 0} + d2 * k0,
       b3 = v4{0, 0, 0, 0} + d3 * k0;
    for (std::size_t d = 1; d < h.K; ++d) {
      const double* r = h.drive[d] + i0;
      const double k = h.kappa[d];
      b0 += load4(r) * k;
      b1 += load4(r + 4) * k;
      b2 += load4(r + 8) * k;
      b3 += load4(r + 12) * k;
    }
    b0 += load4(h.b + i0);
    b1 += load4(h.b + i0 + 4);
    b2 += load4(h.b + i0 + 8);
    b3 += load4(h.b + i0 + 12);
    store4(h.basal + i0, b0);
    store4(h.basal + i0 + 4, b1);
    store4(h.basal + i0 + 8, b2);
    store4(h.basal + i0 + 12, b3);
    for (std::size_t q = 0; q < kBlock; q += 4) {
      const v4 bq = q == 0 ? b0 : q == 4 ? b1 : q == 8 ? b2 : b3;
      const v4 c = load4(h.soma + i0 + q);
      const v4 a = load4(h.apical + i0 + q);
      store4(h.soma + i0 + q, c + h.dt * ((-h.g_L * c + h.g_B * (bq - c)) + h.g_A * (a - c)));
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
