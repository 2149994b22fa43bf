// SPDX-License-Identifier: Apache-2.0
// Config: reading YAML files (with `extends:`), applying overrides, typed access, and writing YAML back.
#include "apical/config/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <system_error>

#include "apical/core/error.hpp"
#include "detail.hpp"

namespace apical::config {

namespace fs = std::filesystem;

namespace {

/// Where values come from: a file (messages give line and column) or one override.
struct Origin {
  std::string source;  ///< "one_hidden.yaml" or "--set training.epochs=1"
  bool is_file = false;
};

std::string where(const Origin& origin, const YAML::Mark& mark) {
  if (origin.is_file && !mark.is_null()) {
    return fmt::format("{}:{}:{}", origin.source, mark.line + 1, mark.column + 1);
  }
  return origin.source;
}

YAML::Mark mark_of(const YAML::Node& node, const YAML::Mark& fallback) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark;
}

bool is_plain(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() == "?";
}

/// How a node is shown after "got ...".
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return "no value";
    case YAML::NodeType::Scalar:
      if (is_plain(node)) return fmt::format("'{}'", node.Scalar());
      return fmt::format("\"{}\" (a quoted string)", node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
  }
  return "?";
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t");
  return s.substr(first, last - first + 1);
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return std::nullopt;
}

enum class Parse { ok, invalid, overflow };

Parse parse_int(std::string_view text, std::int64_t& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return Parse::invalid;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec == std::errc::result_out_of_range) return Parse::overflow;
  if (ec != std::errc() || ptr != text.data() + text.size()) return Parse::invalid;
  return Parse::ok;
}

Parse parse_real(std::string_view text, double& out) {
  // YAML spellings of the special values, so that they are reported as "not finite" rather than "not a number".
  static constexpr std::string_view kInf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"};
  static constexpr std::string_view kNegInf[] = {"-.inf", "-.Inf", "-.INF"};
  static constexpr std::string_view kNan[] = {".nan", ".NaN", ".NAN"};
  const auto in = [&](const auto& list) {
    return std::find(std::begin(list), std::end(list), text) != std::end(list);
  };
  if (in(kInf)) return out = HUGE_VAL, Parse::ok;
  if (in(kNegInf)) return out = -HUGE_VAL, Parse::ok;
  if (in(kNan)) return out = std::nan(""), Parse::ok;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '+') return Parse::invalid;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec == std::errc::result_out_of_range) return Parse::overflow;
  if (ec != std::errc() || ptr != text.data() + text.size()) return Parse::invalid;
  return Parse::ok;
}

/// Parses YAML text holding at most one document; an empty text gives a null node.
YAML::Node parse_yaml(const std::string& text, const Origin& origin) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    if (origin.is_file) {
      fail("{}:{}:{}: YAML syntax error: {}", origin.source, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    fail("{}: the value is not valid YAML (column {}): {}", origin.source, e.mark.column + 1, e.msg);
  } catch (const YAML::Exception& e) {
    fail("{}: cannot read YAML: {}", origin.source, e.what());
  }
  if (documents.size() > 1) {
    fail("{}: holds {} YAML documents (separated by '---'); expected one", origin.source, documents.size());
  }
  return documents.empty() ? YAML::Node() : documents.front();
}

std::string read_file(const fs::path& file, const std::string& display, const std::string& context) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}cannot read config file '{}': {}", context, display, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail("{}cannot read config file '{}'", context, display);
  return text.str();
}

struct ChainEntry {
  fs::path canonical;  ///< empty for text that is not a file
  std::string display;
};

using DocumentHandler = std::function<void(const YAML::Node& document, const Origin& origin)>;

void read_text_chain(const std::string& text, const std::string& display, const fs::path& base_dir,
                     const fs::path& canonical, std::vector<ChainEntry>& chain, const DocumentHandler& handle);

