// SPDX-License-Identifier: Apache-2.0
#include "apical/models/segregated/jacobian.hpp"

#include "apical/analysis/stats.hpp"
#include "apical/core/error.hpp"
#include "apical/io/archive.hpp"

namespace apical::segregated {
namespace {
std::size_t sz(int n) { return static_cast<std::size_t>(n); }
}  // namespace

JacobianRecorder::JacobianRecorder(int n_hidden, int n_out, int window)
    : n_hidden_(n_hidden),
      n_out_(n_out),
      window_(window),
      sum_beta_(sz(n_out) * sz(n_hidden), 0.0),
      sum_gamma_(sz(n_hidden) * sz(n_out), 0.0),
      sum_product_(sz(n_out) * sz(n_out), 0.0) {
  if (window < 1) fail("Jacobian window {} must be >= 1", window);
}

void JacobianRecorder::add(const Params& p, const Derived& d, const LayerWeights& output, const LayerWeights& hidden,
                           std::span<const double> u_bar_f) {
  const double lm = p.lambda_max;
  std::vector<double> beta(sz(n_out_) * sz(n_hidden_)), gamma(sz(n_hidden_) * sz(n_out_)),
      product(sz(n_out_) * sz(n_out_), 0.0);
  std::vector<double> rate_out(sz(n_out_));
  for (int k = 0; k < n_out_; ++k) {
    const double s = sigmoid(u_bar_f[sz(k)]);
    rate_out[sz(k)] = lm * s;
    const double gain = lm * s * (1.0 - s) * d.k_D;
    for (int i = 0; i < n_hidden_; ++i) beta[sz(k) * sz(n_hidden_) + sz(i)] = gain * output.w(k, i);
  }
  for (int i = 0; i < n_hidden_; ++i) {
    double z = hidden.c[sz(i)];
    for (int k = 0; k < n_out_; ++k) z += hidden.Y[sz(i) * sz(n_out_) + sz(k)] * rate_out[sz(k)];
    const double s = sigmoid(z);
    for (int k = 0; k < n_out_; ++k) {
      gamma[sz(i) * sz(n_out_) + sz(k)] = s * (1.0 - s) * hidden.Y[sz(i) * sz(n_out_) + sz(k)];
    }
  }
  for (int k = 0; k < n_out_; ++k) {
    for (int i = 0; i < n_hidden_; ++i) {
      const double b = beta[sz(k) * sz(n_hidden_) + sz(i)];
      for (int l = 0; l < n_out_; ++l) product[sz(k) * sz(n_out_) + sz(l)] += b * gamma[sz(i) * sz(n_out_) + sz(l)];
    }
  }
  auto push = [](std::deque<std::vector<double>>& ring, std::vector<double>& sum, std::vector<double> v, int window) {
    for (std::size_t e = 0; e < v.size(); ++e) sum[e] += v[e];
    ring.push_back(std::move(v));
    if (static_cast<int>(ring.size()) > window) {
      for (std::size_t e = 0; e < sum.size(); ++e) sum[e] -= ring.front()[e];
      ring.pop_front();
    }
  };
  push(beta_, sum_beta_, std::move(beta), window_);
  push(gamma_, sum_gamma_, std::move(gamma), window_);
  push(product_, sum_product_, std::move(product), window_);
}

std::vector<double> JacobianRecorder::mean_of_products() const {
  std::vector<double> m(sum_product_);
  for (auto& v : m) v /= static_cast<double>(std::max(count(), 1));
  return m;
}

std::vector<double> JacobianRecorder::product_of_means() const {
  const double n = std::max(count(), 1);
  std::vector<double> m(sz(n_out_) * sz(n_out_), 0.0);
  for (int k = 0; k < n_out_; ++k) {
    for (int i = 0; i < n_hidden_; ++i) {
      const double b = sum_beta_[sz(k) * sz(n_hidden_) + sz(i)] / n;
      for (int l = 0; l < n_out_; ++l) m[sz(k) * sz(n_out_) + sz(l)] += b * (sum_gamma_[sz(i) * sz(n_out_) + sz(l)] / n);
    }
  }
  return m;
}

double JacobianRecorder::max_eig_mean_of_products() const {
  return analysis::max_eig_i_minus_m(mean_of_products(), sz(n_out_));
}
double JacobianRecorder::max_eig_product_of_means() const {
  return analysis::max_eig_i_minus_m(product_of_means(), sz(n_out_));
}

void JacobianRecorder::save(io::ArchiveWriter& a, const std::string& prefix) const {
  auto flat = [](const std::deque<std::vector<double>>& ring) {
    std::vector<double> v;
    for (const auto& m : ring) v.insert(v.end(), m.begin(), m.end());
    return v;
  };
  a.put(prefix + ".beta", flat(beta_));
  a.put(prefix + ".gamma", flat(gamma_));
  a.put(prefix + ".product", flat(product_));
  a.put(prefix + ".sum_beta", sum_beta_);
  a.put(prefix + ".sum_gamma", sum_gamma_);
  a.put(prefix + ".sum_product", sum_product_);
}

void JacobianRecorder::load(const io::ArchiveReader& a, const std::string& prefix) {
  auto unflat = [&](const std::string& name, std::size_t size) {
    const auto v = a.get<double>(prefix + "." + name);
    if (size == 0 || v.size() % size != 0) fail("{}: Jacobian window '{}' has {} values", a.source().string(), name, v.size());
    std::deque<std::vector<double>> ring;
    for (std::size_t at = 0; at < v.size(); at += size) ring.emplace_back(v.begin() + static_cast<std::ptrdiff_t>(at), v.begin() + static_cast<std::ptrdiff_t>(at + size));
    return ring;
  };
  beta_ = unflat("beta", sz(n_out_) * sz(n_hidden_));
  gamma_ = unflat("gamma", sz(n_hidden_) * sz(n_out_));
  product_ = unflat("product", sz(n_out_) * sz(n_out_));
  sum_beta_ = a.get<double>(prefix + ".sum_beta");
  sum_gamma_ = a.get<double>(prefix + ".sum_gamma");
  sum_product_ = a.get<double>(prefix + ".sum_product");
}

}  // namespace apical::segregated
