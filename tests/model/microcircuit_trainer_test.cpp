// SPDX-License-Identifier: Apache-2.0
// The engine's training step of the two-sweep model (SweepTrainer and its small-batch kernels) against the
// reference: each kernel bit for bit against the summation order its header documents, and the trainer against
// compute_update + apply_update for every rule, both readings and every plastic weight class.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/models/microcircuit/sweep.hpp"
#include "models/microcircuit/batch_kernels.hpp"

namespace apical::microcircuit {
namespace {

std::vector<double> random_values(std::size_t n, std::uint64_t seed, const char* name) {
  Stream s(seed, name);
  std::vector<double> v(n);
  for (double& x : v) x = 2.0 * s.uniform() - 1.0;
  return v;
}

// Shapes with every remainder modulo the eight lanes and every block split of the batch rows.
const std::vector<std::size_t> kBatchRows = {1, 2, 5, 6, 7, 10, 13};
const std::vector<std::size_t> kWidths = {1, 7, 8, 9, 17, 37};

TEST(MicrocircuitKernels, TimesTransposedSumsInTheDocumentedOrder) {
  for (std::size_t B : kBatchRows) {
    for (std::size_t n_in : kWidths) {
      const std::size_t n_out = 5;
      const auto x = random_values(B * n_in, B * 100 + n_in, "x");
      const auto w = random_values(n_out * n_in, B * 100 + n_in, "w");
      const auto bias = random_values(n_out, B * 100 + n_in, "bias");
      std::vector<double> out(B * n_out), acc = random_values(B * n_out, 3, "acc"), acc0 = acc;
      kernels::times_transposed(x.data(), B, n_in, w.data(), n_out, bias.data(), out.data(), false);
      kernels::times_transposed(x.data(), B, n_in, w.data(), n_out, nullptr, acc.data(), true);
      const std::size_t n8 = n_in - n_in % 8;
      for (std::size_t b = 0; b < B; ++b) {
        for (std::size_t j = 0; j < n_out; ++j) {
          double lane[8] = {};
          for (std::size_t i = 0; i < n8; ++i) lane[i % 8] += x[b * n_in + i] * w[j * n_in + i];
          double s = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
          for (std::size_t i = n8; i < n_in; ++i) s += x[b * n_in + i] * w[j * n_in + i];
          EXPECT_EQ(out[b * n_out + j], s + bias[j]) << "B " << B << " n_in " << n_in << " b " << b << " j " << j;
          EXPECT_EQ(acc[b * n_out + j], acc0[b * n_out + j] + s) << "B " << B << " n_in " << n_in;
        }
      }
    }
  }
}

TEST(MicrocircuitKernels, TimesSumsRowsInOrder) {
  for (std::size_t B : kBatchRows) {
    for (std::size_t n_cols : kWidths) {
      const std::size_t n_rows = 11;
      const auto x = random_values(B * n_rows, B * 100 + n_cols, "x");
      const auto w = random_values(n_rows * n_cols, B * 100 + n_cols, "w");
      std::vector<double> out(B * n_cols, -1.0);
      kernels::times(x.data(), B, n_rows, w.data(), n_cols, out.data());
      for (std::size_t b = 0; b < B; ++b) {
        for (std::size_t i = 0; i < n_cols; ++i) {
          double s = 0.0;
          for (std::size_t j = 0; j < n_rows; ++j) s += x[b * n_rows + j] * w[j * n_cols + i];
          EXPECT_EQ(out[b * n_cols + i], s) << "B " << B << " n_cols " << n_cols << " b " << b << " i " << i;
        }
      }
    }
  }
}

TEST(MicrocircuitKernels, OuterProductAndColumnSumsAddTheBatchSumScaled) {
  for (std::size_t B : kBatchRows) {
    for (std::size_t n_in : kWidths) {
      const std::size_t n_out = 4;
      const auto post = random_values(B * n_out, B * 100 + n_in, "post");
      const auto pre = random_values(B * n_in, B * 100 + n_in, "pre");
      const std::vector<double> w0 = random_values(n_out * n_in, 9, "w"), b0 = random_values(n_out, 9, "b");
      std::vector<double> w = w0, bias = b0;
      const double scale = -0.037;
      kernels::add_outer(w.data(), n_out, n_in, post.data(), pre.data(), B, scale);
      kernels::add_column_sums(bias.data(), n_out, post.data(), B, scale);
      for (std::size_t j = 0; j < n_out; ++j) {
        double c = 0.0;
        for (std::size_t b = 0; b < B; ++b) c += post[b * n_out + j];
        EXPECT_EQ(bias[j], b0[j] + c * scale);
        for (std::size_t i = 0; i < n_in; ++i) {
          double s = 0.0;
          for (std::size_t b = 0; b < B; ++b) s += pre[b * n_in + i] * post[b * n_out + j];
          EXPECT_EQ(w[j * n_in + i], w0[j * n_in + i] + s * scale) << "B " << B << " n_in " << n_in;
        }
      }
    }
  }
}

Matrix random_rates(int rows, int cols, std::uint64_t seed) {
  Stream s(seed, "test.rates");
  Matrix x(rows, cols);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = s.uniform() < 0.3 ? s.uniform() : 0.0;
  return x;
}

/// Largest |a - b| over every weight class, relative to the largest |weight|.
double relative_difference(const SweepWeights& a, const SweepWeights& b) {
  double diff = 0, scale = 0;
  const auto visit = [&](const auto& x, const auto& y) {
    for (std::size_t k = 0; k < x.size(); ++k) {
      if (x[k].size() == 0) continue;
      diff = std::max(diff, (x[k] - y[k]).cwiseAbs().maxCoeff());
      scale = std::max(scale, x[k].cwiseAbs().maxCoeff());
    }
  };
  visit(a.w.up, b.w.up);
  visit(a.w.up_bias, b.w.up_bias);
  visit(a.w.down, b.w.down);
  visit(a.w.ip, b.w.ip);
  visit(a.w.ip_bias, b.w.ip_bias);
  visit(a.w.pi, b.w.pi);
  return diff / scale;
}

/// Largest change of any weight over the run, relative to the largest |weight| (the test must see learning).
double relative_change(const SweepWeights& before, const SweepWeights& after) {
  return relative_difference(after, before);
}

struct Case {
  const char* name;
  SweepParams p;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  SweepParams base;
  base.layers = {19, 13, 9, 5};
  base.eta_up = {0.3, 0.2, 0.1};
  base.rescale = false;
  SweepParams mc = base;
  mc.eta_ip = {0.05, 0.04};
  mc.eta_pi = {0.03, 0.02};
  mc.eta_down = {0.01, 0.02};
  out.push_back({"microcircuit, every class plastic", mc});
  SweepParams literal = mc;
  literal.reading = Reading::literal;
  out.push_back({"microcircuit, literal reading", literal});
  SweepParams tracking = base;
  tracking.rescale = true;
  tracking.eta_up = {1.0, 0.003, 0.01};
  out.push_back({"microcircuit, rescaled with tracking interneurons", tracking});
  SweepParams two = base;
  two.layers = {19, 23, 5};
  two.eta_up = {0.2, 0.1};
  two.eta_down = {0.02};
  out.push_back({"microcircuit, 19-23-5 with learned top-down", two});
  for (Rule rule : {Rule::backprop, Rule::fa, Rule::dfa, Rule::shallow}) {
    SweepParams q = base;
    q.rule = rule;
    out.push_back({rule == Rule::backprop ? "backprop"
                   : rule == Rule::fa     ? "fa"
                   : rule == Rule::dfa    ? "dfa"
                                          : "shallow",
                   q});
  }
  return out;
}

TEST(MicrocircuitTrainer, AgreesWithTheReferenceForEveryRule) {
  for (const Case& c : cases()) {
    const SweepWeights initial = SweepWeights::initial(c.p, 11);
    SweepWeights ref = initial, fast = initial;
    SweepTrainer trainer(c.p);
    for (int batch = 0; batch < 20; ++batch) {
      const int rows = batch == 19 ? 3 : 7;  // a short last mini-batch, as at the end of an epoch
      const Matrix x = random_rates(rows, c.p.size(0), static_cast<std::uint64_t>(batch));
      std::vector<int> labels(static_cast<std::size_t>(rows));
      for (int r = 0; r < rows; ++r) labels[static_cast<std::size_t>(r)] = (r + batch) % c.p.size(c.p.n_top());
      SweepState s_ref;
      apply_update(ref, compute_update(c.p, ref, x, labels, &s_ref));
      const SweepState& s = trainer.train_batch(fast, x, labels);
      EXPECT_LT((s.r_out_up - s_ref.r_out_up).cwiseAbs().maxCoeff(), 1e-13) << c.name << ", batch " << batch;
      for (std::size_t k = 1; k < s.u.size(); ++k) {
        EXPECT_LT((s.u[k] - s_ref.u[k]).cwiseAbs().maxCoeff(), 1e-13) << c.name << ", batch " << batch;
      }
    }
    EXPECT_GT(relative_change(initial, ref), 1e-3) << c.name;  // the comparison is about a network that learned
    EXPECT_LT(relative_difference(ref, fast), 1e-13) << c.name;
    // Weight classes the rule does not touch stay exactly as they were.
    if (c.p.rule != Rule::microcircuit || c.p.eta_down.empty()) {
      for (std::size_t k = 0; k < fast.w.down.size(); ++k) EXPECT_EQ(fast.w.down[k], initial.w.down[k]) << c.name;
    }
    if (c.p.rule == Rule::shallow) {
      for (int k = 1; k < c.p.n_top(); ++k) {
        EXPECT_EQ(fast.w.up[static_cast<std::size_t>(k)], initial.w.up[static_cast<std::size_t>(k)]) << c.name;
      }
    }
  }
}

TEST(MicrocircuitTrainer, RejectsAMismatchedBatch) {
  SweepParams p;
  p.layers = {4, 3, 2};
  p.eta_up = {0.1, 0.1};
  SweepWeights w = SweepWeights::initial(p, 1);
  SweepTrainer trainer(p);
  EXPECT_THROW(trainer.train_batch(w, Matrix::Zero(2, 4), {0}), Error);
  EXPECT_THROW(trainer.train_batch(w, Matrix::Zero(1, 5), {0}), Error);
}

}  // namespace
}  // namespace apical::microcircuit
