// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small CSV tables for per-epoch metrics (RFC 4180: comma-separated, fields with commas, quotes, line breaks or
// surrounding spaces are quoted, quotes doubled). Numbers are printed with the shortest text that reads back to
// the same value, so a resumed run continues its table exactly.

#include <fmt/format.h>

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace apical::io {

/// One cell value: text, or a number converted to its shortest round-trip text (NaN as "nan", infinities as
/// "inf" / "-inf", booleans as "true" / "false").
class CsvValue {
 public:
  CsvValue(std::string text) : text_(std::move(text)) {}  // NOLINT(google-explicit-constructor)
  CsvValue(std::string_view text) : text_(text) {}        // NOLINT(google-explicit-constructor)
  CsvValue(const char* text) : text_(text) {}             // NOLINT(google-explicit-constructor)
  template <class T>
  requires std::integral<T> || std::floating_point<T> CsvValue(T number)
      : text_(fmt::format("{}", number)) {}  // NOLINT(google-explicit-constructor)
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class CsvTable {
 public:
  CsvTable() = default;
  /// A table with these column names (unique, non-empty) and no rows.
  explicit CsvTable(std::vector<std::string> header);

  const std::vector<std::string>& header() const { return header_; }
  std::size_t columns() const { return header_.size(); }
  std::size_t rows() const { return rows_.size(); }
  /// Index of a column; throws naming the column and listing the present ones if absent.
  std::size_t column(std::string_view name) const;
  bool has_column(std::string_view name) const;

  /// Appends a row; throws unless it has exactly one value per column.
  void add_row(std::vector<CsvValue> values);
  void add_row(std::initializer_list<CsvValue> values) { add_row(std::vector<CsvValue>(values)); }
  /// Keeps only the first `n` rows (e.g. when resuming from an earlier epoch than the table reaches).
  void truncate(std::size_t n);

  /// A cell's text.
  const std::string& cell(std::size_t row, std::size_t col) const;
  const std::string& cell(std::size_t row, std::string_view col) const { return cell(row, column(col)); }
  /// A cell parsed as a number ("nan" and "inf" included); throws naming the row, column and text otherwise.
  double number(std::size_t row, std::string_view col) const;
  /// A cell parsed as an integer; throws naming the row, column and text otherwise.
  std::int64_t integer(std::size_t row, std::string_view col) const;

  /// The table as CSV text: header line, then one line per row, each ending in "\n".
  std::string str() const;
  /// Writes the whole table atomically (see write_file_atomic).
  void write(const std::filesystem::path& path) const;

  /// Reads a table written by write() (or any RFC 4180 file with a header line); errors name the file and line.
  static CsvTable read(const std::filesystem::path& path);
  /// Parses CSV text; `source` names it in error messages.
  static CsvTable parse(std::string_view text, std::string_view source = "csv");

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace apical::io