/// Reads a file and, first, the files it extends; calls `handle` for each document, the most basic first.
void read_file_chain(const fs::path& file, const std::string& display, std::vector<ChainEntry>& chain,
                     const std::string& context, const DocumentHandler& handle) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(file, ec);
  if (ec) canonical = fs::absolute(file);
  const bool cycle = std::any_of(chain.begin(), chain.end(),
                                 [&](const ChainEntry& entry) { return entry.canonical == canonical; });
  if (cycle) {
    std::string names;
    for (const auto& entry : chain) names += entry.display + " -> ";
    fail("{}'extends' cycle: {}{}", context, names, display);
  }
  const std::string text = read_file(file, display, context);
  read_text_chain(text, display, file.parent_path(), canonical, chain, handle);
}

void read_text_chain(const std::string& text, const std::string& display, const fs::path& base_dir,
                     const fs::path& canonical, std::vector<ChainEntry>& chain, const DocumentHandler& handle) {
  const Origin origin{display, true};
  const YAML::Node root = parse_yaml(text, origin);
  if (root.IsNull()) return;
  if (!root.IsMap()) {
    fail("{}: expected a map of options (key: value lines) at the top level, got {}", where(origin, root.Mark()),
         describe(root));
  }
  chain.push_back({canonical, display});
  bool has_extends = false;
  YAML::Node extends;
  YAML::Mark extends_mark;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (!it->first.IsScalar() || it->first.Scalar() != "extends") continue;
    if (has_extends) {
      fail("{}: duplicate key 'extends' (first given at line {})", where(origin, it->first.Mark()),
           extends_mark.line + 1);
    }
    has_extends = true;
    extends = it->second;
    extends_mark = it->first.Mark();
  }
  if (has_extends) {
    const std::string at = where(origin, mark_of(extends, extends_mark));
    if (!extends.IsScalar() || extends.Scalar().empty()) {
      fail("{}: extends: expected the name of a YAML file to extend, got {}", at, describe(extends));
    }
    const fs::path base = (base_dir / extends.Scalar()).lexically_normal();
    read_file_chain(base, base.string(), chain, at + ": extends: ", handle);
  }
  handle(root, origin);
  chain.pop_back();
}

/// Splits "key.path=value" into key and value text.
std::pair<std::string, std::string> split_override(std::string_view text, const std::string& label) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    fail("{}: malformed override: expected key.path=value (e.g. training.epochs=10)", label);
  }
  const std::string_view key = trim(text.substr(0, eq));
  if (key.empty()) fail("{}: malformed override: the key before '=' is empty", label);
  return {std::string(key), std::string(text.substr(eq + 1))};
}

