// SPDX-License-Identifier: Apache-2.0
#pragma once

// apical's own exponential function, used by the models' transfer functions (the sigmoid of the segregated-
// dendrites model) so that
//   * the same input gives the same bits on every machine: libm's exp picks a variant at load time (with or
//     without fused multiply-add on x86-64) and may differ between C libraries, this one is plain IEEE double
//     arithmetic compiled with -ffp-contract=off;
//   * a loop of it vectorises (no calls, no branches, no tables), and every lane computes the same bits as the
//     scalar code, whatever instruction set the kernels' runtime dispatch picks.
//
// Method: x = k ln 2 + r with k = round(x / ln 2) (the 1.5 * 2^52 shift trick) and |r| <= ln(2) / 2, r computed
// with ln 2 split in two parts (the high part has enough trailing zeros that k * ln2_hi is exact for |k| < 2^11);
// e^r = 1 + r + r^2 q(r) with q the Taylor polynomial of (e^r - 1 - r) / r^2 up to r^11 / 13! (truncation error
// below 4e-18 relative); then the result is scaled by 2^k as two factors 2^(k/2), so that subnormal and
// overflowing results come out right. Accuracy: within 1 ulp of a correctly rounded exp (tested against libm over
// the whole double range); exp(0) = 1, exp(-inf) = 0, exp(+inf) = +inf, exp(NaN) = NaN, overflow gives +inf,
// underflow 0 or a subnormal.

#include <bit>
#include <cstdint>

namespace apical::math {

__attribute__((always_inline)) inline double exp(double x) {
  constexpr double kLog2e = 0x1.71547652b82fep0;
  constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
  constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;
  constexpr double kShift = 0x1.8p52;  // adding it rounds a double of magnitude < 2^51 to an integer
  // Beyond these bounds the result is 0 or +inf anyway; clamping keeps k within the exponent range (NaN passes
  // through the comparisons unchanged and is returned below).
  const double xc = x < -746.0 ? -746.0 : (x > 710.0 ? 710.0 : x);
  const double kd = (xc * kLog2e + kShift) - kShift;
  const double r = (xc - kd * kLn2Hi) - kd * kLn2Lo;
  double q = 1.0 / 6227020800.0;  // 1 / 13!
  q = q * r + 1.0 / 479001600.0;  // 1 / 12!
  q = q * r + 1.0 / 39916800.0;
  q = q * r + 1.0 / 3628800.0;
  q = q * r + 1.0 / 362880.0;
  q = q * r + 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  q = q * r + 0.5;
  const double p = 1.0 + (r + (r * r) * q);
  // 2^k as 2^k1 2^k2 with k1 = k / 2 rounded (exact in doubles); each factor's bits are (k_i + 1023) << 52, with
  // k_i read from the low bits of k_i + shift (unsigned arithmetic modulo 2^64: no 64-bit arithmetic shift, which
  // AVX2 lacks, so the AVX2 clone vectorises too).
  const double k1 = (kd * 0.5 + kShift) - kShift;
  const double k2 = kd - k1;
  const std::uint64_t base = std::bit_cast<std::uint64_t>(kShift) - 1023U;
  const double s1 = std::bit_cast<double>((std::bit_cast<std::uint64_t>(k1 + kShift) - base) << 52);
  const double s2 = std::bit_cast<double>((std::bit_cast<std::uint64_t>(k2 + kShift) - base) << 52);
  const double y = (p * s1) * s2;
  return x != x ? x : y;
}

}  // namespace apical::math
