// SPDX-License-Identifier: Apache-2.0
// Schema: option declarations, their documentation, and the value formatting and checks shared with Config.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "apical/config/config.hpp"
#include "apical/core/error.hpp"
#include "detail.hpp"

namespace apical::config {

std::string_view type_name(Type type) {
  switch (type) {
    case Type::boolean:
      return "boolean";
    case Type::integer:
      return "integer";
    case Type::real:
      return "real";
    case Type::string:
      return "string";
    case Type::choice:
      return "choice";
    case Type::int_list:
      return "int list";
    case Type::real_list:
      return "real list";
  }
  return "?";
}

namespace detail {

std::string format_real(double x) {
  if (std::isnan(x)) return ".nan";
  if (std::isinf(x)) return x > 0 ? ".inf" : "-.inf";
  std::string s = fmt::format("{}", x);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string format_number(double x) {
  if (std::isfinite(x) && x == std::trunc(x) && std::abs(x) < 1e15)
    return fmt::format("{}", static_cast<long long>(x));
  return format_real(x);
}

namespace {

bool is_plain_safe(std::string_view s) {
  if (s.empty()) return false;
  static constexpr std::string_view kReserved[] = {
      "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no",
      "No",   "NO",   "on",   "On",   "ON",   "off",  "Off",   "OFF",   "y",     "Y",   "n",   "N"};
  if (std::find(std::begin(kReserved), std::end(kReserved), s) != std::end(kReserved)) return false;
  const auto c0 = static_cast<unsigned char>(s.front());
  if (!(std::isalpha(c0) || c0 == '_' || c0 == '/')) return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/';
  });
}

template <typename T>
std::string join_list(const std::vector<T>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    if constexpr (std::is_same_v<T, double>) {
      out += format_real(items[i]);
    } else {
      out += fmt::format("{}", items[i]);
    }
  }
  return out + "]";
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::optional<std::string> check_number(const Option& option, const std::string& what, double x) {
  if (!std::isfinite(x)) return fmt::format("{} = {} is not a finite number", what, format_real(x));
  const bool below = option.min && (option.min_exclusive ? x <= *option.min : x < *option.min);
  const bool above = option.max && (option.max_exclusive ? x >= *option.max : x > *option.max);
  if (below || above) {
    const std::string shown =
        option.type == Type::integer || option.type == Type::int_list ? format_number(x) : format_real(x);
    return fmt::format("{} = {} is out of range: must be {}", what, shown, range_text(option));
  }
  return std::nullopt;
}

}  // namespace

std::string yaml_string(std::string_view s) {
  if (is_plain_safe(s)) return std::string(s);
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(ch)));
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

std::string format_value(const Value& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return fmt::format("{}", v);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_real(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return yaml_string(v);
        } else {
          return join_list(v);
        }
      },
      value);
}

std::string expected_text(const Option& option) {
  switch (option.type) {
    case Type::boolean:
      return "a boolean (true or false)";
    case Type::integer:
      return "an integer";
    case Type::real:
      return "a number";
    case Type::string:
      return "a string";
    case Type::choice:
      return "one of " + join(option.choices, ", ");
    case Type::int_list:
      return "a list of integers";
    case Type::real_list:
      return "a list of numbers";
  }
  return "?";
}

std::string range_text(const Option& option) {
  std::vector<std::string> parts;
  if (option.min)
    parts.push_back(fmt::format("{} {}", option.min_exclusive ? ">" : ">=", format_number(*option.min)));
  if (option.max)
    parts.push_back(fmt::format("{} {}", option.max_exclusive ? "<" : "<=", format_number(*option.max)));
  return join(parts, " and ");
}

