// SPDX-License-Identifier: Apache-2.0
// The Jacobian recorder of Fig 5S1 against a hand computation, and its 100-example window.
#include "apical/analysis/stats.hpp"
#include "apical/models/segregated/jacobian.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace apical::segregated {
namespace {

double sg(double x) { return 1 / (1 + std::exp(-x)); }

TEST(JacobianRecorder, MatchesHandComputationForOneExample) {
  Params p;
  p.n_input = 3;
  p.layers = {2, 2};
  const Derived d(p);
  LayerWeights out, hidden;
  out.n_post = 2;
  out.n_pre = 2;
  out.W = {0.5, -1.0, 2.0, 0.25};  // column-major: W(0,0)=0.5, W(1,0)=-1, W(0,1)=2, W(1,1)=0.25
  hidden.Y = {1.5, -0.5, 0.3, 2.0};  // row-major 2x2
  hidden.c = {0.1, -0.2};
  const std::vector<double> u = {0.7, -1.2};
  JacobianRecorder rec(2, 2, 100);
  rec.add(p, d, out, hidden, u);
  // By hand.
  const double lm = 0.2, kd = 0.6 / 0.7;
  double beta[2][2], gamma[2][2], prod[2][2] = {{0, 0}, {0, 0}};
  const double w[2][2] = {{0.5, 2.0}, {-1.0, 0.25}}, y[2][2] = {{1.5, -0.5}, {0.3, 2.0}}, c[2] = {0.1, -0.2};
  for (int k = 0; k < 2; ++k) {
    for (int i = 0; i < 2; ++i) beta[k][i] = lm * sg(u[k]) * (1 - sg(u[k])) * kd * w[k][i];
  }
  for (int i = 0; i < 2; ++i) {
    const double z = y[i][0] * lm * sg(u[0]) + y[i][1] * lm * sg(u[1]) + c[i];
    for (int l = 0; l < 2; ++l) gamma[i][l] = sg(z) * (1 - sg(z)) * y[i][l];
  }
  for (int k = 0; k < 2; ++k) {
    for (int l = 0; l < 2; ++l) {
      for (int i = 0; i < 2; ++i) prod[k][l] += beta[k][i] * gamma[i][l];
    }
  }
  const auto m = rec.mean_of_products();
  const auto pm = rec.product_of_means();
  for (int k = 0; k < 2; ++k) {
    for (int l = 0; l < 2; ++l) {
      EXPECT_NEAR(m[static_cast<std::size_t>(k * 2 + l)], prod[k][l], 1e-15);
      EXPECT_NEAR(pm[static_cast<std::size_t>(k * 2 + l)], prod[k][l], 1e-15);  // one example: the same
    }
  }
  const std::vector<double> flat = {prod[0][0], prod[0][1], prod[1][0], prod[1][1]};
  EXPECT_NEAR(rec.max_eig_mean_of_products(), analysis::max_eig_i_minus_m(flat, 2), 1e-14);
}

TEST(JacobianRecorder, WindowKeepsTheLastExamplesAndTheTwoStatisticsDiffer) {
  Params p;
  p.n_input = 3;
  p.layers = {2, 2};
  const Derived d(p);
  LayerWeights out, hidden;
  out.n_post = 2;
  out.n_pre = 2;
  out.W = {0.5, -1.0, 2.0, 0.25};
  hidden.Y = {1.5, -0.5, 0.3, 2.0};
  hidden.c = {0.0, 0.0};
  JacobianRecorder rec(2, 2, 3), fresh(2, 2, 3);
  for (int e = 0; e < 10; ++e) {
    const std::vector<double> u = {0.3 * e - 1, 1 - 0.2 * e};
    rec.add(p, d, out, hidden, u);
    if (e >= 7) fresh.add(p, d, out, hidden, u);  // only the last 3
  }
  EXPECT_EQ(rec.count(), 3);
  const auto a = rec.mean_of_products(), b = fresh.mean_of_products();
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(a[i], b[i], 1e-14);
  // The mean of products and the product of means are different statistics when the Jacobians vary.
  EXPECT_GT(std::abs(rec.max_eig_mean_of_products() - rec.max_eig_product_of_means()), 1e-6);
}

}  // namespace
}  // namespace apical::segregated
