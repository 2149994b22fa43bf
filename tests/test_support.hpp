// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "apical/data/dataset.hpp"

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

/// n synthetic rows x cols images, labels drawn from the stream (seed, "synthetic"): pixel j of an image of class
/// `label` is lit (128..255) when lit(j, label), otherwise with probability `noise`.
data::Dataset synthetic_images(std::size_t n, std::uint64_t seed, const std::string& name, std::size_t rows,
                               std::size_t cols, double noise,
                               const std::function<bool(std::size_t j, std::size_t label)>& lit);
/// A small synthetic stand-in for MNIST: 6 x 6 images in which each class lights its own 3 pixels, plus 5 % noise
/// (train from seed 1, test from seed 2), so that a small network learns it in an epoch or two.
data::DataSplit synthetic_data(std::size_t n_train, std::size_t n_test);
/// Writes a split as the four plain (not gzipped) IDX files of MNIST into base/mnist/, where `--data base` finds
/// them: runs of the real commands on synthetic data, without the MNIST files.
void write_mnist_files(const data::DataSplit& split, const std::filesystem::path& base);

/// The cells of some columns of a CSV file, row after row (e.g. a run's error columns, without its wall times).
std::vector<std::string> csv_cells(const std::filesystem::path& file, const std::vector<std::string>& columns);

/// Writes a file (tests only; not atomic).
void write_text(const std::filesystem::path& path, const std::string& content);
std::string read_text(const std::filesystem::path& path);

}  // namespace apical::test
