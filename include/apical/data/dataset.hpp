// SPDX-License-Identifier: Apache-2.0
// MNIST and Fashion-MNIST: loading a split, finding the files on disk, checking and fetching them.
//
// Where data is looked for (data_search_path), in order:
//   1. the folder given with --data DIR,
//   2. $APICAL_DATA (if set and not empty),
//   3. ./data and 4. ../shared/data (relative to the current working directory),
//   5. /usr/share/datasets/fashion-mnist, where Debian's package dataset-fashion-mnist installs
//      train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,
//      t10k-labels-idx1-ubyte.gz.
//
// Rule that keeps the two datasets apart: for a base folder BASE and a dataset NAME ("mnist" or "fashion-mnist"),
// the files are looked for in BASE/NAME/ and, only when the last component of BASE is exactly NAME, directly in
// BASE/. Debian's folder (5.) is searched for Fashion-MNIST only, and only directly. A folder is used only when it
// holds all four files, each either gzipped (FILE.gz, preferred when both exist) or plain.
// So /usr/share/datasets/fashion-mnist serves Fashion-MNIST only, and an MNIST search never takes files that lie
// directly in a folder not named "mnist" (e.g. `--data ~/fm` with loose Fashion files is not mistaken for MNIST).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace apical::data {

enum class DatasetKind { mnist, fashion_mnist };

/// "mnist" or "fashion-mnist"; anything else throws apical::Error listing the valid names.
DatasetKind parse_dataset_kind(std::string_view name);
/// "mnist" or "fashion-mnist" (also the folder name under a data folder).
std::string_view dataset_name(DatasetKind kind);
inline constexpr DatasetKind kAllDatasets[] = {DatasetKind::mnist, DatasetKind::fashion_mnist};
/// Where Debian's package dataset-fashion-mnist installs the four Fashion-MNIST .gz files.
inline constexpr std::string_view kDebianFashionMnistDir = "/usr/share/datasets/fashion-mnist";
/// Debian's Fashion-MNIST folder, or $APICAL_FASHION_MNIST_SYSTEM_DIR when set (another system location, or a
/// folder without the data to make sure a search does not fall back on it).
std::filesystem::path debian_fashion_mnist_dir();

/// One split of a dataset. Pixels stay 8-bit (47 MB for MNIST training) and are scaled to [0,1] on access.
struct Dataset {
  std::string name;  ///< e.g. "mnist/train"
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;  ///< size() * rows * cols values, image after image, each row-major
  std::vector<std::uint8_t> labels;  ///< one class 0..9 per image

  std::size_t size() const { return labels.size(); }
  std::size_t image_size() const { return rows * cols; }
  /// Pixel j (row-major index < image_size()) of an image, as value / 255 in [0,1]. Unchecked (hot path).
  float pixel(std::size_t image, std::size_t j) const {
    return static_cast<float>(pixels[image * image_size() + j]) / 255.0f;
  }
  /// Writes image n as value / 255 into out, which must hold exactly image_size() values (else apical::Error).
  void image(std::size_t n, std::span<double> out) const;
  /// The image_size() raw bytes of image n (apical::Error if n >= size()).
  std::span<const std::uint8_t> raw_image(std::size_t n) const;
  /// Images [begin, end) as a new Dataset named "<name>[begin:end]", e.g. slice(0, 55000) and
  /// slice(55000, 60000) for a train/validation split. Throws unless begin <= end <= size().
  Dataset slice(std::size_t begin, std::size_t end) const;
};

struct DataSplit {
  Dataset train, test;
  std::filesystem::path folder;  ///< where the files were found
};

/// Loads one split from an IDX image file (3-D: count x rows x cols) and an IDX label file (1-D), gzipped or
/// plain. Throws apical::Error naming the file(s) when the shapes are wrong, the counts differ or a label is > 9.
Dataset load_split(const std::filesystem::path& images, const std::filesystem::path& labels, std::string name);

