// SPDX-License-Identifier: Apache-2.0
// The .npy format: a 6-byte magic string "\x93NUMPY", a major and minor version byte, the header length (2 bytes
// little-endian in version 1.0, 4 bytes in 2.0 and 3.0), then a Python dict literal such as
// "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces and a final newline so that the
// data starts at a multiple of 64 bytes, then the raw elements.
#include "apical/io/npy.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"

namespace apical::io {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr std::size_t kAlign = 64;

struct DtypeInfo {
  std::string_view code;  // kind + size, e.g. "f8"
  std::string_view name;  // NumPy name
  std::size_t size;
};
constexpr std::array<DtypeInfo, 8> kDtypes{{{"f8", "float64", 8},
                                            {"f4", "float32", 4},
                                            {"i8", "int64", 8},
                                            {"i4", "int32", 4},
                                            {"u8", "uint64", 8},
                                            {"u4", "uint32", 4},
                                            {"u1", "uint8", 1},
                                            {"b1", "bool", 1}}};

const DtypeInfo* find_code(std::string_view code) {
  for (const auto& d : kDtypes) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

/// The canonical type string for a code: "<f8", "|u1".
std::string canonical(const DtypeInfo& d) {
  return (d.size == 1 ? "|" : "<") + std::string(d.code);
}

std::string supported_list() {
  std::string out;
  for (const auto& d : kDtypes) {
    if (!out.empty()) out += ", ";
    out += fmt::format("'{}' ({})", canonical(d), d.name);
  }
  return out;
}

std::string shape_tuple(const std::vector<std::size_t>& shape) {
  if (shape.empty()) return "()";
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + (shape.size() == 1 ? ",)" : ")");
}

/// A minimal parser for the Python literal in a .npy header: a dict of string keys whose values are strings,
/// booleans or tuples of non-negative integers.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::filesystem::path& source) : text_(text), source_(source) {}

  struct Value {
    enum class Kind { kString, kBool, kTuple } kind = Kind::kString;
    std::string str;
    bool flag = false;
    std::vector<std::size_t> ints;
  };

  std::vector<std::pair<std::string, Value>> parse_dict() {
    std::vector<std::pair<std::string, Value>> out;
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      std::string key = parse_string();
      expect(':');
      Value v = parse_value();
      out.emplace_back(std::move(key), std::move(v));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      break;
    }
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the dictionary");
    return out;
  }

 private:
  [[noreturn]] void error(std::string_view what) const {
    fail("{}: invalid .npy header ({} at offset {} of \"{}\")", source_.string(), what, pos_, printable());
  }
  std::string printable() const {
    std::string out;
    for (char c : text_.substr(0, 200)) out += (c >= 32 && c < 127) ? c : '?';
    return out;
  }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) error(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') error("expected a quoted string");
    ++pos_;
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') error("escape sequences are not supported");
      out += text_[pos_++];
    }
    if (pos_ >= text_.size()) error("unterminated string");
    ++pos_;
    return out;
  }
  std::size_t parse_uint() {
    skip_space();
    if (peek() < '0' || peek() > '9') error("expected a non-negative integer");
    std::size_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const auto digit = static_cast<std::size_t>(peek() - '0');
      if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10) error("integer too large");
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long suffix
    return v;
  }
  Value parse_value() {
    skip_space();
    Value v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = Value::Kind::kString;
      v.str = parse_string();
    } else if (text_.substr(pos_, 4) == "True") {
      v.kind = Value::Kind::kBool;
      v.flag = true;
      pos_ += 4;
    } else if (text_.substr(pos_, 5) == "False") {
      v.kind = Value::Kind::kBool;
      v.flag = false;
      pos_ += 5;
    } else if (c == '(') {
      v.kind = Value::Kind::kTuple;
      ++pos_;
      for (;;) {
        skip_space();
        if (peek() == ')') {
          ++pos_;
          break;
        }
        v.ints.push_back(parse_uint());
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(')');
        break;
      }
    } else {
      error("expected a string, True, False or a tuple");
    }
    return v;
  }

  std::string_view text_;
  const std::filesystem::path& source_;
  std::size_t pos_ = 0;
};

std::uint32_t read_le(std::string_view bytes, std::size_t offset, std::size_t width) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return v;
}

