// SPDX-License-Identifier: Apache-2.0
#include "apical/data/idx.hpp"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "apical/core/error.hpp"

namespace apical::data {
namespace {

constexpr std::uint64_t kMaxPayloadBytes = std::uint64_t{1} << 32;  // 4 GiB: far above any image dataset split
constexpr std::uint8_t kUnsignedByteType = 0x08;

/// A sequential byte reader over a plain or gzip-compressed file. read() returns fewer bytes than asked for only
/// at the end of the (decompressed) data and throws on read errors and corrupt gzip streams.
class ByteSource {
 public:
  explicit ByteSource(const std::filesystem::path& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) fail("{}: no such file", path.string());
    if (std::filesystem::is_directory(path, ec)) fail("{}: is a folder, expected an IDX file", path.string());
    file_size_ = std::filesystem::file_size(path, ec);
    if (ec) fail("{}: cannot read the file size: {}", path.string(), ec.message());

    std::FILE* probe = std::fopen(path.c_str(), "rb");
    if (probe == nullptr) fail("{}: cannot open for reading: {}", path.string(), std::strerror(errno));
    std::array<unsigned char, 2> magic{};
    const std::size_t got = std::fread(magic.data(), 1, magic.size(), probe);
    compressed_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (compressed_) {
      std::fclose(probe);
      gz_ = gzopen(path.c_str(), "rb");
      if (gz_ == nullptr) fail("{}: cannot open gzip file: {}", path.string(), std::strerror(errno));
      gzbuffer(gz_, 1U << 17);
    } else {
      std::rewind(probe);
      plain_ = probe;
    }
  }
  ~ByteSource() {
    if (gz_ != nullptr) gzclose(gz_);
    if (plain_ != nullptr) std::fclose(plain_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  bool compressed() const { return compressed_; }
  std::uint64_t file_size() const { return file_size_; }

  std::size_t read(std::uint8_t* dst, std::size_t n) {
    std::size_t total = 0;
    while (total < n) {
      const std::size_t want = std::min<std::size_t>(n - total, std::size_t{1} << 30);
      std::size_t got = 0;
      if (compressed_) {
        const int r = gzread(gz_, dst + total, static_cast<unsigned>(want));
        if (r < 0) gz_failure();
        got = static_cast<std::size_t>(r);
        if (got < want) {
          int errnum = Z_OK;
          gzerror(gz_, &errnum);
          if (errnum != Z_OK) gz_failure();
        }
      } else {
        got = std::fread(dst + total, 1, want, plain_);
        if (got < want && std::ferror(plain_)) {
          fail("{}: read error: {}", path_.string(), std::strerror(errno));
        }
      }
      total += got;
      if (got < want) break;
    }
    return total;
  }

  /// Reads and discards everything left; returns the number of bytes skipped.
  std::uint64_t skip_rest() {
    std::array<std::uint8_t, 1 << 16> scratch{};
    std::uint64_t skipped = 0;
    for (;;) {
      const std::size_t got = read(scratch.data(), scratch.size());
      skipped += got;
      if (got < scratch.size()) return skipped;
    }
  }

 private:
  [[noreturn]] void gz_failure() {
    int errnum = Z_OK;
    const char* msg = gzerror(gz_, &errnum);
    std::string detail = (errnum == Z_ERRNO) ? std::string(std::strerror(errno)) : std::string(msg);
    // zlib prefixes its messages with the path it was given; the path is already at the start of ours.
    if (const std::string prefix = path_.string() + ": "; detail.starts_with(prefix)) {
      detail.erase(0, prefix.size());
    }
    fail("{}: corrupt or incomplete gzip stream ({}); delete the file and download it again", path_.string(),
         detail);
  }

  std::filesystem::path path_;
  std::uint64_t file_size_ = 0;
  bool compressed_ = false;
  gzFile gz_ = nullptr;
  std::FILE* plain_ = nullptr;
};

std::string type_name(std::uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "16-bit integer";
    case 0x0C:
      return "32-bit integer";
    case 0x0D:
      return "32-bit float";
    case 0x0E:
      return "64-bit float";
    default:
      return "";
  }
}

std::string dims_text(const std::vector<std::uint32_t>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(dims[i]);
  }
  return out;
}

}  // namespace

