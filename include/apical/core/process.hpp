// SPDX-License-Identifier: Apache-2.0
#pragma once

// Running other programs (curl/wget for data fetch, python3 for plots): with an argument vector, never a shell.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace apical {

/// The full path of a program: as given if it contains a '/', else the first match on $PATH.
std::optional<std::filesystem::path> find_program(const std::string& name);

struct ProgramResult {
  int exit_code = -1;  ///< -1 if killed by a signal
  std::string output;  ///< stdout and stderr together
};

/// Runs a program with an argument vector (no shell), stdin from /dev/null, capturing its output.
ProgramResult run_program(const std::filesystem::path& program, const std::vector<std::string>& args);

}  // namespace apical