std::optional<std::string> check_value(const Option& option, const Value& value) {
  const std::string& key = option.key;
  switch (option.type) {
    case Type::boolean:
    case Type::string:
      return std::nullopt;
    case Type::integer:
      return check_number(option, key, static_cast<double>(std::get<std::int64_t>(value)));
    case Type::real:
      return check_number(option, key, std::get<double>(value));
    case Type::choice: {
      const auto& s = std::get<std::string>(value);
      if (std::find(option.choices.begin(), option.choices.end(), s) != option.choices.end()) return std::nullopt;
      const auto near = nearest(s, option.choices, 1);
      return fmt::format("{}: '{}' is not a valid choice; expected one of {}{}", key, s,
                         join(option.choices, ", "),
                         near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near.front()));
    }
    case Type::int_list:
    case Type::real_list: {
      const std::size_t size = std::visit(
          [](const auto& v) -> std::size_t {
            if constexpr (requires { v.size(); }) {
              return v.size();
            } else {
              return 0;
            }
          },
          value);
      if (size < option.min_length) {
        return fmt::format("{}: the list {} is too short: expected at least {} element{}", key,
                           format_value(value), option.min_length, option.min_length == 1 ? "" : "s");
      }
      for (std::size_t i = 0; i < size; ++i) {
        const double x = option.type == Type::int_list
                             ? static_cast<double>(std::get<std::vector<std::int64_t>>(value)[i])
                             : std::get<std::vector<double>>(value)[i];
        if (auto problem = check_number(option, fmt::format("{}[{}]", key, i), x)) return problem;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1, 0));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string_view last_segment(std::string_view key) {
  const auto dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::vector<std::string> nearest(std::string_view query, const std::vector<std::string>& candidates,
                                 std::size_t n) {
  struct Scored {
    std::size_t score, full, order;
  };
  const std::string_view query_last = last_segment(query);
  const std::size_t full_limit = std::max<std::size_t>(2, query.size() / 4);
  const std::size_t last_limit = std::max<std::size_t>(1, query_last.size() / 3);
  std::vector<Scored> scored;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const std::size_t full = edit_distance(query, candidates[i]);
    const std::size_t last = edit_distance(query_last, last_segment(candidates[i]));
    const bool close_full = full <= full_limit && full < std::max(query.size(), candidates[i].size());
    const bool close_last =
        last <= last_limit && last < std::max(query_last.size(), last_segment(candidates[i]).size());
    if (!close_full && !close_last) continue;
    const std::size_t score = std::min(close_full ? full : full + last, close_last ? last : full + last);
    scored.push_back({score, full, i});
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& x, const Scored& y) {
    return std::tie(x.score, x.full, x.order) < std::tie(y.score, y.full, y.order);
  });
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && out.size() < n; ++i) out.push_back(candidates[scored[i].order]);
  return out;
}

}  // namespace detail

namespace {

bool valid_key(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  if (key.find("..") != std::string_view::npos) return false;
  return std::all_of(key.begin(), key.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

bool value_matches_type(Type type, const Value& value) {
  switch (type) {
    case Type::boolean:
      return std::holds_alternative<bool>(value);
    case Type::integer:
      return std::holds_alternative<std::int64_t>(value);
    case Type::real:
      return std::holds_alternative<double>(value);
    case Type::string:
    case Type::choice:
      return std::holds_alternative<std::string>(value);
    case Type::int_list:
      return std::holds_alternative<std::vector<std::int64_t>>(value);
    case Type::real_list:
      return std::holds_alternative<std::vector<double>>(value);
  }
  return false;
}

bool is_numeric(Type type) {
  return type == Type::integer || type == Type::real || type == Type::int_list || type == Type::real_list;
}

}  // namespace

Schema& Schema::add(Option option) {
  const std::string& key = option.key;
  if (!valid_key(key)) {
    fail("schema: invalid option key '{}': use dot-separated segments of letters, digits, '_' and '-'", key);
  }
  if (key == "extends") fail("schema: 'extends' is reserved for including another config file");
  if (index_.count(key) != 0) fail("schema: option '{}' is declared twice", key);
  if (sections_.count(key) != 0) fail("schema: option '{}' is already a section of other options", key);
  for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
    const std::string prefix = key.substr(0, dot);
    if (index_.count(prefix) != 0) fail("schema: option '{}' would make option '{}' a section", key, prefix);
  }
  if (!value_matches_type(option.type, option.default_value)) {
    fail("schema: the default of '{}' does not have the option's type ({})", key, type_name(option.type));
  }
  if ((option.min || option.max) && !is_numeric(option.type)) {
    fail("schema: option '{}' of type {} cannot have a range", key, type_name(option.type));
  }
  if (option.min && option.max && *option.min > *option.max) {
    fail("schema: option '{}' has min {} > max {}", key, detail::format_number(*option.min),
         detail::format_number(*option.max));
  }
  if ((option.type == Type::choice) == option.choices.empty()) {
    fail("schema: option '{}': choices are required for, and only for, choice options", key);
  }
  if (option.min_length != 0 && option.type != Type::int_list && option.type != Type::real_list) {
    fail("schema: option '{}' of type {} cannot have a minimum length", key, type_name(option.type));
  }
  if (auto problem = detail::check_value(option, option.default_value)) {
    fail("schema: invalid default: {}", *problem);
  }
  for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
    ++sections_[key.substr(0, dot)];
  }
  index_.emplace(key, options_.size());
  options_.push_back(std::move(option));
  return *this;
}

