// SPDX-License-Identifier: Apache-2.0
// Datasets on small synthetic IDX files: loading a split and its checks, the search for data folders, the
// "not found" message, the check report, and fetching over file:// URLs with MD5 verification.
#include "apical/data/dataset.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "apical/core/error.hpp"
#include "apical/data/md5.hpp"
#include "test_support.hpp"

namespace apical::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values) {
  std::string out = {'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xFF));
  }
  out.append(values.begin(), values.end());
  return out;
}

void write_file(const fs::path& path, const std::string& bytes, bool gz) {
  if (!gz) {
    test::write_text(path, bytes);
    return;
  }
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(f), Z_OK);
}

/// Images whose pixel j of image n is (n * 31 + j * 7) % 256; labels n % 10.
void write_split(const fs::path& images, const fs::path& labels, std::uint32_t n, std::uint32_t rows,
                 std::uint32_t cols, bool gz) {
  std::vector<std::uint8_t> px(std::size_t{n} * rows * cols);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < std::size_t{rows} * cols; ++j) {
      px[i * rows * cols + j] = static_cast<std::uint8_t>((i * 31 + j * 7) % 256);
    }
  }
  std::vector<std::uint8_t> lab(n);
  for (std::size_t i = 0; i < n; ++i) lab[i] = static_cast<std::uint8_t>(i % 10);
  write_file(images, idx_bytes({n, rows, cols}, px), gz);
  write_file(labels, idx_bytes({n}, lab), gz);
}

/// The four standard files in a folder: train of n_train images, test of n_test images, 4x3 pixels.
void write_dataset(const fs::path& folder, std::uint32_t n_train, std::uint32_t n_test, bool gz) {
  fs::create_directories(folder);
  const std::string ext = gz ? ".gz" : "";
  write_split(folder / ("train-images-idx3-ubyte" + ext), folder / ("train-labels-idx1-ubyte" + ext), n_train, 4,
              3, gz);
  write_split(folder / ("t10k-images-idx3-ubyte" + ext), folder / ("t10k-labels-idx1-ubyte" + ext), n_test, 4, 3,
              gz);
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an apical::Error";
  return "";
}

/// Sets (or unsets, with nullopt) an environment variable for the scope and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// Makes `dir` the working directory for the scope.
class ScopedCwd {
 public:
  explicit ScopedCwd(const fs::path& dir) : old_(fs::current_path()) { fs::current_path(dir); }
  ~ScopedCwd() { fs::current_path(old_); }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;

 private:
  fs::path old_;
};

/// A sandbox for the search: the working directory is ROOT/work/run (so ./data is ROOT/work/run/data and
/// ../shared/data is ROOT/work/shared/data) and $APICAL_DATA is unset.
class SearchSandbox : public ::testing::Test {
 protected:
  SearchSandbox() = default;
  fs::path run() const { return run_; }
  fs::path local_data() const { return run_ / "data"; }
  fs::path shared_data() const { return root_.path() / "work" / "shared" / "data"; }
  fs::path root() const { return root_.path(); }

 private:
  static fs::path make_dir(const fs::path& p) {
    fs::create_directories(p);
    return p;
  }
  test::TempDir root_{"search"};
  fs::path run_ = make_dir(root_.path() / "work" / "run");
  ScopedEnv env_{"APICAL_DATA", std::nullopt};

 protected:
  ScopedCwd cwd_{run_};
};

// ---------------------------------------------------------------------------------------------------------------
// Names

TEST(DatasetKind, ParseAndName) {
  EXPECT_EQ(parse_dataset_kind("mnist"), DatasetKind::mnist);
  EXPECT_EQ(parse_dataset_kind("fashion-mnist"), DatasetKind::fashion_mnist);
  EXPECT_EQ(dataset_name(DatasetKind::mnist), "mnist");
  EXPECT_EQ(dataset_name(DatasetKind::fashion_mnist), "fashion-mnist");
  const std::string msg = error_of([] { parse_dataset_kind("fashion_mnist"); });
  EXPECT_THAT(msg, HasSubstr("unknown dataset 'fashion_mnist'"));
  EXPECT_THAT(msg, HasSubstr("mnist, fashion-mnist"));
}

// ---------------------------------------------------------------------------------------------------------------
// load_split and Dataset

class SplitFiles : public ::testing::TestWithParam<bool> {
 protected:
  test::TempDir dir_{"split"};
};

