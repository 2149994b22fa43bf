// SPDX-License-Identifier: Apache-2.0
#include "test_support.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "apical/core/error.hpp"
#include "apical/core/rng.hpp"
#include "apical/io/csv.hpp"

namespace apical::test {

TempDir::TempDir(const std::string& tag) {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("apical-test-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

data::Dataset synthetic_images(std::size_t n, std::uint64_t seed, const std::string& name, std::size_t rows,
                               std::size_t cols, double noise,
                               const std::function<bool(std::size_t j, std::size_t label)>& lit) {
  data::Dataset d;
  d.name = name;
  d.rows = rows;
  d.cols = cols;
  const std::size_t size = rows * cols;
  d.pixels.assign(n * size, 0);
  d.labels.resize(n);
  Stream s(seed, "synthetic");
  for (std::size_t k = 0; k < n; ++k) {
    const auto label = static_cast<std::uint8_t>(s.below(10));
    d.labels[k] = label;
    for (std::size_t j = 0; j < size; ++j) {
      if (lit(j, label) || s.uniform() < noise)
        d.pixels[k * size + j] = static_cast<std::uint8_t>(128 + s.below(128));
    }
  }
  return d;
}

data::DataSplit synthetic_data(std::size_t n_train, std::size_t n_test) {
  const auto own_pixels = [](std::size_t j, std::size_t label) { return j / 3 == label; };
  data::DataSplit split;
  split.train = synthetic_images(n_train, 1, "synthetic/train", 6, 6, 0.05, own_pixels);
  split.test = synthetic_images(n_test, 2, "synthetic/test", 6, 6, 0.05, own_pixels);
  return split;
}

std::vector<std::string> csv_cells(const std::filesystem::path& file, const std::vector<std::string>& columns) {
  const io::CsvTable t = io::CsvTable::read(file);
  std::vector<std::string> out;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    for (const auto& c : columns) out.push_back(t.cell(r, c));
  }
  return out;
}

namespace {
/// An IDX file of unsigned bytes: 0, 0, 0x08, the number of dimensions, the dimensions (big-endian), the values.
void write_idx(const std::filesystem::path& path, const std::vector<std::uint32_t>& dims,
               const std::vector<std::uint8_t>& values) {
  std::string bytes = {0, 0, 8, static_cast<char>(dims.size())};
  for (const std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>((d >> shift) & 0xFF);
  }
  bytes.append(values.begin(), values.end());
  write_text(path, bytes);
}
}  // namespace

void write_mnist_files(const data::DataSplit& split, const std::filesystem::path& base) {
  const std::filesystem::path folder = base / "mnist";
  std::filesystem::create_directories(folder);
  const auto write = [&](const data::Dataset& d, const std::string& prefix) {
    const auto n = static_cast<std::uint32_t>(d.size());
    write_idx(folder / (prefix + "-images-idx3-ubyte"),
              {n, static_cast<std::uint32_t>(d.rows), static_cast<std::uint32_t>(d.cols)}, d.pixels);
    write_idx(folder / (prefix + "-labels-idx1-ubyte"), {n}, d.labels);
  };
  write(split.train, "train");
  write(split.test, "t10k");
}

std::filesystem::path shared_data_dir() {
  return std::filesystem::path(APICAL_SOURCE_DIR).parent_path() / "shared" / "data";
}
std::filesystem::path mnist_dir() {
  return shared_data_dir() / "mnist";
}
std::filesystem::path fixtures_dir() {
  return APICAL_TEST_FIXTURES;
}

namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}
}  // namespace

CommandResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& cwd) {
  std::string cmd = cwd.empty() ? std::string() : "cd " + shell_quote(cwd.string()) + " && ";
  cmd += shell_quote(APICAL_CLI_PATH);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " 2>&1 </dev/null";
  CommandResult result;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + cmd);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void write_text(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace apical::test