/// The base folders searched for data, in order (see the top of this file). Duplicates are dropped; ./data and
/// ../shared/data are returned as absolute paths.
std::vector<std::filesystem::path> data_search_path(const std::optional<std::filesystem::path>& cli_dir);

/// The four files of a dataset found on disk.
struct DatasetFiles {
  std::filesystem::path folder;
  std::filesystem::path train_images, train_labels, test_images, test_labels;
};
struct DatasetSearch {
  std::optional<DatasetFiles> found;  ///< the first complete folder, if any
  /// One line per folder looked at, in order, e.g. "/x/data/mnist (./data): no such folder".
  std::vector<std::string> searched;
};
DatasetSearch find_dataset(DatasetKind kind, const std::optional<std::filesystem::path>& cli_dir);

/// Loads train and test from the first folder found. When none is found, throws apical::Error listing every
/// place searched (one per line) and the commands that get the data (`apical data fetch <name>`, and for
/// Fashion-MNIST `sudo apt-get install dataset-fashion-mnist`).
DataSplit load_dataset(DatasetKind kind, const std::optional<std::filesystem::path>& cli_dir);

/// A published dataset file with its checksums. gz_md5 is the MD5 of the distributed .gz file; raw_md5 that of the
/// decompressed IDX data, which identifies the content even when the .gz was recompressed (Debian's
/// dataset-fashion-mnist .gz files have normalised gzip headers, so their .gz MD5s differ from the published
/// ones).
struct KnownFile {
  std::string_view name;  ///< without ".gz", e.g. "train-images-idx3-ubyte"
  std::string_view gz_md5;
  std::string_view raw_md5;
  std::uint64_t raw_bytes;
};
/// The four files (train images, train labels, test images, test labels) of a dataset.
std::span<const KnownFile> known_files(DatasetKind kind);

/// Human-readable report for `apical data check`: for each dataset, where it was found (or every place searched
/// and how to get it), then per file its path, size, MD5 and whether it matches the published checksum, and the
/// image/label counts after loading. Never throws for a missing or corrupt dataset; it reports the error instead.
std::string data_check_report(const std::optional<std::filesystem::path>& cli_dir);

/// One file to download: URL = mirror + file_name; stored as dest_base/<dataset>/file_name.
struct FetchFile {
  std::string file_name;  ///< e.g. "train-images-idx3-ubyte.gz"
  std::string md5;        ///< expected MD5 of the downloaded bytes
};
struct FetchOptions {
  std::vector<std::string> mirrors;  ///< base URLs ending in '/', tried in order for each file
  std::vector<FetchFile> files;
  /// Program used to download: "curl" or "wget" (looked up on PATH) or a path to one of them. Empty: curl if it
  /// is on PATH, else wget. (wget cannot read file:// URLs.)
  std::string downloader;
  /// Called with one line of progress per file (e.g. "downloading URL"); may be empty.
  std::function<void(const std::string&)> progress;
};
/// The public mirrors: MNIST from ossci-datasets.s3.amazonaws.com then storage.googleapis.com/cvdf-datasets;
/// Fashion-MNIST from fashion-mnist.s3-website.eu-central-1.amazonaws.com.
std::vector<std::string> default_mirrors(DatasetKind kind);
/// default_mirrors(kind) and the four .gz files of known_files(kind) with their published MD5s.
FetchOptions default_fetch_options(DatasetKind kind);

/// Downloads the dataset's files into dest_base/<name>/ (created if needed). Each file already present with the
/// right MD5 is skipped. Otherwise each mirror is tried in turn: the download goes to a temporary file in the same
/// folder (curl or wget run directly, without a shell), its MD5 is verified, and only then is it renamed into
/// place. If no mirror delivers a file with the right MD5, the temporary file is removed and apical::Error lists
/// every URL tried with its failure (the downloader's message, or the expected and actual MD5).
void fetch_dataset(DatasetKind kind, const std::filesystem::path& dest_base);
void fetch_dataset(DatasetKind kind, const std::filesystem::path& dest_base, const FetchOptions& options);

}  // namespace apical::data