namespace {

Option make_option(std::string key, Type type, Value default_value, std::string unit, std::string doc,
                   const Bounds& bounds) {
  Option option;
  option.key = std::move(key);
  option.type = type;
  option.default_value = std::move(default_value);
  option.unit = std::move(unit);
  option.doc = std::move(doc);
  option.min = bounds.min;
  option.max = bounds.max;
  option.min_exclusive = bounds.min_exclusive;
  option.max_exclusive = bounds.max_exclusive;
  option.min_length = bounds.min_length;
  return option;
}

}  // namespace

Schema& Schema::add_bool(std::string key, bool default_value, std::string doc) {
  return add(make_option(std::move(key), Type::boolean, default_value, "", std::move(doc), {}));
}

Schema& Schema::add_int(std::string key, std::int64_t default_value, std::string unit, std::string doc,
                        Bounds bounds) {
  return add(make_option(std::move(key), Type::integer, default_value, std::move(unit), std::move(doc), bounds));
}

Schema& Schema::add_real(std::string key, double default_value, std::string unit, std::string doc, Bounds bounds) {
  return add(make_option(std::move(key), Type::real, default_value, std::move(unit), std::move(doc), bounds));
}

Schema& Schema::add_string(std::string key, std::string default_value, std::string doc) {
  return add(make_option(std::move(key), Type::string, std::move(default_value), "", std::move(doc), {}));
}

Schema& Schema::add_choice(std::string key, std::string default_value, std::vector<std::string> choices,
                           std::string doc) {
  Option option = make_option(std::move(key), Type::choice, std::move(default_value), "", std::move(doc), {});
  option.choices = std::move(choices);
  return add(std::move(option));
}

Schema& Schema::add_int_list(std::string key, std::vector<std::int64_t> default_value, std::string unit,
                             std::string doc, Bounds bounds) {
  return add(make_option(std::move(key), Type::int_list, std::move(default_value), std::move(unit), std::move(doc),
                         bounds));
}

Schema& Schema::add_real_list(std::string key, std::vector<double> default_value, std::string unit,
                              std::string doc, Bounds bounds) {
  return add(make_option(std::move(key), Type::real_list, std::move(default_value), std::move(unit),
                         std::move(doc), bounds));
}

const Option* Schema::find(std::string_view key) const {
  const auto it = index_.find(key);
  return it == index_.end() ? nullptr : &options_[it->second];
}

std::optional<std::size_t> Schema::index_of(std::string_view key) const {
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

bool Schema::is_section(std::string_view key) const {
  return sections_.find(key) != sections_.end();
}

std::vector<std::string> Schema::nearest_keys(std::string_view key, std::size_t n) const {
  std::vector<std::string> keys;
  keys.reserve(options_.size());
  for (const auto& option : options_) keys.push_back(option.key);
  return detail::nearest(key, keys, n);
}

std::string Schema::docs() const {
  // Group by section (everything before the last '.'), sections in order of first appearance.
  const auto section_of = [](std::string_view key) {
    const auto dot = key.rfind('.');
    return dot == std::string_view::npos ? std::string_view{} : key.substr(0, dot);
  };
  std::vector<std::string_view> sections;
  for (const auto& option : options_) {
    const std::string_view section = section_of(option.key);
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) sections.push_back(section);
  }
  std::string out = "Options: key: type [unit] = default; valid values\n";
  for (const auto& section : sections) {
    out += fmt::format("\n{}\n", section.empty() ? "(top level)" : section);
    for (const auto& option : options_) {
      if (section_of(option.key) != section) continue;
      std::string line = fmt::format("  {}: {}", option.key, type_name(option.type));
      if (!option.unit.empty()) line += fmt::format(" [{}]", option.unit);
      line += " = " + detail::format_value(option.default_value);
      std::vector<std::string> valid;
      if (option.type == Type::choice) valid.push_back("one of " + detail::join(option.choices, ", "));
      if (option.min_length > 0) valid.push_back(fmt::format("at least {} element(s)", option.min_length));
      if (const std::string range = detail::range_text(option); !range.empty()) {
        valid.push_back((option.type == Type::int_list || option.type == Type::real_list ? "each " : "") + range);
      }
      if (!valid.empty()) line += "; " + detail::join(valid, "; ");
      out += line + "\n";
      if (!option.doc.empty()) out += fmt::format("      {}\n", option.doc);
    }
  }
  return out;
}

}  // namespace apical::config
