// SPDX-License-Identifier: Apache-2.0
// Finding the dataset files on disk (see the rule at the top of dataset.hpp), loading a whole dataset, and the
// `apical data check` report.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "apical/core/error.hpp"
#include "apical/data/dataset.hpp"
#include "apical/data/md5.hpp"

namespace apical::data {
namespace {

/// The last component of a folder path, ignoring a trailing separator and resolving "." and "..".
std::string last_component(const std::filesystem::path& p) {
  std::filesystem::path q = p.lexically_normal();
  if (!q.has_filename()) q = q.parent_path();
  if (q.filename() == "." || q.filename() == ".." || q.empty()) {
    std::error_code ec;
    q = std::filesystem::absolute(q, ec).lexically_normal();
    if (!q.has_filename()) q = q.parent_path();
  }
  return q.filename().string();
}

std::filesystem::path cwd_relative(const std::filesystem::path& rel) {
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);
  if (ec) return rel;
  return (cwd / rel).lexically_normal();
}

/// The .gz file if present, else the plain one, else nothing.
std::optional<std::filesystem::path> find_file(const std::filesystem::path& folder, std::string_view name) {
  std::error_code ec;
  const std::filesystem::path gz = folder / (std::string(name) + ".gz");
  if (std::filesystem::is_regular_file(gz, ec)) return gz;
  const std::filesystem::path plain = folder / std::string(name);
  if (std::filesystem::is_regular_file(plain, ec)) return plain;
  return std::nullopt;
}

struct SearchBase {
  std::filesystem::path dir;
  std::string origin;           ///< why it is searched, e.g. "--data"
  bool debian_fashion = false;  ///< Debian's folder: holds Fashion-MNIST directly, nothing else
};

}  // namespace

std::filesystem::path debian_fashion_mnist_dir() {
  if (const char* env = std::getenv("APICAL_FASHION_MNIST_SYSTEM_DIR"); env != nullptr && *env != '\0') return env;
  return std::filesystem::path(kDebianFashionMnistDir);
}

namespace {

std::vector<SearchBase> search_bases(const std::optional<std::filesystem::path>& cli_dir) {
  std::vector<SearchBase> bases;
  if (cli_dir && !cli_dir->empty()) bases.push_back({*cli_dir, "--data"});
  if (const char* env = std::getenv("APICAL_DATA"); env != nullptr && *env != '\0') {
    bases.push_back({std::filesystem::path(env), "$APICAL_DATA"});
  }
  bases.push_back({cwd_relative("data"), "./data"});
  bases.push_back({cwd_relative(std::filesystem::path("..") / "shared" / "data"), "../shared/data"});
  bases.push_back({debian_fashion_mnist_dir(), "Debian package dataset-fashion-mnist", true});

  // Drop later duplicates (e.g. --data ./data).
  std::vector<SearchBase> unique;
  std::vector<std::filesystem::path> seen;
  for (auto& b : bases) {
    std::error_code ec;
    std::filesystem::path key = std::filesystem::absolute(b.dir, ec).lexically_normal();
    if (!key.has_filename()) key = key.parent_path();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    unique.push_back(std::move(b));
  }
  return unique;
}

}  // namespace

std::vector<std::filesystem::path> data_search_path(const std::optional<std::filesystem::path>& cli_dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& b : search_bases(cli_dir)) out.push_back(b.dir);
  return out;
}