IdxArray read_idx(const std::filesystem::path& path) {
  ByteSource src(path);
  const std::string p = path.string();
  const char* const where = src.compressed() ? " after decompression" : "";

  std::array<std::uint8_t, 4> magic{};
  const std::size_t got_magic = src.read(magic.data(), magic.size());
  if (got_magic < magic.size()) {
    fail(
        "{}: too short for an IDX file: holds {} bytes{}, but an IDX file starts with the 4 magic bytes "
        "0x00 0x00 0x08 <number of dimensions>",
        p, got_magic, where);
  }
  if (magic[0] != 0 || magic[1] != 0) {
    fail(
        "{}: not an IDX file: the magic number starts with 0x{:02x} 0x{:02x}, expected 0x00 0x00 (then the type "
        "byte 0x08 and the number of dimensions)",
        p, magic[0], magic[1]);
  }
  if (magic[2] != kUnsignedByteType) {
    const std::string name = type_name(magic[2]);
    if (name.empty()) {
      fail(
          "{}: invalid IDX type byte 0x{:02x}; valid IDX types are 0x08 (unsigned byte), 0x09 (signed byte), "
          "0x0B (16-bit int), 0x0C (32-bit int), 0x0D (32-bit float), 0x0E (64-bit float), and apical reads "
          "only 0x08 (unsigned byte)",
          p, magic[2]);
    }
    fail(
        "{}: unsupported IDX type byte 0x{:02x} ({}); apical reads only type 0x08 (unsigned byte), as used by "
        "MNIST and Fashion-MNIST",
        p, magic[2], name);
  }
  const unsigned ndims = magic[3];
  if (ndims == 0 || ndims > kIdxMaxDims) {
    fail("{}: invalid number of dimensions {} in the IDX magic number; expected 1 to {} (labels have 1, images 3)",
         p, ndims, kIdxMaxDims);
  }

  IdxArray out;
  out.dims.resize(ndims);
  const std::size_t header_bytes = 4 + 4 * std::size_t{ndims};
  std::array<std::uint8_t, 4 * kIdxMaxDims> raw_dims{};
  const std::size_t got_dims = src.read(raw_dims.data(), 4 * std::size_t{ndims});
  if (got_dims < 4 * std::size_t{ndims}) {
    fail("{}: truncated header: {} dimensions need a {}-byte header but the file holds {} bytes{}", p, ndims,
         header_bytes, 4 + got_dims, where);
  }
  std::uint64_t payload = 1;
  for (unsigned i = 0; i < ndims; ++i) {
    const std::uint8_t* b = raw_dims.data() + 4 * i;
    out.dims[i] = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
                  std::uint32_t{b[3]};
    if (out.dims[i] == 0) {
      fail("{}: dimension {} of {} has size 0 (dimensions {}); every dimension must be at least 1", p, i + 1,
           ndims, dims_text(out.dims));
    }
    payload *= out.dims[i];
    if (payload > kMaxPayloadBytes) {
      fail("{}: the header declares more than {} values (dimensions so far {}); this is not a valid dataset file",
           p, kMaxPayloadBytes, dims_text(std::vector<std::uint32_t>(out.dims.begin(), out.dims.begin() + i + 1)));
    }
  }
  const std::uint64_t expected = header_bytes + payload;
  const auto length_error = [&](std::uint64_t actual) {
    if (actual < expected) {
      fail(
          "{}: truncated: the header declares {} unsigned bytes ({} bytes including the {}-byte header) but the "
          "file holds {} bytes{}",
          p, dims_text(out.dims), expected, header_bytes, actual, where);
    }
    fail(
        "{}: {} unexpected trailing bytes: the header declares {} unsigned bytes ({} bytes including the {}-byte "
        "header) but the file holds {} bytes{}",
        p, actual - expected, dims_text(out.dims), expected, header_bytes, actual, where);
  };

  if (!src.compressed()) {
    if (src.file_size() != expected) length_error(src.file_size());
  } else if (src.file_size() * 1100 + 1024 < payload) {
    // Deflate cannot compress better than about 1032:1, so the data cannot all be there: count what is there
    // without allocating the declared size.
    length_error(header_bytes + src.skip_rest());
  }

  out.values.resize(static_cast<std::size_t>(payload));
  const std::size_t got = src.read(out.values.data(), out.values.size());
  if (got < payload) length_error(header_bytes + got);
  const std::uint64_t extra = src.skip_rest();
  if (extra > 0) length_error(expected + extra);
  return out;
}

}  // namespace apical::data
