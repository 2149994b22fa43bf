// SPDX-License-Identifier: Apache-2.0
// apical::math::exp against libm (which is within about 0.5 ulp of the true value), its special values, and the
// vectorised rate kernel of the segregated engine against the scalar sigmoid it must reproduce bit for bit.
#include "apical/core/math.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "apical/models/segregated/network.hpp"
#include "models/segregated/kernels.hpp"

namespace apical {
namespace {

/// Distance in representable doubles between two non-negative values (exp is never negative).
std::uint64_t ulps(double a, double b) {
  const auto ia = std::bit_cast<std::uint64_t>(a), ib = std::bit_cast<std::uint64_t>(b);
  return ia > ib ? ia - ib : ib - ia;
}

struct Range {
  double lo, hi;
};

TEST(MathExp, WithinOneUlpOfLibmOverTheModelRangeAndTheWholeDoubleRange) {
  std::mt19937_64 gen(7);
  for (const Range r : {Range{-1, 1}, Range{-50, 50}, Range{-708.3, 709.7}, Range{-745.1, -708.4}}) {
    std::uniform_real_distribution<double> u(r.lo, r.hi);
    std::uint64_t worst = 0, differ = 0;
    constexpr int kN = 500000;
    for (int i = 0; i < kN; ++i) {
      const double x = u(gen);
      const std::uint64_t d = ulps(math::exp(x), std::exp(x));
      worst = std::max(worst, d);
      differ += d != 0 ? 1 : 0;
    }
    EXPECT_LE(worst, 1u) << "range [" << r.lo << ", " << r.hi << "]";
    // libm rounds almost correctly; a 1-ulp difference in a small share of the points is the cost of a plain
    // double polynomial (about 10 % here). A polynomial missing a term is off by many ulps everywhere.
    EXPECT_LT(static_cast<double>(differ) / kN, 0.2) << "range [" << r.lo << ", " << r.hi << "]";
  }
}

TEST(MathExp, SpecialValuesOverflowAndUnderflow) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(math::exp(0.0), 1.0);
  EXPECT_EQ(math::exp(-0.0), 1.0);
  EXPECT_EQ(math::exp(kInf), kInf);
  EXPECT_EQ(math::exp(-kInf), 0.0);
  EXPECT_TRUE(std::isnan(math::exp(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(math::exp(709.79), kInf);  // e^709.79 > DBL_MAX
  EXPECT_EQ(math::exp(1e300), kInf);
  EXPECT_TRUE(std::isfinite(math::exp(709.78)));
  EXPECT_LE(ulps(math::exp(709.78), std::exp(709.78)), 1u);
  EXPECT_EQ(math::exp(-745.2), 0.0);  // below half the smallest subnormal
  EXPECT_EQ(math::exp(-1e300), 0.0);
  EXPECT_EQ(math::exp(-745.1), std::numeric_limits<double>::denorm_min());
  EXPECT_LE(ulps(math::exp(-740.0), std::exp(-740.0)), 1u);  // subnormal result
  EXPECT_EQ(math::exp(1e-300), 1.0);
  EXPECT_LE(ulps(math::exp(1.0), std::numbers::e), 1u);
}

TEST(MathExp, RateKernelGivesTheScalarSigmoidsBits) {
  // kernels::rates is one vector loop (in the AVX-512, AVX2 or baseline clone picked at load time); each lane must
  // be the scalar lambda_max * sigmoid(x) of the dense reference, including the clamped and special inputs.
  std::mt19937_64 gen(11);
  std::uniform_real_distribution<double> u(-40, 40);
  std::vector<double> soma(1027);
  for (auto& v : soma) v = u(gen);
  soma[0] = 800;
  soma[1] = -800;
  soma[2] = std::numeric_limits<double>::infinity();
  soma[3] = -std::numeric_limits<double>::infinity();
  soma[4] = 745.5;
  soma[5] = -709.9;
  soma[6] = 0;
  std::vector<double> rate(soma.size());
  segregated::kernels::rates(soma.data(), rate.data(), 0.2, soma.size());
  for (std::size_t i = 0; i < soma.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint64_t>(rate[i]), std::bit_cast<std::uint64_t>(0.2 * segregated::sigmoid(soma[i])))
        << "soma " << soma[i];
  }
  EXPECT_EQ(rate[0], 0.2);
  EXPECT_EQ(rate[3], 0.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  segregated::kernels::rates(&nan, rate.data(), 0.2, 1);
  EXPECT_TRUE(std::isnan(rate[0]));
}

}  // namespace
}  // namespace apical
