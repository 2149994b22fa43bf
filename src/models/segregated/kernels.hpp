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

/// rate[i] = lambda_max * sigmoid(soma[i]) with `sigmoid` (and its exponential, apical::math::exp) inlined: one
/// vector loop, the same bits as the scalar expression.
void rates(const double* __restrict soma, double* __restrict rate, double lambda_max, std::size_t n);

/// A[i] = (((0 + Y[i][0] fb[0]) + Y[i][1] fb[1]) + ... + Y[i][n_fb - 1] fb[n_fb - 1]) + c[i], Y row-major
/// (n x n_fb): each neuron's sum in ascending k, eight neurons at a time so that their sums do not wait for each
/// other.
void apical(const double* Y, const double* fb, const double* c, double* out, std::size_t n, std::size_t n_fb);

/// One time step of a hidden layer's dendrite and soma, fused into one pass over the neurons (spec 2.1-2.2).
/// For every neuron i < n, with the operations in exactly this order (as the dense reference computes them):
///   drive[0][i] = (((0 + col[0][i] n[0]) + col[1][i] n[1]) + ...)      the new per-delay drive W S(t), spikes
///                                                                         in the order given
///   basal[i]    = (((0 + kappa[0] drive[0][i]) + ... + kappa[K-1] drive[K-1][i]) + b[i])   B, delays ascending
///   soma[i]     = c + dt ((-g_L c + g_B (basal[i] - c)) + g_A (apical[i] - c))          C, with c = soma[i]
/// drive[d] is the per-delay drive of delay d + 1 (drive[0] is written, the others read). Blocks of neurons are
/// kept in registers across the spikes and delays, so each vector is read once per step.
struct HiddenStep {
  const double* const* col;  ///< n_spikes weight columns
  const double* count;       ///< n_spikes spike counts
  std::size_t n_spikes;
  double* const* drive;  ///< K per-delay drive vectors, delay 1 first
  const double* kappa;   ///< K kernel values
  std::size_t K;
  const double* b;       ///< bias
  const double* apical;  ///< A (multiplied by g_A)
  double dt, g_L, g_B, g_A;
  double* basal;  ///< B, written
  double* soma;   ///< C, updated
  std::size_t n;
};
void hidden_step(const HiddenStep& h);

}  // namespace apical::segregated::kernels