TEST_P(SplitFiles, LoadsImagesAndLabels) {
  write_split(dir_ / "img", dir_ / "lab", 12, 4, 3, GetParam());
  const Dataset d = load_split(dir_ / "img", dir_ / "lab", "toy/train");
  EXPECT_EQ(d.name, "toy/train");
  EXPECT_EQ(d.size(), 12U);
  EXPECT_EQ(d.rows, 4U);
  EXPECT_EQ(d.cols, 3U);
  EXPECT_EQ(d.image_size(), 12U);
  EXPECT_EQ(d.pixels.size(), 144U);
  EXPECT_EQ(d.labels[7], 7);
  EXPECT_EQ(d.labels[11], 1);
  // pixel j of image n is (31 n + 7 j) % 256
  EXPECT_EQ(d.raw_image(5)[2], (31 * 5 + 7 * 2) % 256);
  EXPECT_FLOAT_EQ(d.pixel(5, 2), static_cast<float>((31 * 5 + 7 * 2) % 256) / 255.0f);
  std::vector<double> out(12);
  d.image(9, out);
  for (std::size_t j = 0; j < out.size(); ++j) {
    EXPECT_DOUBLE_EQ(out[j], static_cast<double>((31 * 9 + 7 * j) % 256) / 255.0);
    EXPECT_GE(out[j], 0.0);
    EXPECT_LE(out[j], 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(PlainAndGzip, SplitFiles, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "Gzip" : "Plain"; });

TEST(Dataset, SliceAndItsRangeErrors) {
  test::TempDir dir("split");
  write_split(dir / "img", dir / "lab", 10, 4, 3, false);
  const Dataset d = load_split(dir / "img", dir / "lab", "toy/train");
  const Dataset val = d.slice(7, 10);
  EXPECT_EQ(val.name, "toy/train[7:10]");
  EXPECT_EQ(val.size(), 3U);
  EXPECT_EQ(val.rows, 4U);
  EXPECT_EQ(val.labels[0], 7);
  EXPECT_TRUE(std::equal(val.raw_image(1).begin(), val.raw_image(1).end(), d.raw_image(8).begin()));
  EXPECT_EQ(d.slice(4, 4).size(), 0U);

  const std::string past = error_of([&] { d.slice(5, 11); });
  EXPECT_THAT(past, HasSubstr("toy/train: slice [5, 11) is out of range"));
  EXPECT_THAT(past, HasSubstr("0 <= begin <= end <= 10"));
  EXPECT_THAT(error_of([&] { d.slice(6, 5); }), HasSubstr("slice [6, 5) is out of range"));
  EXPECT_THAT(error_of([&] { d.raw_image(10); }), HasSubstr("image index 10 is out of range; valid: 0 to 9"));
  std::vector<double> small(5);
  EXPECT_THAT(error_of([&] { d.image(0, small); }),
              HasSubstr("the output holds 5 values but an image has 12 (4x3)"));
}

TEST(LoadSplit, ImageFileMustBe3D) {
  test::TempDir dir("split");
  write_file(dir / "flat-images", idx_bytes({2, 12}, std::vector<std::uint8_t>(24)), true);
  write_file(dir / "labels", idx_bytes({2}, {1, 2}), true);
  const std::string msg = error_of([&] { load_split(dir / "flat-images", dir / "labels", "x"); });
  EXPECT_THAT(msg, HasSubstr("flat-images"));
  EXPECT_THAT(msg, HasSubstr("must be 3-dimensional (images x rows x columns), but it has 2"));
}

TEST(LoadSplit, LabelFileMustBe1D) {
  test::TempDir dir("split");
  write_split(dir / "images", dir / "unused", 2, 2, 2, false);
  write_file(dir / "labels-2d", idx_bytes({2, 1}, {1, 2}), false);
  const std::string msg = error_of([&] { load_split(dir / "images", dir / "labels-2d", "x"); });
  EXPECT_THAT(msg, HasSubstr("labels-2d"));
  EXPECT_THAT(msg, HasSubstr("must be 1-dimensional"));
}

TEST(LoadSplit, CountMismatchNamesBothFilesAndCounts) {
  test::TempDir dir("split");
  write_split(dir / "train-images", dir / "train-labels", 12, 2, 2, true);
  write_split(dir / "unused-images", dir / "t10k-labels", 10, 2, 2, true);
  const std::string msg = error_of([&] { load_split(dir / "train-images", dir / "t10k-labels", "x"); });
  EXPECT_THAT(msg, HasSubstr("train-images holds 12 images"));
  EXPECT_THAT(msg, HasSubstr("t10k-labels holds 10 labels"));
  EXPECT_THAT(msg, HasSubstr("counts must match"));
}

TEST(LoadSplit, OutOfRangeLabelNamesFileIndexAndValue) {
  test::TempDir dir("split");
  write_split(dir / "images", dir / "unused", 4, 2, 2, false);
  write_file(dir / "bad-labels", idx_bytes({4}, {3, 9, 10, 0}), true);
  const std::string msg = error_of([&] { load_split(dir / "images", dir / "bad-labels", "x"); });
  EXPECT_THAT(msg, HasSubstr("bad-labels: label 2 (0-based) has value 10"));
  EXPECT_THAT(msg, HasSubstr("0 to 9"));
}

TEST(LoadSplit, MissingFileIsNamed) {
  test::TempDir dir("split");
  write_split(dir / "images", dir / "labels", 4, 2, 2, false);
  EXPECT_THAT(error_of([&] { load_split(dir / "images", dir / "no-labels.gz", "x"); }),
              HasSubstr("no-labels.gz: no such file"));
}

// ---------------------------------------------------------------------------------------------------------------
// Search path and finding folders

TEST_F(SearchSandbox, SearchPathOrderWithoutCliOrEnv) {
  const auto path = data_search_path(std::nullopt);
  ASSERT_EQ(path.size(), 3U);
  EXPECT_EQ(path[0], local_data());
  EXPECT_EQ(path[1], shared_data());
  EXPECT_EQ(path[2], fs::path(kDebianFashionMnistDir));
}

TEST_F(SearchSandbox, SearchPathOrderWithCliAndEnv) {
  ScopedEnv env("APICAL_DATA", (root() / "env").string());
  const auto path = data_search_path(root() / "cli");
  ASSERT_EQ(path.size(), 5U);
  EXPECT_EQ(path[0], root() / "cli");
  EXPECT_EQ(path[1], root() / "env");
  EXPECT_EQ(path[2], local_data());
  EXPECT_EQ(path[3], shared_data());
  EXPECT_EQ(path[4], fs::path(kDebianFashionMnistDir));
}

TEST_F(SearchSandbox, EmptyEnvIsIgnoredAndDuplicatesDropped) {
  ScopedEnv env("APICAL_DATA", std::string());
  const auto path = data_search_path(fs::path("data"));  // the same folder as ./data
  ASSERT_EQ(path.size(), 3U);
  EXPECT_EQ(path[0], fs::path("data"));
  EXPECT_EQ(path[1], shared_data());
}

TEST_F(SearchSandbox, CliBeatsEnvBeatsLocalBeatsShared) {
  write_dataset(root() / "cli" / "mnist", 5, 2, true);
  write_dataset(root() / "env" / "mnist", 6, 2, false);
  write_dataset(local_data() / "mnist", 7, 2, true);
  write_dataset(shared_data() / "mnist", 8, 2, true);
  ScopedEnv env("APICAL_DATA", (root() / "env").string());

  DataSplit s = load_dataset(DatasetKind::mnist, root() / "cli");
  EXPECT_EQ(s.train.size(), 5U);
  EXPECT_EQ(s.folder, root() / "cli" / "mnist");
  EXPECT_EQ(s.train.name, "mnist/train");
  EXPECT_EQ(s.test.name, "mnist/test");
  EXPECT_EQ(s.test.size(), 2U);

  EXPECT_EQ(load_dataset(DatasetKind::mnist, std::nullopt).train.size(), 6U);
  {
    ScopedEnv no_env("APICAL_DATA", std::nullopt);
    EXPECT_EQ(load_dataset(DatasetKind::mnist, std::nullopt).train.size(), 7U);
    fs::remove_all(local_data());
    EXPECT_EQ(load_dataset(DatasetKind::mnist, std::nullopt).train.size(), 8U);
    // A --data folder without the dataset is skipped (and listed), not fatal.
    const DatasetSearch search = find_dataset(DatasetKind::mnist, root() / "nowhere");
    ASSERT_TRUE(search.found);
    EXPECT_EQ(search.found->folder, shared_data() / "mnist");
    EXPECT_THAT(search.searched.front(), HasSubstr("nowhere/mnist (--data): no such folder"));
  }
}

TEST_F(SearchSandbox, FilesDirectlyInAFolderNamedAfterTheDataset) {
  write_dataset(root() / "downloads" / "mnist", 5, 2, false);
  const DatasetSearch search = find_dataset(DatasetKind::mnist, root() / "downloads" / "mnist");
  ASSERT_TRUE(search.found);
  EXPECT_EQ(search.found->folder, root() / "downloads" / "mnist");
  EXPECT_EQ(search.found->train_images, root() / "downloads" / "mnist" / "train-images-idx3-ubyte");
  // Also with a trailing separator.
  EXPECT_TRUE(find_dataset(DatasetKind::mnist, fs::path((root() / "downloads" / "mnist").string() + "/")).found);
}

TEST_F(SearchSandbox, LooseFilesInAFolderNamedOtherwiseAreNotTaken) {
  // Fashion files lying directly in a folder named fashion-mnist must not be taken for MNIST, nor loose files in
  // a folder with another name for either dataset.
  write_dataset(root() / "fashion-mnist", 5, 2, true);
  write_dataset(root() / "somewhere", 5, 2, true);
  EXPECT_FALSE(find_dataset(DatasetKind::mnist, root() / "fashion-mnist").found);
  EXPECT_FALSE(find_dataset(DatasetKind::mnist, root() / "somewhere").found);
  // (Debian's dataset-fashion-mnist may be installed, and is then found; the loose files must not be.)
  const DatasetSearch loose = find_dataset(DatasetKind::fashion_mnist, root() / "somewhere");
  if (loose.found) {
    EXPECT_EQ(loose.found->folder, fs::path(kDebianFashionMnistDir));
  }
  const DatasetSearch fashion = find_dataset(DatasetKind::fashion_mnist, root() / "fashion-mnist");
  ASSERT_TRUE(fashion.found);
  EXPECT_EQ(fashion.found->folder, root() / "fashion-mnist");
  // The two datasets side by side under one base are kept apart.
  write_dataset(root() / "both" / "mnist", 3, 1, true);
  write_dataset(root() / "both" / "fashion-mnist", 4, 1, false);
  EXPECT_EQ(load_dataset(DatasetKind::mnist, root() / "both").train.size(), 3U);
  EXPECT_EQ(load_dataset(DatasetKind::fashion_mnist, root() / "both").train.size(), 4U);
}

TEST_F(SearchSandbox, MixedPlainAndGzipFilesAndGzipPreferred) {
  const fs::path dir = root() / "mix" / "mnist";
  write_dataset(dir, 5, 2, true);
  fs::rename(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-images-idx3-ubyte.tmp");
  {
    gzFile f = gzopen((dir / "t10k-images-idx3-ubyte.tmp").c_str(), "rb");
    std::string raw(10000, '\0');
    const int n = gzread(f, raw.data(), static_cast<unsigned>(raw.size()));
    gzclose(f);
    raw.resize(static_cast<std::size_t>(n));
    test::write_text(dir / "t10k-images-idx3-ubyte", raw);
    fs::remove(dir / "t10k-images-idx3-ubyte.tmp");
  }
  test::write_text(dir / "train-labels-idx1-ubyte", "not used: the .gz beside it is preferred");
  const DatasetSearch search = find_dataset(DatasetKind::mnist, root() / "mix");
  ASSERT_TRUE(search.found);
  EXPECT_EQ(search.found->test_images, dir / "t10k-images-idx3-ubyte");
  EXPECT_EQ(search.found->train_labels, dir / "train-labels-idx1-ubyte.gz");
  EXPECT_EQ(load_dataset(DatasetKind::mnist, root() / "mix").test.size(), 2U);
}

TEST_F(SearchSandbox, IncompleteFolderIsSkippedAndItsMissingFilesListed) {
  write_dataset(root() / "partial" / "mnist", 5, 2, true);
  fs::remove(root() / "partial" / "mnist" / "t10k-labels-idx1-ubyte.gz");
  const DatasetSearch search = find_dataset(DatasetKind::mnist, root() / "partial");
  EXPECT_FALSE(search.found);
  EXPECT_THAT(search.searched.front(), HasSubstr("partial/mnist (--data): missing t10k-labels-idx1-ubyte[.gz]"));
}

TEST_F(SearchSandbox, NothingFoundListsEveryPlaceAndTheFetchCommand) {
  ScopedEnv env("APICAL_DATA", (root() / "env").string());
  fs::create_directories(root() / "env" / "mnist");
  const std::string msg = error_of([&] { load_dataset(DatasetKind::mnist, root() / "cli"); });
  EXPECT_THAT(msg, HasSubstr("mnist: dataset not found"));
  EXPECT_THAT(msg, HasSubstr("\n  " + (root() / "cli" / "mnist").string() + " (--data): no such folder\n"));
  EXPECT_THAT(msg, HasSubstr("\n  " + (root() / "env" / "mnist").string() + " ($APICAL_DATA): missing "));
  EXPECT_THAT(msg, HasSubstr("\n  " + (local_data() / "mnist").string() + " (./data): no such folder\n"));
  EXPECT_THAT(msg, HasSubstr("\n  " + (shared_data() / "mnist").string() + " (../shared/data): no such folder\n"));
  EXPECT_THAT(msg, HasSubstr("\n  apical data fetch mnist\n"));
  EXPECT_THAT(msg, Not(HasSubstr("apt-get")));
  EXPECT_THAT(msg, Not(HasSubstr(kDebianFashionMnistDir)));  // Debian's folder holds Fashion-MNIST only
}

TEST_F(SearchSandbox, FashionNothingFoundAlsoNamesTheDebianPackage) {
  // Point the system location at an empty folder, so the test runs whether or not Debian's package is installed.
  const fs::path system = root() / "no-system-fashion";
  ::setenv("APICAL_FASHION_MNIST_SYSTEM_DIR", system.c_str(), 1);
  const std::string msg = error_of([&] { load_dataset(DatasetKind::fashion_mnist, std::nullopt); });
  ::unsetenv("APICAL_FASHION_MNIST_SYSTEM_DIR");
  EXPECT_THAT(msg, HasSubstr("fashion-mnist: dataset not found"));
  EXPECT_THAT(msg, HasSubstr((local_data() / "fashion-mnist").string() + " (./data)"));
  EXPECT_THAT(msg, HasSubstr((shared_data() / "fashion-mnist").string() + " (../shared/data)"));
  EXPECT_THAT(msg, HasSubstr("\n  " + system.string() + " (Debian package dataset-fashion-mnist)"));
  EXPECT_THAT(msg, HasSubstr(std::string(kDebianFashionMnistDir)));  // where the package would put the files
  EXPECT_THAT(msg, HasSubstr("\n  apical data fetch fashion-mnist\n"));
  EXPECT_THAT(msg, HasSubstr("\n  sudo apt-get install dataset-fashion-mnist\n"));
}

TEST_F(SearchSandbox, TrainAndTestImageSizesMustAgree) {
  const fs::path dir = root() / "odd" / "mnist";
  write_dataset(dir, 5, 2, true);
  write_split(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz", 2, 3, 3, true);
  EXPECT_THAT(error_of([&] { load_dataset(DatasetKind::mnist, root() / "odd"); }),
              HasSubstr("training images are 4x3 but test images"));
}

// ---------------------------------------------------------------------------------------------------------------
// Check report

TEST_F(SearchSandbox, CheckReportDescribesFilesAndCountsAndNeverThrows) {
  write_dataset(root() / "d" / "mnist", 5, 2, true);
  test::write_text(root() / "d" / "mnist" / "t10k-labels-idx1-ubyte.gz", "\x1f\x8b garbage");
  std::string report;
  ASSERT_NO_THROW(report = data_check_report(root() / "d"));
  EXPECT_THAT(report, HasSubstr((root() / "d").string() + " (--data)"));
  EXPECT_THAT(report, HasSubstr("mnist: found in " + (root() / "d" / "mnist").string() + " (--data)"));
  const std::string train_images = (root() / "d" / "mnist" / "train-images-idx3-ubyte.gz").string();
  EXPECT_THAT(report, HasSubstr(train_images + "\n    " + std::to_string(fs::file_size(train_images)) +
                                " bytes, md5 " + md5_file_hex(train_images) +
                                ": MISMATCH: the published .gz has md5 "
                                "f68b3c2dcbeaaa9fbdd348bbdeb94873"));
  EXPECT_THAT(report, HasSubstr("mnist/train: 5 images of 4x3, 5 labels"));
  // The corrupt label file is reported with the reader's message.
  EXPECT_THAT(report, HasSubstr("mnist/test: ERROR: "));
  EXPECT_THAT(report, HasSubstr("t10k-labels-idx1-ubyte.gz: corrupt or incomplete gzip stream"));
  if (!fs::exists(kDebianFashionMnistDir)) {
    EXPECT_THAT(report, HasSubstr("fashion-mnist: dataset not found"));
    EXPECT_THAT(report, HasSubstr("sudo apt-get install dataset-fashion-mnist"));
  }
}

TEST_F(SearchSandbox, CheckReportOnUncompressedFilesComparesContent) {
  write_dataset(root() / "d" / "fashion-mnist", 5, 2, false);
  const std::string report = data_check_report(root() / "d");
  EXPECT_THAT(report, HasSubstr("the published checksums are for the .gz files"));
  EXPECT_THAT(report, HasSubstr("MISMATCH, expected md5 f4a8712d7a061bf5bd6d2ca38dc4d50a"));
  EXPECT_THAT(report, HasSubstr("fashion-mnist/test: 2 images of 4x3, 2 labels"));
  EXPECT_THAT(report, HasSubstr("mnist: dataset not found"));
  EXPECT_THAT(report, HasSubstr("apical data fetch mnist"));
}

TEST(KnownFiles, TableHoldsTheFourFilesInOrder) {
  for (const DatasetKind kind : kAllDatasets) {
    const auto files = known_files(kind);
    ASSERT_EQ(files.size(), 4U);
    EXPECT_EQ(files[0].name, "train-images-idx3-ubyte");
    EXPECT_EQ(files[1].name, "train-labels-idx1-ubyte");
    EXPECT_EQ(files[2].name, "t10k-images-idx3-ubyte");
    EXPECT_EQ(files[3].name, "t10k-labels-idx1-ubyte");
    for (const auto& f : files) {
      EXPECT_EQ(f.gz_md5.size(), 32U);
      EXPECT_EQ(f.raw_md5.size(), 32U);
    }
  }
  EXPECT_EQ(known_files(DatasetKind::fashion_mnist)[0].gz_md5, "8d4fb7e6c68d591d4c3dfef9ec88bf0d");
  const FetchOptions options = default_fetch_options(DatasetKind::mnist);
  EXPECT_EQ(options.mirrors.front(), "https://ossci-datasets.s3.amazonaws.com/mnist/");
  EXPECT_EQ(options.files[3].file_name, "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(options.files[3].md5, "ec29112dd5afa0611ce80d1b7f02629c");
}

// ---------------------------------------------------------------------------------------------------------------
// Fetch (file:// URLs served by curl; a closed local port for network failures)

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string p = path;
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    if (::access((fs::path(p.substr(start, end - start)) / program).c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

std::vector<std::string> leftover_temporaries(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".part-") != std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

class Fetch : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!on_path("curl")) GTEST_SKIP() << "curl is not on PATH (wget cannot read file:// URLs)";
    fs::create_directories(mirror_);
    test::write_text(mirror_ / "a-idx1-ubyte.gz", "first file");
    test::write_text(mirror_ / "b-idx3-ubyte.gz", std::string(100000, 'b'));
    options_.mirrors = {"file://" + mirror_.string() + "/"};
    options_.files = {{"a-idx1-ubyte.gz", md5_file_hex(mirror_ / "a-idx1-ubyte.gz")},
                      {"b-idx3-ubyte.gz", md5_file_hex(mirror_ / "b-idx3-ubyte.gz")}};
    options_.progress = [this](const std::string& line) { log_ += line + "\n"; };
  }
  fs::path dest() const { return dir_ / "dest" / "mnist"; }

  test::TempDir dir_{"fetch"};
  fs::path mirror_ = dir_ / "mirror";
  FetchOptions options_;
  std::string log_;
};

TEST_F(Fetch, DownloadsVerifiesAndRenamesIntoPlace) {
  fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_);
  EXPECT_EQ(test::read_text(dest() / "a-idx1-ubyte.gz"), "first file");
  EXPECT_EQ(test::read_text(dest() / "b-idx3-ubyte.gz"), std::string(100000, 'b'));
  EXPECT_THAT(leftover_temporaries(dest()), ::testing::IsEmpty());
  EXPECT_THAT(log_, HasSubstr("downloading file://" + (mirror_ / "a-idx1-ubyte.gz").string()));
  EXPECT_THAT(log_, HasSubstr("verified"));
}

TEST_F(Fetch, ChecksumMismatchRemovesTheDownloadAndNamesUrlAndSums) {
  options_.files[1].md5 = "0123456789abcdef0123456789abcdef";
  const std::string msg = error_of([&] { fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_); });
  EXPECT_THAT(msg, HasSubstr("could not download b-idx3-ubyte.gz into " + dest().string()));
  EXPECT_THAT(msg, HasSubstr("file://" + (mirror_ / "b-idx3-ubyte.gz").string() + ": checksum mismatch"));
  EXPECT_THAT(msg, HasSubstr("expected MD5 0123456789abcdef0123456789abcdef"));
  EXPECT_THAT(msg, HasSubstr("got " + md5_file_hex(mirror_ / "b-idx3-ubyte.gz")));
  EXPECT_THAT(msg, HasSubstr("(100000 bytes downloaded)"));
  EXPECT_TRUE(fs::exists(dest() / "a-idx1-ubyte.gz"));  // the first file was fine
  EXPECT_FALSE(fs::exists(dest() / "b-idx3-ubyte.gz"));
  EXPECT_THAT(leftover_temporaries(dest()), ::testing::IsEmpty());
}

TEST_F(Fetch, FallsBackToTheNextMirror) {
  options_.mirrors.insert(options_.mirrors.begin(), "file://" + (dir_ / "no-such-mirror").string());
  fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_);
  EXPECT_EQ(test::read_text(dest() / "a-idx1-ubyte.gz"), "first file");
  EXPECT_THAT(leftover_temporaries(dest()), ::testing::IsEmpty());
}

TEST_F(Fetch, DownloadFailureNamesEveryUrlTried) {
  options_.mirrors = {"file://" + (dir_ / "no-such-mirror").string() + "/", "http://127.0.0.1:9/mnist/"};
  const std::string msg = error_of([&] { fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_); });
  EXPECT_THAT(msg, HasSubstr("file://" + (dir_ / "no-such-mirror" / "a-idx1-ubyte.gz").string() +
                             ": curl failed (exit code"));
  EXPECT_THAT(msg, HasSubstr("http://127.0.0.1:9/mnist/a-idx1-ubyte.gz: curl failed (exit code"));
  EXPECT_THAT(msg, HasSubstr("Check the network connection"));
  EXPECT_FALSE(fs::exists(dest() / "a-idx1-ubyte.gz"));
  EXPECT_THAT(leftover_temporaries(dest()), ::testing::IsEmpty());
}

