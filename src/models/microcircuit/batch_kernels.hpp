// SPDX-License-Identifier: Apache-2.0
#pragma once

// Dense kernels for the small mini-batches of the two-sweep microcircuit and its baselines (B = 10 rows against
// weight matrices of 500 x 784). A general matrix product packs both operands into blocks first, which for so few
// rows means copying every weight matrix once per mini-batch; these kernels read each weight row once, straight
// from its row-major storage, and keep the batch's partial sums in registers.
//
// Summation order is fixed and written out below, lane by lane (eight-lane vectors that GCC lowers to the
// instruction set of each clone; the library is built with -ffp-contract=off), so the results are the same
// whichever clone the runtime dispatch picks. They differ from Eigen's products only by rounding; the reference
// path (sweep.cpp: compute_update, apply_update) stays the test oracle.

#include <cstddef>

namespace apical::microcircuit::kernels {

/// out[b][j] = bias[j] + sum_i x[b][i] w[j][i]   (or out[b][j] += sum_i ..., with accumulate; bias may be null)
/// x: B x n_in, w: n_out x n_in, out: B x n_out, all row-major and dense. The sum over i runs in eight lanes
/// (lane l takes i = l, l + 8, ... below the last multiple of 8), the lanes are added pairwise
/// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)), then the remaining i in order, then the bias.
void times_transposed(const double* x, std::size_t B, std::size_t n_in, const double* w, std::size_t n_out,
                      const double* bias, double* out, bool accumulate);

/// out[b][i] = sum_j x[b][j] w[j][i], j ascending.   x: B x n_rows, w: n_rows x n_cols, out: B x n_cols.
void times(const double* x, std::size_t B, std::size_t n_rows, const double* w, std::size_t n_cols, double* out);

/// w[j][i] += scale * (sum_b post[b][j] pre[b][i]), b ascending.   w: n_out x n_in, post: B x n_out, pre: B x
/// n_in.
void add_outer(double* w, std::size_t n_out, std::size_t n_in, const double* post, const double* pre,
               std::size_t B, double scale);

/// bias[j] += scale * (sum_b post[b][j]), b ascending.   post: B x n.
void add_column_sums(double* bias, std::size_t n, const double* post, std::size_t B, double scale);

}  // namespace apical::microcircuit::kernels