std::string join_path(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

/// Applies YAML documents and overrides to a Config, checking every key and value against its schema.
class ConfigBuilder {
 public:
  explicit ConfigBuilder(Config& config) : config_(config), schema_(*config.schema_) {}

  void apply_document(const YAML::Node& root, const Origin& origin) {
    std::map<std::string, YAML::Mark> seen;
    apply_map(root, "", origin, &seen);
  }

  void apply_assignment(const std::string& key, const std::string& value_text, const Origin& origin) {
    if (key == "extends") fail("{}: 'extends' can only be used at the top of a config file", origin.source);
    const YAML::Node value = parse_yaml(value_text, origin);
    apply_at(key, value, origin, YAML::Mark::null_mark(), nullptr);
  }

 private:
  void apply_map(const YAML::Node& map, const std::string& prefix, const Origin& origin,
                 std::map<std::string, YAML::Mark>* seen) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;  // a copy: the iterator yields temporaries
      if (!key.IsScalar() || key.Scalar().empty()) {
        fail("{}: expected an option name as key{}, got {}", where(origin, key.Mark()),
             prefix.empty() ? "" : " in section '" + prefix + "'", describe(key));
      }
      if (prefix.empty() && key.Scalar() == "extends" && origin.is_file) continue;  // resolved by the reader
      const std::string path = join_path(prefix, key.Scalar());
      if (seen != nullptr) {
        const auto [pos, inserted] = seen->emplace(path, key.Mark());
        if (!inserted) {
          fail("{}: duplicate key '{}' (first given at line {})", where(origin, key.Mark()), path,
               pos->second.line + 1);
        }
      }
      apply_at(path, it->second, origin, key.Mark(), seen);
    }
  }

  void apply_at(const std::string& path, const YAML::Node& node, const Origin& origin, const YAML::Mark& key_mark,
                std::map<std::string, YAML::Mark>* seen) {
    if (const auto index = schema_.index_of(path)) {
      config_.values_[*index] = parse_value(schema_.options()[*index], node, origin, key_mark);
      config_.explicit_[*index] = true;
      return;
    }
    const std::string at = where(origin, mark_of(node, key_mark));
    if (schema_.is_section(path)) {
      if (node.IsMap()) return apply_map(node, path, origin, seen);
      if (node.IsNull()) return;  // an empty section
      fail("{}: '{}' is a section, not an option: expected a map of its options ({}), got {}", at, path,
           section_keys(path), describe(node));
    }
    // Nothing inside an unknown section can be valid: report its first key, so the message gives a full path.
    if (node.IsMap() && node.size() > 0) return apply_map(node, path, origin, seen);
    unknown_key(path, where(origin, key_mark.is_null() ? node.Mark() : key_mark));
  }

  /// The keys directly inside a section, for messages: "mode, layers".
  std::string section_keys(const std::string& section) const {
    std::vector<std::string> names;
    const std::string prefix = section.empty() ? "" : section + ".";
    for (const auto& option : schema_.options()) {
      if (option.key.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = option.key.substr(prefix.size());
      std::string name = rest.substr(0, rest.find('.'));
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    }
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) out += (i > 0 ? ", " : "") + names[i];
    return out;
  }

  [[noreturn]] void unknown_key(const std::string& path, const std::string& at) const {
    // The deepest known section containing the key, and the first unknown one.
    std::string parent;
    std::string missing_section;
    for (std::size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
      const std::string prefix = path.substr(0, dot);
      if (schema_.is_section(prefix)) {
        parent = prefix;
      } else {
        missing_section = prefix;
        break;
      }
    }
    std::vector<std::string> candidates;
    for (const auto& option : schema_.options()) {
      candidates.push_back(option.key);
      for (std::size_t dot = option.key.find('.'); dot != std::string::npos; dot = option.key.find('.', dot + 1)) {
        std::string section = option.key.substr(0, dot);
        if (std::find(candidates.begin(), candidates.end(), section) == candidates.end()) {
          candidates.push_back(std::move(section));
        }
      }
    }
    const auto near = detail::nearest(path, candidates, 1);
    std::string message = fmt::format("{}: unknown key '{}'", at, path);
    if (!missing_section.empty()) message += fmt::format(" (there is no section '{}')", missing_section);
    if (!near.empty()) {
      message += fmt::format("; did you mean '{}'?", near.front());
    } else if (parent.empty()) {
      message += fmt::format("; valid top-level keys: {}", section_keys(""));
    } else {
      message += fmt::format("; valid keys in '{}': {}", parent, section_keys(parent));
    }
    throw Error(message);
  }

  [[noreturn]] static void wrong(const std::string& at, const std::string& what, const std::string& expected,
                                 const YAML::Node& got, const std::string& note = "") {
    fail("{}: {}: expected {}, got {}{}", at, what, expected, describe(got), note);
  }

  Value parse_value(const Option& option, const YAML::Node& node, const Origin& origin,
                    const YAML::Mark& key_mark) const {
    const std::string at = where(origin, mark_of(node, key_mark));
    const std::string& key = option.key;
    const auto scalar_number = [&](const std::string& what, const YAML::Node& element, bool integer) -> Value {
      const std::string expected = integer ? "an integer" : "a number";
      const std::string here = where(origin, mark_of(element, key_mark));
      if (!is_plain(element)) wrong(here, what, expected, element);
      const std::string& text = element.Scalar();
      if (integer) {
        std::int64_t i = 0;
        const Parse result = parse_int(text, i);
        if (result == Parse::overflow) wrong(here, what, expected, element, " (beyond the 64-bit integer range)");
        if (result != Parse::ok) wrong(here, what, expected, element);
        return i;
      }
      double x = 0;
      const Parse result = parse_real(text, x);
      if (result == Parse::overflow) wrong(here, what, expected, element, " (beyond the range of a double)");
      if (result != Parse::ok) wrong(here, what, expected, element);
      return x;
    };

    Value value;
    switch (option.type) {
      case Type::boolean: {
        const auto b = is_plain(node) ? parse_bool(node.Scalar()) : std::nullopt;
        if (!b) wrong(at, key, detail::expected_text(option), node);
        value = *b;
        break;
      }
      case Type::integer:
        value = scalar_number(key, node, true);
        break;
      case Type::real:
        value = scalar_number(key, node, false);
        break;
      case Type::string:
      case Type::choice:
        if (!node.IsScalar()) wrong(at, key, detail::expected_text(option), node);
        value = node.Scalar();
        break;
      case Type::int_list:
      case Type::real_list: {
        const bool integer = option.type == Type::int_list;
        if (!node.IsSequence()) wrong(at, key, detail::expected_text(option), node);
        std::vector<std::int64_t> ints;
        std::vector<double> reals;
        for (std::size_t i = 0; i < node.size(); ++i) {
          const Value element = scalar_number(fmt::format("{}[{}]", key, i), node[i], integer);
          if (integer) {
            ints.push_back(std::get<std::int64_t>(element));
          } else {
            reals.push_back(std::get<double>(element));
          }
        }
        if (integer) {
          value = std::move(ints);
        } else {
          value = std::move(reals);
        }
        break;
      }
    }
    if (auto problem = detail::check_value(option, value)) fail("{}: {}", at, *problem);
    return value;
  }

  Config& config_;
  const Schema& schema_;
};