TEST_F(Fetch, SkipsFilesAlreadyPresentAndReplacesWrongOnes) {
  fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_);
  // Present with the right checksums: nothing is downloaded, so an unreachable mirror does not matter.
  FetchOptions offline = options_;
  offline.mirrors = {"http://127.0.0.1:9/"};
  log_.clear();
  EXPECT_NO_THROW(fetch_dataset(DatasetKind::mnist, dir_ / "dest", offline));
  EXPECT_THAT(log_, HasSubstr("already present with the right MD5, skipped"));
  EXPECT_THAT(log_, Not(HasSubstr("downloading")));
  // A damaged file is downloaded again.
  test::write_text(dest() / "a-idx1-ubyte.gz", "damaged");
  fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_);
  EXPECT_EQ(test::read_text(dest() / "a-idx1-ubyte.gz"), "first file");
  EXPECT_THAT(log_, HasSubstr("downloading it again"));
}

TEST_F(Fetch, WgetFailureIsReportedToo) {
  if (!on_path("wget")) GTEST_SKIP() << "wget is not on PATH";
  options_.downloader = "wget";
  options_.mirrors = {"http://127.0.0.1:9/mnist/"};
  const std::string msg = error_of([&] { fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_); });
  EXPECT_THAT(msg, HasSubstr("http://127.0.0.1:9/mnist/a-idx1-ubyte.gz: wget failed (exit code"));
  EXPECT_THAT(leftover_temporaries(dest()), ::testing::IsEmpty());
}

TEST_F(Fetch, UnknownDownloaderIsAnError) {
  options_.downloader = (dir_ / "no-curl-here").string();
  EXPECT_THAT(error_of([&] { fetch_dataset(DatasetKind::mnist, dir_ / "dest", options_); }),
              HasSubstr("no-curl-here' was not found or is not executable; use curl or wget"));
}

}  // namespace
}  // namespace apical::data
