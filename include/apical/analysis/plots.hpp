// SPDX-License-Identifier: Apache-2.0
#pragma once
// Drawing a paper's figures from the CSV files of `apical reproduce`, through the Python package
// python/apical_plots (Debian's matplotlib, and scikit-learn for t-SNE).

#include <filesystem>
#include <string>

namespace apical::analysis {

/// Runs `python3 -m apical_plots <paper> <folder>` with the package from the source tree and returns one sentence
/// for the report: where the plots are, or what is missing (python3, matplotlib, scikit-learn) with the Debian
/// package to install and the command that draws them afterwards. Never throws for a missing tool.
std::string draw_plots(const std::string& paper, const std::filesystem::path& folder);

}  // namespace apical::analysis
