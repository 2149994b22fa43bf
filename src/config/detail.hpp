// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers shared by schema.cpp and config.cpp (not part of the public API).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apical/config/config.hpp"

namespace apical::config::detail {

/// Shortest text that reads back to the same double, always with a '.', 'e', "inf" or "nan" ("1.0", "0.21").
std::string format_real(double x);
/// A bound or range limit: integral values without a fraction ("0", "1000"), others as format_real.
std::string format_number(double x);
/// A string as a YAML scalar: plain when unambiguous, otherwise double-quoted with escapes.
std::string yaml_string(std::string_view s);
/// A value as YAML text (flow style for lists): "true", "60", "0.21", "spiking", "[500, 10]".
std::string format_value(const Value& value);

/// What a value of this option must be: "an integer", "a list of numbers", "one of spiking, nonspiking", ...
std::string expected_text(const Option& option);
/// The range as a condition: "> 0", ">= 0 and <= 1"; empty when unbounded.
std::string range_text(const Option& option);

/// Checks a well-typed value against the option's range, length, finiteness and choices. Returns the problem
/// ("training.learning_rates[1] = -0.2 is out of range: must be > 0"), or nullopt when the value is valid.
std::optional<std::string> check_value(const Option& option, const Value& value);

/// Damerau-Levenshtein (optimal string alignment) distance.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// Up to n candidates close to `query` (full path or last segment), best first.
std::vector<std::string> nearest(std::string_view query, const std::vector<std::string>& candidates,
                                 std::size_t n);

/// The part after the last '.', or the whole key.
std::string_view last_segment(std::string_view key);

}  // namespace apical::config::detail
