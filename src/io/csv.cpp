// SPDX-License-Identifier: Apache-2.0
#include "apical/io/csv.hpp"

#include <fmt/ranges.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <set>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"

namespace apical::io {
namespace {

bool needs_quotes(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.front() == '\t' || s.back() == '\t') return true;
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

void append_field(std::string& out, std::string_view s) {
  if (!needs_quotes(s)) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_line(std::string& out, const std::vector<std::string>& fields) {
  if (fields.size() == 1 && fields[0].empty()) {
    out += "\"\"\n";  // a bare empty line would read back as no record at all
    return;
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    append_field(out, fields[i]);
  }
  out += '\n';
}

void check_header(const std::vector<std::string>& header, std::string_view source) {
  std::set<std::string_view> seen;
  for (const auto& name : header) {
    if (name.empty()) fail("{}: CSV column names must not be empty", source);
    if (!seen.insert(name).second) fail("{}: CSV column '{}' appears twice", source, name);
  }
}

}  // namespace

CsvTable::CsvTable(std::vector<std::string> header) : header_(std::move(header)) {
  check_header(header_, "csv");
}

bool CsvTable::has_column(std::string_view name) const {
  for (const auto& h : header_) {
    if (h == name) return true;
  }
  return false;
}

std::size_t CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return i;
  }
  fail("CSV table has no column '{}' (columns: {})", name, fmt::join(header_, ", "));
}

void CsvTable::add_row(std::vector<CsvValue> values) {
  if (values.size() != header_.size()) {
    fail("CSV row has {} values, but the table has {} columns ({})", values.size(), header_.size(),
         fmt::join(header_, ", "));
  }
  std::vector<std::string> row;
  row.reserve(values.size());
  for (auto& v : values) row.push_back(v.text());
  rows_.push_back(std::move(row));
}

void CsvTable::truncate(std::size_t n) {
  if (n < rows_.size()) rows_.resize(n);
}

const std::string& CsvTable::cell(std::size_t row, std::size_t col) const {
  if (row >= rows_.size() || col >= header_.size()) {
    fail("CSV cell ({}, {}) is outside the table ({} rows, {} columns)", row, col, rows_.size(), header_.size());
  }
  return rows_[row][col];
}

double CsvTable::number(std::size_t row, std::string_view col) const {
  const std::string& text = cell(row, col);
  // strtod accepts "nan", "inf" and "-inf", which fmt prints for non-finite values.
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || std::isspace(static_cast<unsigned char>(text[0]))) {
    fail("CSV row {}, column '{}': '{}' is not a number", row + 1, col, text);
  }
  return v;
}

std::int64_t CsvTable::integer(std::size_t row, std::string_view col) const {
  const std::string& text = cell(row, col);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    fail("CSV row {}, column '{}': '{}' is not an integer", row + 1, col, text);
  }
  return v;
}

std::string CsvTable::str() const {
  std::string out;
  append_line(out, header_);
  for (const auto& row : rows_) append_line(out, row);
  return out;
}

void CsvTable::write(const std::filesystem::path& path) const {
  write_file_atomic(path, str());
}

CsvTable CsvTable::parse(std::string_view text, std::string_view source) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::size_t> record_lines;  // line on which each record starts
  std::vector<std::string> record;
  std::string field;
  std::size_t line = 1;
  std::size_t record_line = 1;
  std::size_t i = 0;
  bool in_record = false;  // whether the current line has started a record
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' && field.empty()) {
      // Quoted field: runs to the closing quote; "" is a literal quote.
      const std::size_t start_line = line;
      ++i;
      for (;;) {
        if (i >= text.size()) fail("{}: line {}: unterminated quoted field", source, start_line);
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      in_record = true;
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        fail("{}: line {}: unexpected character after a quoted field", source, line);
      }
      continue;
    }
    if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      in_record = true;
      ++i;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      if (in_record || !field.empty()) {
        record.push_back(std::move(field));
        field.clear();
        records.push_back(std::move(record));
        record.clear();
        record_lines.push_back(record_line);
      }
      in_record = false;
      ++line;
      record_line = line;
    } else {
      field += c;
      in_record = true;
      ++i;
    }
  }
  if (in_record || !field.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
    record_lines.push_back(record_line);
  }
  if (records.empty()) fail("{}: empty CSV file (no header line)", source);

  CsvTable table;
  table.header_ = std::move(records.front());
  check_header(table.header_, source);
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table.header_.size()) {
      fail("{}: line {} has {} fields, but the header has {}", source, record_lines[r], records[r].size(),
           table.header_.size());
    }
    table.rows_.push_back(std::move(records[r]));
  }
  return table;
}

CsvTable CsvTable::read(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  return parse(text, path.string());
}

}  // namespace apical::io