Config::Config(const Schema& schema, std::string source)
    : schema_(std::make_shared<const Schema>(schema)), source_(std::move(source)) {
  values_.reserve(schema_->options().size());
  for (const auto& option : schema_->options()) values_.push_back(option.default_value);
  explicit_.assign(values_.size(), false);
}

Config Config::defaults(const Schema& schema) {
  return Config(schema, "<defaults>");
}

Config Config::load(const Schema& schema, const fs::path& file, const std::vector<std::string>& overrides) {
  Config config(schema, file.string());
  ConfigBuilder builder(config);
  std::vector<ChainEntry> chain;
  read_file_chain(file, file.string(), chain, "",
                  [&](const YAML::Node& root, const Origin& origin) { builder.apply_document(root, origin); });
  for (const auto& text : overrides) config.set_override(text);
  return config;
}

Config Config::from_string(const Schema& schema, std::string_view yaml, std::string source_name,
                           const std::vector<std::string>& overrides) {
  Config config(schema, std::move(source_name));
  ConfigBuilder builder(config);
  std::vector<ChainEntry> chain;
  read_text_chain(std::string(yaml), config.source_, fs::path(), fs::path(), chain,
                  [&](const YAML::Node& root, const Origin& origin) { builder.apply_document(root, origin); });
  for (const auto& text : overrides) config.set_override(text);
  return config;
}

void Config::set_override(std::string_view text) {
  const std::string label = fmt::format("--set {}", text);
  const auto [key, value_text] = split_override(text, label);
  ConfigBuilder(*this).apply_assignment(key, value_text, Origin{label, false});
}

