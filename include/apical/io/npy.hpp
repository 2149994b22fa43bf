// SPDX-License-Identifier: Apache-2.0
#pragma once

// NumPy .npy files (format 1.0, or 2.0 when the header needs more than 64 KiB), little-endian, C order: the
// format in which apical saves weights and other arrays for analysis in Python (`numpy.load`).

#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace apical::io {

static_assert(std::endian::native == std::endian::little, "apical's file formats assume a little-endian machine");

/// Element types that .npy files and checkpoint archives can hold.
template <class T>
concept NpyElement = std::is_same_v<T, double> || std::is_same_v<T, float> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint64_t> || std::is_same_v<T, std::uint32_t> ||
    std::is_same_v<T, std::uint8_t> || std::is_same_v<T, bool>;

/// The NumPy type string of T: "<f8", "<f4", "<i8", "<i4", "<u8", "<u4", "|u1", "|b1".
template <NpyElement T>
constexpr std::string_view npy_dtype() {
  if constexpr (std::is_same_v<T, double>) return "<f8";
  if constexpr (std::is_same_v<T, float>) return "<f4";
  if constexpr (std::is_same_v<T, std::int64_t>) return "<i8";
  if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  if constexpr (std::is_same_v<T, std::uint64_t>) return "<u8";
  if constexpr (std::is_same_v<T, std::uint32_t>) return "<u4";
  if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
  return "|b1";
}

/// Bytes per element of a supported type string, or 0 if the type string is not supported.
std::size_t npy_item_size(std::string_view dtype);
/// A readable name for a type string ("<f8" -> "float64"); the string itself if unknown.
std::string npy_dtype_name(std::string_view dtype);

namespace detail {
/// Product of the extents; throws (naming `what`) on overflow.
std::size_t element_count(const std::vector<std::size_t>& shape, std::string_view what);
/// Throws unless `count` equals the product of `shape` (`what` names the array in the message).
void check_shape(std::size_t count, const std::vector<std::size_t>& shape, std::string_view what);
/// Throws unless `stored` == `requested` (`what` names the array/file in the message).
void check_dtype(std::string_view stored, std::string_view requested, std::string_view what);
/// Throws unless every byte is 0 or 1 (bool arrays).
void check_bools(std::string_view data, std::string_view what);
std::string npy_bytes_raw(std::string_view dtype, std::string_view data, const std::vector<std::size_t>& shape);

template <NpyElement T>
std::string_view as_bytes(std::span<const T> values) {
  return {reinterpret_cast<const char*>(values.data()), values.size_bytes()};
}

/// Copies raw little-endian bytes into typed values after checking the type string.
template <NpyElement T>
std::vector<T> typed_copy(std::string_view stored_dtype, std::string_view data, std::string_view what) {
  check_dtype(stored_dtype, npy_dtype<T>(), what);
  const std::size_t n = data.size() / sizeof(T);
  if constexpr (std::is_same_v<T, bool>) {
    check_bools(data, what);
    std::vector<bool> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = data[i] != 0;
    return out;
  } else {
    std::vector<T> out(n);
    if (n > 0) std::memcpy(out.data(), data.data(), n * sizeof(T));
    return out;
  }
}
}  // namespace detail

/// An array read from a .npy file. `data` always holds the elements in C (row-major) order, little-endian;
/// `fortran_order` records how the file stored them (Fortran-order files are transposed on reading).
struct NpyArray {
  std::filesystem::path source;    ///< the file it came from (for error messages)
  std::string dtype;               ///< NumPy type string, normalised to little-endian: "<f8", "|u1", ...
  std::vector<std::size_t> shape;  ///< empty for a 0-d (scalar) array
  bool fortran_order = false;      ///< as stored in the file
  std::string data;                ///< raw element bytes, C order

  /// Number of elements (product of the shape; 1 for a 0-d array).
  std::size_t size() const;
  /// The elements as T; throws apical::Error naming the file, the stored dtype and the requested one unless the
  /// dtype is exactly T's.
  template <NpyElement T>
  std::vector<T> as() const {
    return detail::typed_copy<T>(dtype, data, source.string());
  }
};

/// Writes already-encoded element bytes (`data`: C order, little-endian) with the given type string, atomically.
void write_npy_raw(const std::filesystem::path& path, std::string_view dtype, std::string_view data,
                   const std::vector<std::size_t>& shape);

/// The complete .npy file for `values` with the given shape (C order). Throws if the shape's element count
/// differs from values.size(). An empty shape means a 0-d array holding exactly one value.
template <NpyElement T>
std::string npy_bytes(std::span<const T> values, const std::vector<std::size_t>& shape) {
  detail::check_shape(values.size(), shape, "npy array");
  return detail::npy_bytes_raw(npy_dtype<T>(), detail::as_bytes(values), shape);
}
template <NpyElement T>
requires(!std::is_same_v<T, bool>) std::string
    npy_bytes(const std::vector<T>& values, const std::vector<std::size_t>& shape) {
  return npy_bytes(std::span<const T>(values), shape);
}

/// Writes a .npy file atomically (see write_file_atomic).
template <NpyElement T>
void write_npy(const std::filesystem::path& path, std::span<const T> values,
               const std::vector<std::size_t>& shape) {
  detail::check_shape(values.size(), shape, path.string());
  write_npy_raw(path, npy_dtype<T>(), detail::as_bytes(values), shape);
}
/// Convenience overloads: a std::vector (any shape), or a one-dimensional array.
template <NpyElement T>
requires(!std::is_same_v<T, bool>) void write_npy(const std::filesystem::path& path, const std::vector<T>& values,
                                                  const std::vector<std::size_t>& shape) {
  write_npy(path, std::span<const T>(values), shape);
}
template <NpyElement T>
void write_npy(const std::filesystem::path& path, std::span<const T> values) {
  write_npy(path, values, {values.size()});
}
template <NpyElement T>
requires(!std::is_same_v<T, bool>) void write_npy(const std::filesystem::path& path,
                                                  const std::vector<T>& values) {
  write_npy(path, std::span<const T>(values), {values.size()});
}

/// Reads a .npy file (versions 1.0, 2.0, 3.0; either byte order; C or Fortran order) holding one of the supported
/// dtypes. Validates the magic string, version, header dictionary and data length; errors name the file.
NpyArray read_npy(const std::filesystem::path& path);
/// Parses .npy content held in memory; `source` names it in error messages.
NpyArray parse_npy(std::string bytes, const std::filesystem::path& source);

}  // namespace apical::io