DatasetSearch find_dataset(DatasetKind kind, const std::optional<std::filesystem::path>& cli_dir) {
  const std::string name(dataset_name(kind));
  const auto files = known_files(kind);
  DatasetSearch result;
  for (const auto& base : search_bases(cli_dir)) {
    std::vector<std::filesystem::path> folders;
    if (base.debian_fashion) {
      if (kind == DatasetKind::fashion_mnist) folders.push_back(base.dir);
    } else {
      folders.push_back(base.dir / name);
      if (last_component(base.dir) == name) folders.push_back(base.dir);
    }
    for (const auto& folder : folders) {
      const std::string where = fmt::format("{} ({})", folder.string(), base.origin);
      std::error_code ec;
      if (!std::filesystem::exists(folder, ec)) {
        result.searched.push_back(where + ": no such folder");
        continue;
      }
      if (!std::filesystem::is_directory(folder, ec)) {
        result.searched.push_back(where + ": not a folder");
        continue;
      }
      std::vector<std::filesystem::path> paths;
      std::string missing;
      for (const auto& f : files) {
        if (auto p = find_file(folder, f.name)) {
          paths.push_back(*p);
        } else {
          missing += fmt::format("{}{}[.gz]", missing.empty() ? "" : ", ", f.name);
        }
      }
      if (!missing.empty()) {
        result.searched.push_back(where + ": missing " + missing);
        continue;
      }
      result.searched.push_back(where + ": found");
      result.found = DatasetFiles{folder, paths[0], paths[1], paths[2], paths[3]};
      return result;
    }
  }
  return result;
}

namespace {

std::string not_found_message(DatasetKind kind, const DatasetSearch& search) {
  const std::string name(dataset_name(kind));
  std::string msg = fmt::format("{}: dataset not found. Places searched, in order:\n", name);
  for (const auto& line : search.searched) msg += "  " + line + "\n";
  msg += fmt::format(
      "A place needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
      "t10k-labels-idx1-ubyte (each plain or .gz) in BASE/{0}/, or directly in BASE/ if BASE is named '{0}'.\n"
      "To get the data, run:\n  apical data fetch {0}\n",
      name);
  if (kind == DatasetKind::fashion_mnist) {
    msg += fmt::format(
        "or install Debian's package (files go to {}):\n  sudo apt-get install dataset-fashion-mnist\n",
        kDebianFashionMnistDir);  // where the package puts them, whatever the override
  }
  msg += fmt::format("or pass --data DIR (or set APICAL_DATA=DIR) for a folder DIR that holds {}/.", name);
  return msg;
}

}  // namespace

DataSplit load_dataset(DatasetKind kind, const std::optional<std::filesystem::path>& cli_dir) {
  const DatasetSearch search = find_dataset(kind, cli_dir);
  if (!search.found) throw Error(not_found_message(kind, search));
  const DatasetFiles& f = *search.found;
  const std::string name(dataset_name(kind));
  DataSplit split;
  split.folder = f.folder;
  split.train = load_split(f.train_images, f.train_labels, name + "/train");
  split.test = load_split(f.test_images, f.test_labels, name + "/test");
  if (split.train.rows != split.test.rows || split.train.cols != split.test.cols) {
    fail("{}: training images are {}x{} but test images ({}) are {}x{}; both splits must have the same size",
         f.train_images.string(), split.train.rows, split.train.cols, f.test_images.string(), split.test.rows,
         split.test.cols);
  }
  return split;
}

}  // namespace apical::data

// ---------------------------------------------------------------------------------------------------------------
// Published checksums and the `apical data check` report.

