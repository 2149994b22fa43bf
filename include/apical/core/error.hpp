// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace apical {

/// The one error type of apical. Its message carries the context a user needs to act: which file, config key,
/// layer or value was wrong, and what would have been valid.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws apical::Error with a formatted message: `fail("{}: expected {} images, found {}", path, n, m)`.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace apical
