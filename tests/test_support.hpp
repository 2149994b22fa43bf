// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace apical::test {

/// A fresh, empty temporary folder, removed when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Folder with the real MNIST .gz files (../shared/data/mnist beside the source tree).
std::filesystem::path mnist_dir();
/// Folder of ../shared/data (holds mnist/).
std::filesystem::path shared_data_dir();
/// Folder with small test fixtures.
std::filesystem::path fixtures_dir();

struct CommandResult {
  int exit_code = -1;
  std::string output;  ///< stdout and stderr together
};
/// Runs the apical program with the given arguments (in folder `cwd` if given) and captures its output.
CommandResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& cwd = {});

/// The message of the apical::Error that f throws, or "(no error)".
std::string error_of(const std::function<void()>& f);

/// Writes a file (tests only; not atomic).
void write_text(const std::filesystem::path& path, const std::string& content);
std::string read_text(const std::filesystem::path& path);

}  // namespace apical::test
