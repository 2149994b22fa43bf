// SPDX-License-Identifier: Apache-2.0
#include "apical/io/archive.hpp"

#include <fmt/ranges.h>
#include <zlib.h>

#include <limits>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"

namespace apical::io {
namespace {

constexpr std::string_view kMagic = "APICALAR";
constexpr std::string_view kEndMarker = "ARND";
constexpr std::size_t kFixedHeader = 8 + 4 + 4 + 8;
constexpr std::size_t kTrailer = 4 + 4;
constexpr std::size_t kAlign = 64;

void put_le(std::string& out, std::uint64_t v, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::uint64_t get_le(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return v;
}

std::uint32_t crc32_of(std::string_view bytes) {
  const uLong crc = crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size());
  return static_cast<std::uint32_t>(crc);
}

std::size_t align_up(std::size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

}  // namespace

void ArchiveWriter::put_raw(std::string name, std::string dtype, std::string bytes,
                            std::vector<std::size_t> shape) {
  if (name.empty()) fail("archive: array names must not be empty");
  for (const auto& e : entries_) {
    if (e.name == name) fail("archive: array '{}' was added twice", name);
  }
  const std::size_t item = npy_item_size(dtype);
  if (item == 0) fail("archive: array '{}' has the unsupported dtype '{}'", name, dtype);
  const std::size_t count = detail::element_count(shape, "archive array '" + name + "'");
  if (bytes.size() != count * item) {
    fail("archive: array '{}' of dtype '{}' and {} elements needs {} bytes, but {} were given", name, dtype, count,
         count * item, bytes.size());
  }
  if (dtype == "|b1") detail::check_bools(bytes, "archive array '" + name + "'");
  entries_.push_back({std::move(name), std::move(dtype), std::move(shape), std::move(bytes)});
}

void ArchiveWriter::set_meta(nlohmann::json meta) {
  if (!meta.is_object()) fail("archive: the metadata must be a JSON object, not {}", meta.type_name());
  meta_ = std::move(meta);
}

std::string ArchiveWriter::bytes() const {
  // The index holds the data offsets, and the offsets depend on the index length: lay out the data after an
  // index with placeholder offsets of maximal width, then pad the real (shorter or equal) index to that length.
  auto make_index = [&](const std::vector<std::size_t>& offsets) {
    nlohmann::json arrays = nlohmann::json::array();
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      arrays.push_back({{"name", entries_[i].name},
                        {"dtype", entries_[i].dtype},
                        {"shape", entries_[i].shape},
                        {"offset", offsets[i]},
                        {"nbytes", entries_[i].bytes.size()}});
    }
    nlohmann::json index = {{"meta", meta_}, {"arrays", std::move(arrays)}};
    // error_handler::replace: invalid UTF-8 in names or metadata must not make checkpointing throw mid-run.
    return index.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const std::vector<std::size_t> placeholder(entries_.size(), std::numeric_limits<std::size_t>::max());
  const std::size_t index_len = make_index(placeholder).size();
  std::vector<std::size_t> offsets(entries_.size());
  std::size_t pos = align_up(kFixedHeader + index_len);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    offsets[i] = pos;
    pos = align_up(pos + entries_[i].bytes.size());
  }
  std::string index = make_index(offsets);
  index.append(index_len - index.size(), ' ');  // JSON allows trailing white space

  std::string out;
  out.reserve(pos + kTrailer);
  out += kMagic;
  put_le(out, kArchiveVersion, 4);
  put_le(out, 0, 4);
  put_le(out, index.size(), 8);
  out += index;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    out.append(offsets[i] - out.size(), '\0');
    out += entries_[i].bytes;
  }
  out.append(pos - out.size(), '\0');
  put_le(out, crc32_of(out), 4);
  out += kEndMarker;
  return out;
}

void ArchiveWriter::write(const std::filesystem::path& path) const {
  write_file_atomic(path, bytes());
}

ArchiveReader ArchiveReader::open(const std::filesystem::path& path) {
  return parse(read_file(path), path);
}

ArchiveReader ArchiveReader::parse(std::string bytes, const std::filesystem::path& source) {
  const std::string src = source.string();
  if (bytes.size() < kMagic.size() || std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    fail("{}: not an apical checkpoint archive (the magic string {} is missing)", src, kMagic);
  }
  if (bytes.size() < kFixedHeader + kTrailer)
    fail("{}: truncated checkpoint archive ({} bytes)", src, bytes.size());
  const auto version = get_le(bytes, 8, 4);
  if (version != kArchiveVersion) {
    fail("{}: checkpoint archive format version {} is not supported (this build reads version {})", src, version,
         kArchiveVersion);
  }
  if (std::string_view(bytes).substr(bytes.size() - kEndMarker.size()) != kEndMarker) {
    fail("{}: truncated or damaged checkpoint archive (the end marker is missing)", src);
  }
  const std::size_t body = bytes.size() - kTrailer;
  const auto stored_crc = static_cast<std::uint32_t>(get_le(bytes, body, 4));
  const std::uint32_t actual_crc = crc32_of(std::string_view(bytes).substr(0, body));
  if (stored_crc != actual_crc) {
    fail("{}: damaged checkpoint archive: CRC-32 mismatch (stored {:08x}, computed {:08x})", src, stored_crc,
         actual_crc);
  }
  const std::uint64_t index_len = get_le(bytes, 16, 8);
  if (index_len > body - kFixedHeader) fail("{}: invalid checkpoint archive: index length {}", src, index_len);

  ArchiveReader reader;
  reader.source_ = source;
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(std::string_view(bytes).substr(kFixedHeader, index_len));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid checkpoint archive index: {}", src, e.what());
  }
  try {
    reader.meta_ = index.at("meta");
    for (const auto& a : index.at("arrays")) {
      Entry e;
      auto name = a.at("name").get<std::string>();
      e.dtype = a.at("dtype").get<std::string>();
      e.shape = a.at("shape").get<std::vector<std::size_t>>();
      e.offset = a.at("offset").get<std::size_t>();
      e.nbytes = a.at("nbytes").get<std::size_t>();
      const std::size_t item = npy_item_size(e.dtype);
      if (item == 0) fail("{}: array '{}' has the unsupported dtype '{}'", src, name, e.dtype);
      const std::size_t count = detail::element_count(e.shape, src);
      if (e.nbytes != count * item || e.offset < kFixedHeader + index_len || e.offset > body ||
          e.nbytes > body - e.offset) {
        fail("{}: invalid checkpoint archive: array '{}' has inconsistent size or offset", src, name);
      }
      if (reader.entries_.count(name) != 0) fail("{}: array '{}' appears twice", src, name);
      reader.names_.push_back(name);
      reader.entries_.emplace(std::move(name), std::move(e));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid checkpoint archive index: {}", src, e.what());
  }
  reader.bytes_ = std::move(bytes);
  return reader;
}

const ArchiveReader::Entry& ArchiveReader::entry(std::string_view name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) {
    fail("{}: the checkpoint has no array '{}' (it has: {})", source_.string(), name,
         names_.empty() ? std::string("no arrays") : fmt::format("{}", fmt::join(names_, ", ")));
  }
  return it->second;
}

std::string_view ArchiveReader::raw(std::string_view name) const {
  const Entry& e = entry(name);
  return std::string_view(bytes_).substr(e.offset, e.nbytes);
}

std::string ArchiveReader::describe(std::string_view name) const {
  return fmt::format("{}: array '{}'", source_.string(), name);
}

}  // namespace apical::io
