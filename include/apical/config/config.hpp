// SPDX-License-Identifier: Apache-2.0
#pragma once

// Strict, declarative experiment configuration.
//
// A Schema declares every option an experiment may set: its dotted key ("training.learning_rates"), type,
// default, unit, one-line documentation and valid range. A Config is a complete set of values for a schema,
// read from a YAML file (nested maps flattened into dotted keys, `extends: base.yaml` overlays), then from
// command-line overrides ("training.epochs=1", "model.layers=[500,100,10]"). Anything the schema does not know,
// anything of the wrong type and anything out of range is an apical::Error whose message names the file (with
// line and column) or the override, the key path, the value given and what would have been valid.
//
// YAML details: a key may also be written with dots ("training.epochs: 5" at the top level); giving the same key
// twice in one file, in either spelling, is an error (yaml-cpp keeps duplicate map entries, so they are detected
// while walking the map). Booleans are only true/false; integers are plain decimal literals; reals accept
// integers, and NaN/inf are rejected. Quoted scalars are strings, so `epochs: "10"` is a type error. Anchors and
// aliases work; merge keys (`<<:`) are not supported (reported as an unknown key). One document per file.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace apical::config {

enum class Type { boolean, integer, real, string, choice, int_list, real_list };

/// "boolean", "integer", "real", "string", "choice", "int list", "real list".
std::string_view type_name(Type type);

/// The value of one option. Alternatives by Type: boolean -> bool, integer -> int64_t, real -> double,
/// string and choice -> std::string, int_list -> vector<int64_t>, real_list -> vector<double>.
using Value =
    std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>, std::vector<double>>;

struct Option {
  std::string key;  ///< full dotted path: "training.learning_rates"
  Type type = Type::real;
  Value default_value;
  std::string unit;                    ///< "ms", "spikes/ms", "examples", "1" (dimensionless), "" for none
  std::string doc;                     ///< one line
  std::optional<double> min{}, max{};  ///< inclusive bounds for integer/real and for every element of lists
  bool min_exclusive = false;          ///< e.g. learning rate > 0
  bool max_exclusive = false;
  std::vector<std::string> choices;  ///< for Type::choice
  std::size_t min_length = 0;        ///< lists
};

/// Range and length constraints for the convenience builders: `{.min = 0, .min_exclusive = true, .max = 1}`.
struct Bounds {
  std::optional<double> min{};
  bool min_exclusive = false;
  std::optional<double> max{};
  bool max_exclusive = false;
  std::size_t min_length = 0;  ///< lists only
};

/// The declared options of an experiment kind, in declaration order (which is also the order of docs() and
/// Config::to_yaml()). Every prefix of a key ("training" for "training.epochs") is a section; a key may not be
/// both an option and a section. Mistakes in a schema (duplicate key, default out of range, ...) are programming
/// errors and throw apical::Error from add().
class Schema {
 public:
  Schema& add(Option option);

  Schema& add_bool(std::string key, bool default_value, std::string doc);
  Schema& add_int(std::string key, std::int64_t default_value, std::string unit, std::string doc,
                  Bounds bounds = {});
  Schema& add_real(std::string key, double default_value, std::string unit, std::string doc, Bounds bounds = {});
  Schema& add_string(std::string key, std::string default_value, std::string doc);
  Schema& add_choice(std::string key, std::string default_value, std::vector<std::string> choices,
                     std::string doc);
  Schema& add_int_list(std::string key, std::vector<std::int64_t> default_value, std::string unit, std::string doc,
                       Bounds bounds = {});
  Schema& add_real_list(std::string key, std::vector<double> default_value, std::string unit, std::string doc,
                        Bounds bounds = {});

  /// The option with this full key, or nullptr.
  const Option* find(std::string_view key) const;
  /// Position of the option in options(), or nullopt.
  std::optional<std::size_t> index_of(std::string_view key) const;
  /// True if `key` is a proper prefix of some option key ("training" when "training.epochs" exists).
  bool is_section(std::string_view key) const;

  /// Up to n option keys close to `key` (a likely misspelling), best first. Closeness is the edit distance
  /// (with transpositions) on the full path or on the last segment, whichever is smaller; keys that are not
  /// close are never returned, so the result may be empty.
  std::vector<std::string> nearest_keys(std::string_view key, std::size_t n = 1) const;

  /// Reference text for every option, grouped by section: key, type, unit, default, range or choices, doc.
  std::string docs() const;

  const std::vector<Option>& options() const { return options_; }

 private:
  std::vector<Option> options_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::size_t, std::less<>> sections_;  ///< section -> number of options under it
};

