// SPDX-License-Identifier: Apache-2.0
// MD5 message digest (RFC 1321), used only to verify downloaded and installed dataset files. MD5 is not a
// secure hash; here it merely detects truncated, corrupt or wrong files against the published checksums.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace apical::data {

/// Incremental MD5: feed bytes with update() in any number of pieces, then call digest() or hex_digest() once.
class Md5 {
 public:
  Md5();
  void update(std::span<const std::uint8_t> bytes);
  /// Finishes the hash (padding + length) and returns the 16-byte digest. The object must not be updated after.
  std::array<std::uint8_t, 16> digest();
  /// digest() as 32 lower-case hexadecimal characters.
  std::string hex_digest();

 private:
  void process_block(const std::uint8_t* block);

  std::array<std::uint32_t, 4> state_;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
  bool finished_ = false;
};

/// MD5 of a byte string as 32 lower-case hexadecimal characters.
std::string md5_hex(std::span<const std::uint8_t> bytes);
/// MD5 of a file's bytes as they are on disk (not decompressed), read in chunks. Throws apical::Error naming the
/// file when it cannot be opened or read.
std::string md5_file_hex(const std::filesystem::path& path);

}  // namespace apical::data
