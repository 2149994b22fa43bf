// SPDX-License-Identifier: Apache-2.0
#include "apical/data/dataset.hpp"

#include <algorithm>
#include <utility>

#include "apical/core/error.hpp"
#include "apical/data/idx.hpp"

namespace apical::data {

DatasetKind parse_dataset_kind(std::string_view name) {
  if (name == "mnist") return DatasetKind::mnist;
  if (name == "fashion-mnist") return DatasetKind::fashion_mnist;
  fail("unknown dataset '{}'; valid datasets are: mnist, fashion-mnist", name);
}

std::string_view dataset_name(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::mnist:
      return "mnist";
    case DatasetKind::fashion_mnist:
      return "fashion-mnist";
  }
  fail("invalid DatasetKind value {}; valid: mnist, fashion-mnist", static_cast<int>(kind));
}

void Dataset::image(std::size_t n, std::span<double> out) const {
  if (out.size() != image_size()) {
    fail("{}: image(): the output holds {} values but an image has {} ({}x{})", name, out.size(), image_size(),
         rows, cols);
  }
  const auto raw = raw_image(n);
  for (std::size_t j = 0; j < raw.size(); ++j) out[j] = static_cast<double>(raw[j]) / 255.0;
}

std::span<const std::uint8_t> Dataset::raw_image(std::size_t n) const {
  if (n >= size())
    fail("{}: image index {} is out of range; valid: 0 to {}", name, n, size() == 0 ? 0 : size() - 1);
  return {pixels.data() + n * image_size(), image_size()};
}

Dataset Dataset::slice(std::size_t begin, std::size_t end) const {
  if (begin > end || end > size()) {
    fail("{}: slice [{}, {}) is out of range; valid: 0 <= begin <= end <= {} (the number of images)", name, begin,
         end, size());
  }
  Dataset out;
  out.name = fmt::format("{}[{}:{}]", name, begin, end);
  out.rows = rows;
  out.cols = cols;
  const auto first = pixels.begin() + static_cast<std::ptrdiff_t>(begin * image_size());
  const auto last = pixels.begin() + static_cast<std::ptrdiff_t>(end * image_size());
  out.pixels.assign(first, last);
  out.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(begin),
                    labels.begin() + static_cast<std::ptrdiff_t>(end));
  return out;
}

Dataset load_split(const std::filesystem::path& images, const std::filesystem::path& labels, std::string name) {
  IdxArray img = read_idx(images);
  if (img.dims.size() != 3) {
    fail("{}: an image file must be 3-dimensional (images x rows x columns), but it has {} dimension(s)",
         images.string(), img.dims.size());
  }
  IdxArray lab = read_idx(labels);
  if (lab.dims.size() != 1) {
    fail("{}: a label file must be 1-dimensional (one label per image), but it has {} dimensions", labels.string(),
         lab.dims.size());
  }
  if (img.dims[0] != lab.dims[0]) {
    fail(
        "{} holds {} images but {} holds {} labels; the counts must match (are the files from the same split "
        "and dataset?)",
        images.string(), img.dims[0], labels.string(), lab.dims[0]);
  }
  const auto bad = std::find_if(lab.values.begin(), lab.values.end(), [](std::uint8_t v) { return v > 9; });
  if (bad != lab.values.end()) {
    fail("{}: label {} (0-based) has value {}; labels must be classes 0 to 9", labels.string(),
         bad - lab.values.begin(), *bad);
  }
  Dataset out;
  out.name = std::move(name);
  out.rows = img.dims[1];
  out.cols = img.dims[2];
  out.pixels = std::move(img.values);
  out.labels = std::move(lab.values);
  return out;
}

}  // namespace apical::data
