// SPDX-License-Identifier: Apache-2.0
#pragma once

// Run folders: every training run writes its outputs (meta.json, metrics.csv, weights/, checkpoints) into one
// folder, by default runs/<name>-<YYYYmmdd-HHMMSS>. All files are written atomically.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apical/io/npy.hpp"

namespace apical::io {

class RunDir {
 public:
  /// Creates the folder of a new run.
  /// Without `out`: `runs_root/<name>-<YYYYmmdd-HHMMSS>` (local time; `-2`, `-3`, ... appended if that exists;
  /// characters of `name` other than letters, digits, '.', '-' and '_' become '_').
  /// With `out`: exactly that folder. If it exists and is not empty, this is an error unless `overwrite`, in which
  /// case its old contents are removed first; to guard against deleting unrelated files, `overwrite` only clears
  /// folders that are apical run folders (contain meta.json).
  static RunDir create(const std::string& name, const std::optional<std::filesystem::path>& out, bool overwrite,
                       const std::filesystem::path& runs_root = "runs");
  /// An existing run folder; throws unless it is a folder holding meta.json.
  static RunDir open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  /// path() / relative, after checking that `relative` is a relative path that stays inside the run folder.
  std::filesystem::path file(const std::filesystem::path& relative) const;

  /// Atomic writes of files inside the run folder, creating subfolders as needed (e.g. "weights/epoch_3/W_0.npy").
  void write_text(const std::filesystem::path& relative, std::string_view content) const;
  template <NpyElement T>
  void write_npy(const std::filesystem::path& relative, std::span<const T> values,
                 const std::vector<std::size_t>& shape) const {
    io::write_npy(prepare(relative), values, shape);
  }
  template <NpyElement T>
  requires(!std::is_same_v<T, bool>) void write_npy(const std::filesystem::path& relative,
                                                    const std::vector<T>& values,
                                                    const std::vector<std::size_t>& shape) const {
    io::write_npy(prepare(relative), std::span<const T>(values), shape);
  }

  /// metrics.csv and metrics.json from the same per-epoch rows (one value per column of `header`): the CSV with
  /// every number as printed by fmt, the JSON as an array of one object per row, with non-finite values as null
  /// and the column "epoch" as a whole number.
  void write_metrics(const std::vector<std::string>& header, const std::vector<std::vector<double>>& rows) const;

  /// meta.json (pretty-printed, written atomically).
  void write_meta(const nlohmann::json& meta) const;
  nlohmann::json read_meta() const;

 private:
  explicit RunDir(std::filesystem::path path) : path_(std::move(path)) {}
  /// file(relative), with its parent folders created.
  std::filesystem::path prepare(const std::filesystem::path& relative) const;

  std::filesystem::path path_;
};

/// "<sha>" or "<sha>-dirty" for the git checkout at `repo` (default: the apical source tree), or "unknown" when
/// git or the repository is missing. Never throws.
std::string git_commit(const std::filesystem::path& repo = APICAL_SOURCE_DIR);

/// The commit this binary was built from ("<sha>", "<sha>-dirty" or "unknown"), fixed at build time. This is what
/// a run records as git_commit: a long run keeps the commit of the program that ran it while the tree moves on.
std::string build_commit();

/// The current time as ISO 8601 UTC with milliseconds: "2024-05-01T12:34:56.789Z".
std::string iso8601_utc_now();

/// Provenance of a run: seed, git_commit, apical_version, build_type, compiler, host, os, command_line (array),
/// working_directory, start_time (ISO 8601 UTC) and status "running".
nlohmann::json make_meta(std::uint64_t seed, int argc, const char* const* argv);
/// Adds end_time, wall_seconds (since start_time) and status: "completed", "failed: <message>", "interrupted".
void finish_meta(nlohmann::json& meta, std::string_view status);

/// Runs a training (`body` returns whether it completed) and records how it ended in the run's meta.json
/// (finish_meta): "completed", "interrupted", or "failed: <message>", after which the exception is rethrown.
bool record_ending(const RunDir& run, nlohmann::json& meta, const std::function<bool()>& body);

/// meta.json of one sitting of a run that a `reproduce` command trains: make_meta(seed) with "reproduce": paper
/// and "commits": the commit of every program that trained the run, those of its earlier sittings first (from the
/// meta.json already in `folder`, when `resumed`), so that a run continued by a newer binary names both.
nlohmann::json sitting_meta(const std::filesystem::path& folder, std::uint64_t seed, std::string_view paper,
                            bool resumed);
/// The "commits" of a run's meta.json (its git_commit when it has none) as a report cell:
/// "`0123456789ab`, `...`" (12 characters each).
std::string commits_cell(const nlohmann::json& meta);

}  // namespace apical::io