/// Reorders Fortran-order element bytes into C order.
std::string fortran_to_c(const std::string& data, const std::vector<std::size_t>& shape, std::size_t item) {
  const std::size_t n = data.size() / item;
  const std::size_t ndim = shape.size();
  if (ndim <= 1 || n == 0) return data;
  std::vector<std::size_t> fstride(ndim);
  std::size_t s = 1;
  for (std::size_t k = 0; k < ndim; ++k) {
    fstride[k] = s;
    s *= shape[k];
  }
  std::string out(data.size(), '\0');
  std::vector<std::size_t> idx(ndim, 0);
  std::size_t foff = 0;  // Fortran offset (in elements) of the C-order index idx
  for (std::size_t c = 0; c < n; ++c) {
    std::memcpy(&out[c * item], &data[foff * item], item);
    // Advance idx in C order (last index fastest), keeping foff in step.
    for (std::size_t k = ndim; k-- > 0;) {
      if (++idx[k] < shape[k]) {
        foff += fstride[k];
        break;
      }
      foff -= (shape[k] - 1) * fstride[k];
      idx[k] = 0;
    }
  }
  return out;
}

}  // namespace

std::size_t npy_item_size(std::string_view dtype) {
  if (dtype.size() < 2) return 0;
  const DtypeInfo* d = find_code(dtype.substr(1));
  return d != nullptr && dtype == canonical(*d) ? d->size : 0;
}

std::string npy_dtype_name(std::string_view dtype) {
  if (dtype.size() >= 2) {
    if (const DtypeInfo* d = find_code(dtype.substr(1))) return std::string(d->name);
  }
  return std::string(dtype);
}

namespace detail {

std::size_t element_count(const std::vector<std::size_t>& shape, std::string_view what) {
  std::size_t n = 1;
  for (std::size_t d : shape) {
    if (d != 0 && n > std::numeric_limits<std::size_t>::max() / d) {
      fail("{}: shape {} has too many elements", what, shape_tuple(shape));
    }
    n *= d;
  }
  return n;
}

void check_shape(std::size_t count, const std::vector<std::size_t>& shape, std::string_view what) {
  const std::size_t expected = element_count(shape, what);
  if (expected != count) {
    fail("{}: shape {} needs {} elements, but {} were given", what, shape_tuple(shape), expected, count);
  }
}

void check_dtype(std::string_view stored, std::string_view requested, std::string_view what) {
  if (stored != requested) {
    fail("{}: stored dtype is '{}' ({}), but '{}' ({}) was requested", what, stored, npy_dtype_name(stored),
         requested, npy_dtype_name(requested));
  }
}

void check_bools(std::string_view data, std::string_view what) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    const auto b = static_cast<unsigned char>(data[i]);
    if (b > 1) fail("{}: bool element {} has the invalid byte value {}", what, i, b);
  }
}

std::string npy_bytes_raw(std::string_view dtype, std::string_view data, const std::vector<std::size_t>& shape) {
  const std::size_t item = npy_item_size(dtype);
  if (item == 0) fail("npy: unsupported dtype '{}'; supported: {}", dtype, supported_list());
  const std::size_t count = element_count(shape, "npy array");
  if (data.size() != count * item) {
    fail("npy: shape {} of dtype '{}' needs {} bytes, but {} were given", shape_tuple(shape), dtype, count * item,
         data.size());
  }
  std::string dict =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", dtype, shape_tuple(shape));
  // Version 1.0 stores the header length in 2 bytes; larger headers (very many dimensions) need version 2.0.
  std::size_t prefix = kMagic.size() + 2 + 2;
  const std::size_t min_total_v1 = prefix + dict.size() + 1;
  const bool v2 = ((min_total_v1 + kAlign - 1) / kAlign * kAlign - prefix) > 0xFFFF;
  if (v2) prefix = kMagic.size() + 2 + 4;
  const std::size_t total = (prefix + dict.size() + 1 + kAlign - 1) / kAlign * kAlign;
  const std::size_t header_len = total - prefix;
  dict.append(header_len - dict.size() - 1, ' ');
  dict += '\n';

  std::string out;
  out.reserve(total + data.size());
  out += kMagic;
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  const std::size_t len_bytes = v2 ? 4 : 2;
  for (std::size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((header_len >> (8 * i)) & 0xFF);
  out += dict;
  out += data;
  return out;
}

}  // namespace detail

