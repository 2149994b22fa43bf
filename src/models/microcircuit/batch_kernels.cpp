// SPDX-License-Identifier: Apache-2.0
#include "batch_kernels.hpp"

#include <algorithm>

#include "core/simd.hpp"

namespace apical::microcircuit::kernels {
namespace {

// The helpers below are always inlined into each clone, so the baseline ABI of a 64-byte vector argument never
// applies; GCC warns about it regardless.
#pragma GCC diagnostic ignored "-Wpsabi"

// Eight doubles; each lane is computed with the scalar operations written, in every clone.
typedef double v8 __attribute__((vector_size(64)));  // NOLINT(modernize-use-using): GCC attribute syntax
constexpr std::size_t kLanes = 8;

__attribute__((always_inline)) inline v8 load8(const double* p) {
  return simd::load<v8>(p);
}
__attribute__((always_inline)) inline void store8(double* p, v8 v) {
  simd::store(p, v);
}
__attribute__((always_inline)) inline double lane_sum(v8 a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

// At most this many batch rows share one pass over a weight row (their partial sums stay in registers: 12 of the
// 16 AVX2 registers, 6 of the 32 AVX-512 ones).
constexpr std::size_t kMaxRows = 6;

/// Rows per block so that B rows split into equal blocks of at most kMaxRows (10 -> 5 + 5, not 6 + 4).
std::size_t block_rows(std::size_t B) {
  const std::size_t blocks = (B + kMaxRows - 1) / kMaxRows;
  return (B + blocks - 1) / blocks;
}

/// sums[c] = sum_i x[c][i] wj[i] for the C rows of x, in the order documented in the header.
template <std::size_t C>
__attribute__((always_inline)) inline void dot_rows(const double* x, std::size_t n_in, const double* wj,
                                                    double* sums) {
  const std::size_t n8 = n_in - n_in % kLanes;
  v8 acc[C] = {};
  for (std::size_t i = 0; i < n8; i += kLanes) {
    const v8 wv = load8(wj + i);
    for (std::size_t c = 0; c < C; ++c) acc[c] += load8(x + c * n_in + i) * wv;
  }
  for (std::size_t c = 0; c < C; ++c) {
    double s = lane_sum(acc[c]);
    for (std::size_t i = n8; i < n_in; ++i) s += x[c * n_in + i] * wj[i];
    sums[c] = s;
  }
}

/// acc[c] = sum_j x[c][j] w[j][i .. i + 7], j ascending.
template <std::size_t C>
__attribute__((always_inline)) inline void column_block(const double* x, std::size_t n_rows, const double* w,
                                                        std::size_t n_cols, std::size_t i, double* out) {
  v8 acc[C] = {};
  for (std::size_t j = 0; j < n_rows; ++j) {
    const v8 wv = load8(w + j * n_cols + i);
    for (std::size_t c = 0; c < C; ++c) acc[c] += wv * x[c * n_rows + j];
  }
  for (std::size_t c = 0; c < C; ++c) store8(out + c * n_cols + i, acc[c]);
}

}  // namespace

APICAL_CLONES void times_transposed(const double* x, std::size_t B, std::size_t n_in, const double* w,
                                    std::size_t n_out, const double* bias, double* out, bool accumulate) {
  const std::size_t rows = block_rows(B);
  double sums[kMaxRows];
  for (std::size_t j = 0; j < n_out; ++j) {
    const double* wj = w + j * n_in;
    for (std::size_t b0 = 0; b0 < B; b0 += rows) {
      const std::size_t C = std::min(rows, B - b0);
      const double* xb = x + b0 * n_in;
      switch (C) {
        case 6:
          dot_rows<6>(xb, n_in, wj, sums);
          break;
        case 5:
          dot_rows<5>(xb, n_in, wj, sums);
          break;
        case 4:
          dot_rows<4>(xb, n_in, wj, sums);
          break;
        case 3:
          dot_rows<3>(xb, n_in, wj, sums);
          break;
        case 2:
          dot_rows<2>(xb, n_in, wj, sums);
          break;
        default:
          dot_rows<1>(xb, n_in, wj, sums);
          break;
      }
      for (std::size_t c = 0; c < C; ++c) {
        double& o = out[(b0 + c) * n_out + j];
        if (accumulate) {
          o += sums[c];
        } else {
          o = bias != nullptr ? sums[c] + bias[j] : sums[c];
        }
      }
    }
  }
}

APICAL_CLONES void times(const double* x, std::size_t B, std::size_t n_rows, const double* w, std::size_t n_cols,
                         double* out) {
  const std::size_t rows = block_rows(B);
  const std::size_t n8 = n_cols - n_cols % kLanes;
  for (std::size_t b0 = 0; b0 < B; b0 += rows) {
    const std::size_t C = std::min(rows, B - b0);
    const double* xb = x + b0 * n_rows;
    double* ob = out + b0 * n_cols;
    for (std::size_t i = 0; i < n8; i += kLanes) {
      switch (C) {
        case 6:
          column_block<6>(xb, n_rows, w, n_cols, i, ob);
          break;
        case 5:
          column_block<5>(xb, n_rows, w, n_cols, i, ob);
          break;
        case 4:
          column_block<4>(xb, n_rows, w, n_cols, i, ob);
          break;
        case 3:
          column_block<3>(xb, n_rows, w, n_cols, i, ob);
          break;
        case 2:
          column_block<2>(xb, n_rows, w, n_cols, i, ob);
          break;
        default:
          column_block<1>(xb, n_rows, w, n_cols, i, ob);
          break;
      }
    }
    for (std::size_t c = 0; c < C; ++c) {
      for (std::size_t i = n8; i < n_cols; ++i) {
        double s = 0.0;
        for (std::size_t j = 0; j < n_rows; ++j) s += xb[c * n_rows + j] * w[j * n_cols + i];
        ob[c * n_cols + i] = s;
      }
    }
  }
}

APICAL_CLONES void add_outer(double* w, std::size_t n_out, std::size_t n_in, const double* post, const double* pre,
                             std::size_t B, double scale) {
  const std::size_t n8 = n_in - n_in % kLanes;
  for (std::size_t j = 0; j < n_out; ++j) {
    double* wj = w + j * n_in;
    for (std::size_t i = 0; i < n8; i += kLanes) {
      v8 acc = {};
      for (std::size_t b = 0; b < B; ++b) acc += load8(pre + b * n_in + i) * post[b * n_out + j];
      store8(wj + i, load8(wj + i) + acc * scale);
    }
    for (std::size_t i = n8; i < n_in; ++i) {
      double s = 0.0;
      for (std::size_t b = 0; b < B; ++b) s += pre[b * n_in + i] * post[b * n_out + j];
      wj[i] += s * scale;
    }
  }
}

APICAL_CLONES void add_column_sums(double* bias, std::size_t n, const double* post, std::size_t B, double scale) {
  for (std::size_t j = 0; j < n; ++j) {
    double s = 0.0;
    for (std::size_t b = 0; b < B; ++b) s += post[b * n + j];
    bias[j] += s * scale;
  }
}

}  // namespace apical::microcircuit::kernels
