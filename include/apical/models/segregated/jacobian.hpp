// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Jacobian condition of Theorem 1 (Guerguiev et al. 2017; spec 10.3, Fig 5S1) for a network with one hidden
// layer: at the end of each training example's forward phase,
//   J_beta  = diag(lambda_max sigma'(U-bar^f)) k_D W^1           (n_out x n_hidden; W^1 before the update)
//   J_gamma = diag(sigma'(Y lambda_max sigma(U-bar^f) + c)) Y    (n_hidden x n_out)
// and over the last `window` examples both statistics of A.10 are kept: the mean of the products J_beta J_gamma
// (the code's) and the product of the mean Jacobians (the paper's caption). The recorded value is the largest
// eigenvalue of (I - M)^T (I - M); the theorem needs it below 1.

#include "apical/models/segregated/network.hpp"

#include <deque>
#include <string>
#include <vector>

namespace apical::io {
class ArchiveWriter;
class ArchiveReader;
}  // namespace apical::io

namespace apical::segregated {

class JacobianRecorder {
 public:
  JacobianRecorder(int n_hidden, int n_out, int window = 100);

  /// Adds one example: `output` holds W^1 as it was during the forward phase, `hidden` Y and c of the hidden
  /// layer, `u_bar_f` the output layer's forward-phase mean somatic voltage.
  void add(const Params& p, const Derived& d, const LayerWeights& output, const LayerWeights& hidden,
           std::span<const double> u_bar_f);

  int count() const { return static_cast<int>(beta_.size()); }
  /// Mean over the window of J_beta J_gamma (n_out x n_out, row-major).
  std::vector<double> mean_of_products() const;
  /// (mean J_beta) (mean J_gamma) over the window.
  std::vector<double> product_of_means() const;
  double max_eig_mean_of_products() const;
  double max_eig_product_of_means() const;

  void save(io::ArchiveWriter& a, const std::string& prefix) const;
  void load(const io::ArchiveReader& a, const std::string& prefix);

 private:
  int n_hidden_, n_out_, window_;
  std::deque<std::vector<double>> beta_, gamma_, product_;  ///< the last `window` examples, oldest first
  std::vector<double> sum_beta_, sum_gamma_, sum_product_;  ///< running sums over the window
};

}  // namespace apical::segregated
