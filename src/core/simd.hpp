// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared pieces of the engines' vector kernels: one clone per instruction set chosen at load time (GCC function
// multi-versioning), and unaligned loads and stores of GCC vector-extension types. GCC lowers vector arithmetic to
// each clone's instruction set with every lane computed by the scalar operation written (the library is built
// with -ffp-contract=off), so a kernel gives the same bits in every clone.

#include <cstring>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define APICAL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define APICAL_CLONES
#endif

namespace apical::simd {

// The helpers are always inlined into each clone, so the baseline ABI of a wide vector argument never applies;
// GCC warns about it regardless.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

template <typename V>
__attribute__((always_inline)) inline V load(const double* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename V>
__attribute__((always_inline)) inline void store(double* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

#pragma GCC diagnostic pop

}  // namespace apical::simd