namespace apical::data {
namespace {

// gz_md5: the published .gz files (verified for MNIST against the real files). raw_md5: the decompressed IDX data
// (MNIST computed from the verified .gz files; Fashion-MNIST computed from Debian's dataset-fashion-mnist, whose
// deflate streams are the published ones with normalised gzip headers, and equal to the published raw checksums).
constexpr KnownFile kMnistFiles[] = {
    {"train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb", 47040016},
    {"train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624", 60008},
    {"t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea", 7840016},
    {"t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637", 10008},
};
constexpr KnownFile kFashionFiles[] = {
    {"train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a", 47040016},
    {"train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9", 60008},
    {"t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a", 7840016},
    {"t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965", 10008},
};

bool has_gzip_magic(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) fail("{}: cannot open for reading: {}", path.string(), std::strerror(errno));
  std::array<unsigned char, 2> magic{};
  const std::size_t got = std::fread(magic.data(), 1, magic.size(), f);
  std::fclose(f);
  return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

/// MD5 of the decompressed content of a gzip file.
std::string decompressed_md5(const std::filesystem::path& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (gz == nullptr) fail("{}: cannot open gzip file: {}", path.string(), std::strerror(errno));
  Md5 md5;
  std::vector<std::uint8_t> chunk(1 << 16);
  for (;;) {
    const int got = gzread(gz, chunk.data(), static_cast<unsigned>(chunk.size()));
    int errnum = Z_OK;
    const char* msg = gzerror(gz, &errnum);
    if (got < 0 || errnum != Z_OK) {
      const std::string detail(msg);
      gzclose(gz);
      fail("{}: corrupt or incomplete gzip stream ({})", path.string(), detail);
    }
    if (got == 0) break;
    md5.update(std::span<const std::uint8_t>(chunk.data(), static_cast<std::size_t>(got)));
  }
  gzclose(gz);
  return md5.hex_digest();
}

std::string file_report(const std::filesystem::path& path, const KnownFile& known) {
  std::string out = "  " + path.string() + "\n    ";
  try {
    const auto bytes = std::filesystem::file_size(path);
    const std::string md5 = md5_file_hex(path);
    out += fmt::format("{} bytes, md5 {}: ", bytes, md5);
    if (has_gzip_magic(path)) {
      if (md5 == known.gz_md5) return out + "OK, matches the published .gz checksum\n";
      const std::string content = decompressed_md5(path);
      if (content == known.raw_md5) {
        return out + fmt::format(
                         "OK: differs from the published .gz ({}), as for recompressed files such as Debian's, "
                         "but the decompressed content matches the published data (md5 {})\n",
                         known.gz_md5, content);
      }
      return out + fmt::format(
                       "MISMATCH: the published .gz has md5 {}, and the decompressed content has md5 {} instead "
                       "of {}; delete the file and fetch it again\n",
                       known.gz_md5, content, known.raw_md5);
    }
    out +=
        "uncompressed file; the published checksums are for the .gz files, so its content is compared with the "
        "published uncompressed data: ";
    if (md5 == known.raw_md5) return out + "OK, matches\n";
    return out + fmt::format("MISMATCH, expected md5 {}; delete the file and fetch it again\n", known.raw_md5);
  } catch (const std::exception& e) {
    return out + "ERROR: " + e.what() + "\n";
  }
}

std::string split_report(const std::filesystem::path& images, const std::filesystem::path& labels,
                         const std::string& name) {
  try {
    const Dataset d = load_split(images, labels, name);
    return fmt::format("  {}: {} images of {}x{}, {} labels\n", name, d.size(), d.rows, d.cols, d.labels.size());
  } catch (const std::exception& e) {
    return fmt::format("  {}: ERROR: {}\n", name, e.what());
  }
}

}  // namespace

std::span<const KnownFile> known_files(DatasetKind kind) {
  if (kind == DatasetKind::mnist) return kMnistFiles;
  return kFashionFiles;
}

std::string data_check_report(const std::optional<std::filesystem::path>& cli_dir) {
  std::string out = "Data search path, in order:\n";
  for (const auto& base : search_bases(cli_dir)) out += fmt::format("  {} ({})\n", base.dir.string(), base.origin);
  for (const DatasetKind kind : kAllDatasets) {
    const std::string name(dataset_name(kind));
    out += "\n";
    DatasetSearch search;
    try {
      search = find_dataset(kind, cli_dir);
    } catch (const std::exception& e) {
      out += fmt::format("{}: ERROR while searching: {}\n", name, e.what());
      continue;
    }
    if (!search.found) {
      out += not_found_message(kind, search) + "\n";
      continue;
    }
    std::string where = search.searched.back();
    if (const auto pos = where.rfind(": found"); pos != std::string::npos) where.resize(pos);
    out += fmt::format("{}: found in {}\n", name, where);
    const DatasetFiles& f = *search.found;
    const auto known = known_files(kind);
    const std::filesystem::path* paths[] = {&f.train_images, &f.train_labels, &f.test_images, &f.test_labels};
    for (std::size_t i = 0; i < known.size(); ++i) out += file_report(*paths[i], known[i]);
    out += split_report(f.train_images, f.train_labels, name + "/train");
    out += split_report(f.test_images, f.test_labels, name + "/test");
  }
  return out;
}

}  // namespace apical::data
