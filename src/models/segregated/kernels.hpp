// SPDX-License-Identifier: Apache-2.0
#pragma once

// Element-wise vector kernels of the segregated-dendrites engine. Each element is computed with exactly the
// operations written (no reassociation; the library is built with -ffp-contract=off, so no fused multiply-add),
// so the results are bit-identical to the scalar expressions of the dense reference, whatever instruction set the
// runtime dispatch picks (AVX-512, AVX2 or baseline x86-64).

#include <cstddef>

namespace apical::segregated::kernels {

/// y[i] += x[i] * a
void add_scaled(double* __restrict y, const double* __restrict x, double a, std::size_t n);
/// y[i] += x[i]
void add(double* __restrict y, const double* __restrict x, std::size_t n);
/// y[i] -= c[i] * a
void sub_scaled(double* __restrict y, const double* __restrict c, double a, std::size_t n);

}  // namespace apical::segregated::kernels
