// SPDX-License-Identifier: Apache-2.0
#pragma once

// Checkpoint archives: one file holding named arrays (the .npy element types) and a JSON metadata object,
// written atomically and protected by a CRC-32, so a resumed run either continues bit-for-bit or stops with a
// clear error. Array values are stored as raw little-endian bytes, so every double (NaN payloads, -0.0,
// subnormals) survives exactly; keep non-finite numbers out of the JSON metadata, which cannot represent them.
//
// Layout (all integers little-endian):
//   "APICALAR"  8-byte magic
//   u32 format version (1), u32 flags (0), u64 length L of the JSON index
//   JSON index: {"meta": {...}, "arrays": [{"name", "dtype", "shape", "offset", "nbytes"}, ...]}
//   zero padding, then each array's bytes at its offset (from the start of the file, a multiple of 64)
//   u32 CRC-32 (zlib) of every byte before it, then the 4-byte end marker "ARND"

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apical/io/npy.hpp"

namespace apical::io {

inline constexpr std::uint32_t kArchiveVersion = 1;

class ArchiveWriter {
 public:
  /// Adds an array (C order). Throws if the name is empty or already used, or the shape does not match.
  template <NpyElement T>
  void put(std::string name, std::span<const T> values, std::vector<std::size_t> shape) {
    detail::check_shape(values.size(), shape, "archive array '" + name + "'");
    put_raw(std::move(name), std::string(npy_dtype<T>()), std::string(detail::as_bytes(values)), std::move(shape));
  }
  template <NpyElement T>
  void put(std::string name, std::span<const T> values) {
    put(std::move(name), values, {values.size()});
  }
  template <NpyElement T>
  requires(!std::is_same_v<T, bool>) void put(std::string name, const std::vector<T>& values,
                                              std::vector<std::size_t> shape) {
    put(std::move(name), std::span<const T>(values), std::move(shape));
  }
  template <NpyElement T>
  requires(!std::is_same_v<T, bool>) void put(std::string name, const std::vector<T>& values) {
    put(std::move(name), std::span<const T>(values), {values.size()});
  }
  /// Adds already-encoded element bytes with a supported type string ("<f8", ...).
  void put_raw(std::string name, std::string dtype, std::string bytes, std::vector<std::size_t> shape);

  /// The metadata object (replaces any earlier one). Must be a JSON object.
  void set_meta(nlohmann::json meta);
  const nlohmann::json& meta() const { return meta_; }

  /// The complete archive file content.
  std::string bytes() const;
  /// Writes the archive atomically (see write_file_atomic).
  void write(const std::filesystem::path& path) const;

 private:
  struct Entry {
    std::string name;
    std::string dtype;
    std::vector<std::size_t> shape;
    std::string bytes;
  };
  std::vector<Entry> entries_;
  nlohmann::json meta_ = nlohmann::json::object();
};

class ArchiveReader {
 public:
  /// Reads and verifies an archive (magic, version, end marker, CRC-32, index). Errors name the file: a damaged
  /// or truncated checkpoint is reported as such rather than resumed.
  static ArchiveReader open(const std::filesystem::path& path);
  /// Parses archive content held in memory; `source` names it in error messages.
  static ArchiveReader parse(std::string bytes, const std::filesystem::path& source);

  const std::filesystem::path& source() const { return source_; }
  const nlohmann::json& meta() const { return meta_; }
  bool has(std::string_view name) const { return entries_.find(name) != entries_.end(); }
  /// Array names in the order they were written.
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<std::size_t>& shape(std::string_view name) const { return entry(name).shape; }
  const std::string& dtype(std::string_view name) const { return entry(name).dtype; }
  /// Raw little-endian element bytes of an array.
  std::string_view raw(std::string_view name) const;

  /// The array's elements. Throws naming the file and the array if it is missing (listing the present arrays)
  /// or has another dtype.
  template <NpyElement T>
  std::vector<T> get(std::string_view name) const {
    return detail::typed_copy<T>(entry(name).dtype, raw(name), describe(name));
  }

 private:
  struct Entry {
    std::string dtype;
    std::vector<std::size_t> shape;
    std::size_t offset = 0;
    std::size_t nbytes = 0;
  };
  const Entry& entry(std::string_view name) const;
  std::string describe(std::string_view name) const;

  std::filesystem::path source_;
  std::string bytes_;
  nlohmann::json meta_;
  std::vector<std::string> names_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace apical::io