/// A complete, validated set of values for a schema. The Config keeps its own copy of the schema (shared
/// between copies of the Config), so the Schema passed in need not outlive it.
class Config {
 public:
  /// Loads a YAML file, resolves `extends:` (recursively, relative to the extending file), applies overrides
  /// "key.path=value" in order, and validates every value. An empty file gives all defaults.
  static Config load(const Schema& schema, const std::filesystem::path& file,
                     const std::vector<std::string>& overrides = {});
  /// As load(), from YAML text; `source_name` names it in messages. A relative `extends:` is resolved against
  /// the current directory.
  static Config from_string(const Schema& schema, std::string_view yaml, std::string source_name,
                            const std::vector<std::string>& overrides = {});
  /// Every option at its default.
  static Config defaults(const Schema& schema);

  /// Typed access: the key must exist and the option must have exactly this type (get_string serves string
  /// and choice options); otherwise apical::Error.
  bool get_bool(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_real(std::string_view key) const;
  const std::string& get_string(std::string_view key) const;
  const std::vector<std::int64_t>& get_int_list(std::string_view key) const;
  const std::vector<double>& get_real_list(std::string_view key) const;
  /// Untyped access to the stored value.
  const Value& get(std::string_view key) const;

  /// Given explicitly (in a file, an override or set()) rather than defaulted.
  bool is_set(std::string_view key) const;

  /// Sets one option (or, given a section key and a YAML flow map, several) from YAML text, with the same
  /// parsing and validation as `--set key=value`. On error the Config is unchanged.
  void set(std::string_view key, std::string_view value_text);

  /// The fully resolved configuration: a header comment, then every option in schema order as nested maps, each
  /// with its unit and doc as a trailing comment. Deterministic; load()ing it gives an equal Config.
  std::string to_yaml() const;

  /// The file (or source name) the config was read from, for messages; "<defaults>" for defaults().
  const std::string& source() const { return source_; }
  const Schema& schema() const { return *schema_; }

  /// Equal values for the same option keys (is_set() and source() are not compared).
  friend bool operator==(const Config& a, const Config& b);

 private:
  friend class ConfigBuilder;  // the YAML reader (src/config/config.cpp)
  explicit Config(const Schema& schema, std::string source);
  std::size_t require(std::string_view key, const char* accessor, Type wanted) const;
  void set_override(std::string_view text);  ///< "key.path=value", labelled "--set key.path=value" in messages

  std::shared_ptr<const Schema> schema_;
  std::vector<Value> values_;
  std::vector<bool> explicit_;
  std::string source_;
};

/// Whether the config in `file` (e.g. a run folder's config.yaml), loaded with cfg's schema, has the same values
/// as `cfg` (is_set() and source() are not compared; options added to the schema since the file was written take
/// their defaults, so runs carry across versions). False when the file is missing or no longer loads (an option
/// since removed, a value now out of range, a damaged file).
bool same_settings(const Config& cfg, const std::filesystem::path& file);

/// A key an experiment command sets itself on every config it runs (`apical reproduce` sets training.epochs from
/// --epochs, ...), with the option to use instead.
struct ReservedKey {
  std::string_view key;
  std::string_view instead;  ///< e.g. "--epochs N"
};

/// Checks the --set overrides of a command that runs many configs before anything runs: each must be
/// key.path=value, and none may set a reserved key (or a section holding one, e.g. training={...} for
/// training.epochs). The error names the override and what to use instead. Unknown keys are found when each
/// config loads (the schemas differ between the runs of one command).
void check_overrides(const std::vector<std::string>& overrides, const std::vector<ReservedKey>& reserved);

/// Config::load for one of the many runs of a command (`apical reproduce`): a failure is reported with the run's
/// label and its file in front ("fig 3 condition backprop (configs/baselines/backprop.yaml): --set ...: unknown
/// key").
Config load_run(const Schema& schema, const std::filesystem::path& file, const std::vector<std::string>& overrides,
                std::string_view label);

/// "" for no overrides, otherwise "-set" and 8 hex digits of a hash of the overrides in order: the run folders
/// of a variant (the same runs with --set) sit beside the plain ones instead of colliding with them.
std::string overrides_tag(const std::vector<std::string>& overrides);

/// 8 hex digits of the 64-bit FNV-1a hash of `text` (stable across runs, machines and versions).
std::string short_hash(std::string_view text);

/// Reads one key's raw value from a file (with its `extends:` chain) and overrides, without a schema and without
/// validating anything else: used to choose a schema (e.g. by model.type). Returns the scalar's text, a list in
/// flow style ("[500, 10]"), or nullopt if the key is not given (or given as null). Unreadable files, YAML
/// syntax errors and malformed overrides still throw apical::Error.
std::optional<std::string> peek(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                                std::string_view key);

}  // namespace apical::config