std::size_t NpyArray::size() const {
  return detail::element_count(shape, source.string());
}

void write_npy_raw(const std::filesystem::path& path, std::string_view dtype, std::string_view data,
                   const std::vector<std::size_t>& shape) {
  std::string bytes;
  try {
    bytes = detail::npy_bytes_raw(dtype, data, shape);
  } catch (const Error& e) {
    fail("cannot write {}: {}", path.string(), e.what());
  }
  write_file_atomic(path, bytes);
}

NpyArray parse_npy(std::string bytes, const std::filesystem::path& source) {
  const std::string src = source.string();
  if (bytes.size() < kMagic.size() + 2 || std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    fail("{}: not a NumPy .npy file (the magic string \\x93NUMPY is missing)", src);
  }
  const auto major = static_cast<unsigned char>(bytes[6]);
  const auto minor = static_cast<unsigned char>(bytes[7]);
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    fail("{}: unsupported .npy format version {}.{} (supported: 1.0, 2.0, 3.0)", src, major, minor);
  }
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = 8 + len_bytes;
  if (bytes.size() < prefix) fail("{}: truncated .npy file (the header length is missing)", src);
  const std::size_t header_len = read_le(bytes, 8, len_bytes);
  if (bytes.size() < prefix + header_len) {
    fail("{}: truncated .npy file (the header needs {} bytes, the file has {})", src, prefix + header_len,
         bytes.size());
  }

  NpyArray out;
  out.source = source;
  HeaderParser parser(std::string_view(bytes).substr(prefix, header_len), source);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<std::size_t>> shape;
  for (auto& [key, value] : parser.parse_dict()) {
    using Kind = HeaderParser::Value::Kind;
    if (key == "descr" && value.kind == Kind::kString) {
      descr = value.str;
    } else if (key == "fortran_order" && value.kind == Kind::kBool) {
      fortran = value.flag;
    } else if (key == "shape" && value.kind == Kind::kTuple) {
      shape = value.ints;
    } else {
      fail("{}: invalid .npy header: unexpected key or value type for '{}'", src, key);
    }
  }
  if (!descr || !fortran || !shape) {
    fail("{}: invalid .npy header: it must have the keys 'descr', 'fortran_order' and 'shape'", src);
  }

  // Type string: byte-order character + kind + size.
  const std::string& d = *descr;
  const DtypeInfo* info = d.size() >= 2 ? find_code(std::string_view(d).substr(1)) : nullptr;
  const char order = d.empty() ? '?' : d[0];
  if (info == nullptr || (order != '<' && order != '>' && order != '|' && order != '=')) {
    fail("{}: unsupported dtype '{}' ({}); supported: {}", src, d, npy_dtype_name(d), supported_list());
  }
  out.dtype = canonical(*info);
  out.fortran_order = *fortran;
  out.shape = std::move(*shape);

  const std::size_t count = detail::element_count(out.shape, src);
  if (count > std::numeric_limits<std::size_t>::max() / info->size) fail("{}: shape is too large", src);
  const std::size_t expected = count * info->size;
  const std::size_t actual = bytes.size() - prefix - header_len;
  if (actual != expected) {
    fail("{}: {} .npy data: shape {} of {} needs {} bytes, the file has {}", src,
         actual < expected ? "truncated" : "invalid", shape_tuple(out.shape), out.dtype, expected, actual);
  }
  bytes.erase(0, prefix + header_len);
  out.data = std::move(bytes);
  if (order == '>' && info->size > 1) {
    for (std::size_t i = 0; i < out.data.size(); i += info->size) {
      std::reverse(out.data.begin() + static_cast<std::ptrdiff_t>(i),
                   out.data.begin() + static_cast<std::ptrdiff_t>(i + info->size));
    }
  }
  if (out.fortran_order) out.data = fortran_to_c(out.data, out.shape, info->size);
  if (out.dtype == "|b1") detail::check_bools(out.data, src);
  return out;
}

NpyArray read_npy(const std::filesystem::path& path) {
  return parse_npy(read_file(path), path);
}

}  // namespace apical::io
