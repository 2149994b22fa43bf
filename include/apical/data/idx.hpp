// SPDX-License-Identifier: Apache-2.0
// Reader for the IDX format of the MNIST and Fashion-MNIST files.
//
// An IDX file is: two zero bytes, a type byte, a byte with the number of dimensions n, n big-endian 32-bit
// dimension sizes, then the values in row-major order. apical reads only type 0x08 (unsigned byte), which is what
// both datasets use. Files may be gzip-compressed; gzip is recognised by its magic bytes 0x1f 0x8b, not by the
// file name, so `train-images-idx3-ubyte` may be compressed and `x.gz` may be plain.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace apical::data {

struct IdxArray {
  std::vector<std::uint32_t> dims;   ///< e.g. {60000, 28, 28}
  std::vector<std::uint8_t> values;  ///< product(dims) values, row-major
};

/// Largest number of dimensions read_idx accepts (the datasets use 1 and 3).
inline constexpr unsigned kIdxMaxDims = 8;

/// Reads an IDX file of unsigned bytes (gzipped or plain). Throws apical::Error naming the file and the problem
/// when: the file is missing or unreadable; the gzip stream is corrupt; the magic number is not 0x00 0x00 0x08 n;
/// n is 0 or above kIdxMaxDims; a dimension is 0 or the total exceeds 4 GiB; or the (decompressed) length is not
/// exactly header + product(dims) bytes (truncated files and trailing bytes both name expected vs actual counts).
IdxArray read_idx(const std::filesystem::path& path);

}  // namespace apical::data