void Config::set(std::string_view key, std::string_view value_text) {
  const std::string label = fmt::format("set {}={}", key, value_text);
  const std::string_view trimmed = trim(key);
  if (trimmed.empty()) fail("{}: the key is empty", label);
  Config updated = *this;  // all or nothing, also when a section map sets several options
  ConfigBuilder(updated).apply_assignment(std::string(trimmed), std::string(value_text), Origin{label, false});
  *this = std::move(updated);
}

std::size_t Config::require(std::string_view key, const char* accessor, Type wanted) const {
  const auto index = schema_->index_of(key);
  if (!index) {
    const auto near = schema_->nearest_keys(key, 1);
    fail("config {}: {}(\"{}\"): no such option{}", source_, accessor, key,
         near.empty() ? "" : fmt::format("; did you mean '{}'?", near.front()));
  }
  const Type type = schema_->options()[*index].type;
  if (type != wanted && !(wanted == Type::string && type == Type::choice)) {
    fail("config {}: {}(\"{}\"): the option is of type {}, not {}", source_, accessor, key, type_name(type),
         type_name(wanted));
  }
  return *index;
}

bool Config::get_bool(std::string_view key) const {
  return std::get<bool>(values_[require(key, "get_bool", Type::boolean)]);
}

std::int64_t Config::get_int(std::string_view key) const {
  return std::get<std::int64_t>(values_[require(key, "get_int", Type::integer)]);
}

double Config::get_real(std::string_view key) const {
  return std::get<double>(values_[require(key, "get_real", Type::real)]);
}

const std::string& Config::get_string(std::string_view key) const {
  return std::get<std::string>(values_[require(key, "get_string", Type::string)]);
}

const std::vector<std::int64_t>& Config::get_int_list(std::string_view key) const {
  return std::get<std::vector<std::int64_t>>(values_[require(key, "get_int_list", Type::int_list)]);
}

const std::vector<double>& Config::get_real_list(std::string_view key) const {
  return std::get<std::vector<double>>(values_[require(key, "get_real_list", Type::real_list)]);
}

const Value& Config::get(std::string_view key) const {
  const auto index = schema_->index_of(key);
  if (!index) {
    const auto near = schema_->nearest_keys(key, 1);
    fail("config {}: get(\"{}\"): no such option{}", source_, key,
         near.empty() ? "" : fmt::format("; did you mean '{}'?", near.front()));
  }
  return values_[*index];
}

bool Config::is_set(std::string_view key) const {
  const auto index = schema_->index_of(key);
  if (!index) fail("config {}: is_set(\"{}\"): no such option", source_, key);
  return explicit_[*index];
}

namespace {

struct TreeNode {
  std::string name;
  std::optional<std::size_t> option;
  std::vector<TreeNode> children;
};

std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

}  // namespace

