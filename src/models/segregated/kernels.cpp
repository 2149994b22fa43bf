// SPDX-License-Identifier: Apache-2.0
#include "kernels.hpp"

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

}  // namespace apical::segregated::kernels
