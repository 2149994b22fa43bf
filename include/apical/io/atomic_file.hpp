// SPDX-License-Identifier: Apache-2.0
#pragma once

// Crash-safe file output. Every file apical writes (results, weights, checkpoints, meta.json) goes through
// write_file_atomic: readers see either the complete old file or the complete new one, never a torn mix, even if
// the process is killed or the machine loses power in the middle of the write.

#include <filesystem>
#include <string>
#include <string_view>

namespace apical::io {

/// Replaces `path` with `bytes` atomically: writes a uniquely named temporary file in the same folder, checks
/// every write (short writes, ENOSPC, EFBIG, ...), fsyncs and closes it, renames it over `path`, and fsyncs the
/// folder. On failure the temporary file is removed, `path` keeps its previous content, and apical::Error is
/// thrown naming `path` and the operating-system error. The parent folder must exist.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// The whole content of a file; throws apical::Error naming the file and the operating-system error.
std::string read_file(const std::filesystem::path& path);

}  // namespace apical::io