std::string Config::to_yaml() const {
  TreeNode root;
  const auto& options = schema_->options();
  for (std::size_t i = 0; i < options.size(); ++i) {
    TreeNode* node = &root;
    std::string_view rest = options[i].key;
    while (true) {
      const auto dot = rest.find('.');
      const std::string name(rest.substr(0, dot));
      auto it = std::find_if(node->children.begin(), node->children.end(),
                             [&](const TreeNode& child) { return child.name == name; });
      if (it == node->children.end()) {
        node->children.push_back({name, std::nullopt, {}});
        it = std::prev(node->children.end());
      }
      node = &*it;
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    node->option = i;
  }

  std::string out = fmt::format(
      "# apical configuration, fully resolved: every option with its value (re-loadable as a config file).\n"
      "# Source: {}\n",
      one_line(source_));
  const std::function<void(const TreeNode&, std::size_t)> emit = [&](const TreeNode& node, std::size_t indent) {
    for (const auto& child : node.children) {
      const std::string pad(indent, ' ');
      if (!child.option) {
        out += fmt::format("{}{}:\n", pad, detail::yaml_string(child.name));
        emit(child, indent + 2);
        continue;
      }
      const Option& option = options[*child.option];
      std::string line = fmt::format("{}{}: {}", pad, detail::yaml_string(child.name),
                                     detail::format_value(values_[*child.option]));
      std::string comment;
      if (!option.unit.empty()) comment += fmt::format("[{}]", option.unit);
      if (!option.doc.empty()) comment += (comment.empty() ? "" : " ") + one_line(option.doc);
      if (!comment.empty()) line += "  # " + comment;
      out += line + "\n";
    }
  };
  emit(root, 0);
  return out;
}

bool operator==(const Config& a, const Config& b) {
  const auto& oa = a.schema_->options();
  const auto& ob = b.schema_->options();
  if (oa.size() != ob.size()) return false;
  for (std::size_t i = 0; i < oa.size(); ++i) {
    if (oa[i].key != ob[i].key || a.values_[i] != b.values_[i]) return false;
  }
  return true;
}

bool same_settings(const Config& cfg, const fs::path& file) {
  if (!fs::exists(file)) return false;
  try {
    return Config::load(cfg.schema(), file) == cfg;
  } catch (const Error&) {
    return false;  // written under options that no longer exist, or damaged: not the same run
  }
}

void check_overrides(const std::vector<std::string>& overrides, const std::vector<ReservedKey>& reserved) {
  for (const auto& text : overrides) {
    const std::string label = fmt::format("--set {}", text);
    const std::string key = split_override(text, label).first;
    for (const auto& r : reserved) {
      const bool same = key == r.key;
      const bool section =
          r.key.size() > key.size() && r.key.substr(0, key.size()) == key && r.key[key.size()] == '.';
      if (same || section) {
        fail("{}: this command sets {} itself on every run; use {}", label, r.key, r.instead);
      }
    }
  }
}

Config load_run(const Schema& schema, const fs::path& file, const std::vector<std::string>& overrides,
                std::string_view label) {
  try {
    return Config::load(schema, file, overrides);
  } catch (const Error& e) {
    fail("{} ({}): {}", label, file.string(), e.what());
  }
}

std::string short_hash(std::string_view text) {
  std::uint64_t h = 0xCBF29CE484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return fmt::format("{:016x}", h).substr(0, 8);
}

std::string overrides_tag(const std::vector<std::string>& overrides) {
  if (overrides.empty()) return {};
  return "-set" + short_hash(fmt::format("{}", fmt::join(overrides, "\n")));
}

std::optional<std::string> peek(const fs::path& file, const std::vector<std::string>& overrides,
                                std::string_view key) {
  std::map<std::string, YAML::Node, std::less<>> leaves;
  const std::function<void(const YAML::Node&, const std::string&, bool)> flatten =
      [&](const YAML::Node& node, const std::string& prefix, bool top) {
        if (!node.IsMap()) {
          if (!prefix.empty()) leaves[prefix] = node;
          return;
        }
        for (auto it = node.begin(); it != node.end(); ++it) {
          if (!it->first.IsScalar()) continue;
          if (top && it->first.Scalar() == "extends") continue;
          flatten(it->second, join_path(prefix, it->first.Scalar()), false);
        }
      };
  std::vector<ChainEntry> chain;
  read_file_chain(file, file.string(), chain, "",
                  [&](const YAML::Node& root, const Origin&) { flatten(root, "", true); });
  for (const auto& text : overrides) {
    const std::string label = fmt::format("--set {}", text);
    const auto [override_key, value_text] = split_override(text, label);
    flatten(parse_yaml(value_text, Origin{label, false}), override_key, false);
  }
  const auto it = leaves.find(key);
  if (it == leaves.end() || it->second.IsNull()) return std::nullopt;
  if (it->second.IsScalar()) return it->second.Scalar();
  YAML::Emitter emitter;
  emitter << YAML::Flow << it->second;
  return std::string(emitter.c_str());
}

}  // namespace apical::config
