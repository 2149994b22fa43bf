// SPDX-License-Identifier: Apache-2.0
// The real MNIST files in ../shared/data/mnist: shapes, known labels, pixel range, checksums, and fetching them
// over file:// with the real published checksums.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <string>

#include "apical/data/dataset.hpp"
#include "apical/data/md5.hpp"
#include "test_support.hpp"

namespace apical::data {
namespace {

namespace fs = std::filesystem;

TEST(MnistFiles, LoadsBothSplitsWithTheKnownShapesAndLabels) {
  const auto start = std::chrono::steady_clock::now();
  const DataSplit data = load_dataset(DatasetKind::mnist, test::shared_data_dir());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("load_seconds", std::to_string(seconds));

  EXPECT_EQ(data.folder, test::mnist_dir());
  EXPECT_EQ(data.train.name, "mnist/train");
  EXPECT_EQ(data.test.name, "mnist/test");
  ASSERT_EQ(data.train.size(), 60000U);
  ASSERT_EQ(data.test.size(), 10000U);
  for (const Dataset* d : {&data.train, &data.test}) {
    EXPECT_EQ(d->rows, 28U);
    EXPECT_EQ(d->cols, 28U);
    EXPECT_EQ(d->pixels.size(), d->size() * 784U);
  }
  const std::array<int, 10> first_train = {5, 0, 4, 1, 9, 2, 1, 3, 1, 4};
  const std::array<int, 10> first_test = {7, 2, 1, 0, 4, 1, 4, 9, 5, 9};
  for (std::size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(data.train.labels[i], first_train[i]) << "training label " << i;
    EXPECT_EQ(data.test.labels[i], first_test[i]) << "test label " << i;
  }
  const std::array<int, 10> train_counts = {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949};
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(std::count(data.train.labels.begin(), data.train.labels.end(), c), train_counts[c]) << "class " << c;
  }
}

TEST(MnistFiles, PixelsAreScaledToTheUnitIntervalWithMinZeroAndMaxOne) {
  const DataSplit data = load_dataset(DatasetKind::mnist, test::shared_data_dir());
  for (const Dataset* d : {&data.train, &data.test}) {
    float lo = 1.0f, hi = 0.0f;
    for (std::size_t n = 0; n < d->size(); ++n) {
      for (std::size_t j = 0; j < d->image_size(); ++j) {
        const float v = d->pixel(n, j);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    EXPECT_EQ(lo, 0.0f) << d->name;
    EXPECT_EQ(hi, 1.0f) << d->name;
  }
  // The first training image (a 5) sums to 27525 raw intensity.
  std::vector<double> img(784);
  data.train.image(0, img);
  double sum = 0;
  for (double v : img) sum += v;
  EXPECT_NEAR(sum, 27525.0 / 255.0, 1e-9);
}

TEST(MnistFiles, ChecksumsMatchThePublishedOnes) {
  for (const KnownFile& f : known_files(DatasetKind::mnist)) {
    const fs::path path = test::mnist_dir() / (std::string(f.name) + ".gz");
    EXPECT_EQ(md5_file_hex(path), f.gz_md5) << path;
  }
  const std::string report = data_check_report(test::shared_data_dir());
  EXPECT_NE(report.find("mnist: found in " + test::mnist_dir().string()), std::string::npos) << report;
  EXPECT_NE(report.find("mnist/train: 60000 images of 28x28, 60000 labels"), std::string::npos) << report;
  EXPECT_NE(report.find("mnist/test: 10000 images of 28x28, 10000 labels"), std::string::npos) << report;
  EXPECT_EQ(report.find("MISMATCH"), std::string::npos) << report;
}

TEST(MnistFiles, FetchFromAFileMirrorVerifiesThePublishedChecksums) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl is not on PATH";
  test::TempDir dir("fetch-mnist");
  FetchOptions options = default_fetch_options(DatasetKind::mnist);
  options.mirrors = {"file://" + test::mnist_dir().string() + "/"};
  fetch_dataset(DatasetKind::mnist, dir.path(), options);
  for (const KnownFile& f : known_files(DatasetKind::mnist)) {
    EXPECT_EQ(md5_file_hex(dir / "mnist" / (std::string(f.name) + ".gz")), f.gz_md5);
  }
  EXPECT_EQ(load_dataset(DatasetKind::mnist, dir.path()).train.size(), 60000U);
}

}  // namespace
}  // namespace apical::data
