// SPDX-License-Identifier: Apache-2.0
#include "apical/analysis/plots.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "apical/core/process.hpp"

namespace apical::analysis {

namespace fs = std::filesystem;

std::string draw_plots(const std::string& paper, const fs::path& folder) {
  const fs::path package = fs::path(APICAL_SOURCE_DIR) / "python";
  std::optional<fs::path> python = find_program("/usr/bin/python3");
  if (!python) python = find_program("python3");
  if (!python || !fs::is_directory(package / "apical_plots")) {
    return "Plots were not drawn: python3 or the apical_plots package (python/ in the source tree) is missing.";
  }
  const std::string script = "import sys; sys.path.insert(0, " + nlohmann::json(package.string()).dump() +
                             "); import runpy; runpy.run_module('apical_plots', run_name='__main__')";
  const ProgramResult r = run_program(*python, {"-c", script, paper, folder.string()});
  const std::string again = " and run `PYTHONPATH=" + package.string() + " python3 -m apical_plots " + paper +
                            " " + folder.string() + "`.";
  if (r.exit_code == 0) return "Plots (PNG and SVG) are beside the CSV files: Fig_<panel>.png.";
  if (r.output.find("No module named 'sklearn'") != std::string::npos) {
    return "Plots were drawn, but not the t-SNE panels: scikit-learn is missing. Install it with `sudo apt-get "
           "install python3-sklearn`" +
           again;
  }
  if (r.output.find("No module named 'matplotlib'") != std::string::npos) {
    return "Plots were not drawn: matplotlib is missing. Install it with `sudo apt-get install "
           "python3-matplotlib`" +
           again;
  }
  return "Plots failed: " + r.output;
}

}  // namespace apical::analysis
