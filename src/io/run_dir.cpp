// SPDX-License-Identifier: Apache-2.0
#include "apical/io/run_dir.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>

#include "apical/core/error.hpp"
#include "apical/io/atomic_file.hpp"
#include "apical/io/csv.hpp"
#include "apical_build_commit.hpp"

namespace apical::io {
namespace fs = std::filesystem;
namespace {

constexpr const char* kMetaFile = "meta.json";

std::string sanitize(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    out += ok ? c : '_';
  }
  if (out.empty() || out == "." || out == "..") out = "run";
  return out;
}

std::string local_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y%m%d-%H%M%S", &tm);
  return buf.data();
}

bool is_empty_dir(const fs::path& dir) {
  std::error_code ec;
  const bool empty = fs::is_empty(dir, ec);
  if (ec) fail("cannot inspect {}: {}", dir.string(), ec.message());
  return empty;
}

/// Runs a shell command, returning its standard output, or nullopt if it could not run or exited non-zero.
std::optional<std::string> command_output(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (status != 0) return std::nullopt;
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

/// Parses the "YYYY-mm-ddTHH:MM:SS[.mmm]Z" written by iso8601_utc_now into seconds since the epoch.
std::optional<double> parse_iso8601_utc(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  if (static_cast<std::size_t>(consumed) < text.size() && text[static_cast<std::size_t>(consumed)] == '.') {
    std::sscanf(text.c_str() + consumed, ".%3d", &ms);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + ms / 1000.0;
}

}  // namespace

RunDir RunDir::create(const std::string& name, const std::optional<fs::path>& out, bool overwrite,
                      const fs::path& runs_root) {
  std::error_code ec;
  if (out) {
    const fs::path& dir = *out;
    if (dir.empty()) fail("--out: the output folder must not be empty");
    if (fs::exists(dir, ec)) {
      if (!fs::is_directory(dir, ec)) fail("--out {}: exists and is not a folder", dir.string());
      if (!is_empty_dir(dir)) {
        if (!overwrite) {
          fail("output folder {} exists and is not empty; pass --overwrite to replace it or choose another --out",
               dir.string());
        }
        if (!fs::exists(dir / kMetaFile, ec)) {
          fail("--overwrite: {} is not an apical run folder (it has no {}); refusing to delete its contents",
               dir.string(), kMetaFile);
        }
        for (const auto& entry : fs::directory_iterator(dir)) {
          fs::remove_all(entry.path(), ec);
          if (ec) fail("--overwrite: cannot remove {}: {}", entry.path().string(), ec.message());
        }
      }
    } else {
      fs::create_directories(dir, ec);
      if (ec) fail("cannot create the output folder {}: {}", dir.string(), ec.message());
    }
    return RunDir(dir);
  }

  fs::create_directories(runs_root, ec);
  if (ec) fail("cannot create the runs folder {}: {}", runs_root.string(), ec.message());
  const std::string base = sanitize(name) + "-" + local_timestamp();
  for (int n = 1; n < 10000; ++n) {
    const fs::path dir = runs_root / (n == 1 ? base : fmt::format("{}-{}", base, n));
    // create_directory is atomic: it returns false if the folder already exists (another run took the name).
    const bool created = fs::create_directory(dir, ec);
    if (ec) fail("cannot create the run folder {}: {}", dir.string(), ec.message());
    if (created) return RunDir(dir);
  }
  fail("cannot create a run folder {}-N in {}: too many runs with that name", base, runs_root.string());
}

RunDir RunDir::open(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) fail("{} is not a run folder (no such folder)", path.string());
  if (!fs::is_regular_file(path / kMetaFile, ec)) {
    fail("{} is not an apical run folder (it has no {})", path.string(), kMetaFile);
  }
  return RunDir(path);
}

fs::path RunDir::file(const fs::path& relative) const {
  if (relative.empty() || relative.is_absolute() || relative.has_root_name()) {
    fail("{}: '{}' must be a relative file path inside the run folder", path_.string(), relative.string());
  }
  for (const auto& part : relative) {
    if (part == "..") {
      fail("{}: '{}' must not leave the run folder ('..')", path_.string(), relative.string());
    }
  }
  return path_ / relative;
}

fs::path RunDir::prepare(const fs::path& relative) const {
  const fs::path target = file(relative);
  const fs::path parent = target.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail("cannot create the folder {}: {}", parent.string(), ec.message());
  return target;
}

void RunDir::write_text(const fs::path& relative, std::string_view content) const {
  write_file_atomic(prepare(relative), content);
}

void RunDir::write_metrics(const std::vector<std::string>& header,
                           const std::vector<std::vector<double>>& rows) const {
  CsvTable table(header);
  nlohmann::json json = nlohmann::json::array();
  for (const auto& row : rows) {
    if (row.size() != header.size()) fail("metrics row of {} values for {} columns", row.size(), header.size());
    std::vector<CsvValue> cells;
    nlohmann::json object = nlohmann::json::object();
    for (std::size_t c = 0; c < row.size(); ++c) {
      const double v = row[c];
      const bool whole = header[c] == "epoch" && std::isfinite(v);
      cells.emplace_back(whole ? CsvValue(static_cast<std::int64_t>(v)) : CsvValue(v));
      object[header[c]] = whole              ? nlohmann::json(static_cast<std::int64_t>(v))
                          : std::isfinite(v) ? nlohmann::json(v)
                                             : nlohmann::json(nullptr);
    }
    table.add_row(cells);
    json.push_back(std::move(object));
  }
  write_text("metrics.csv", table.str());
  write_text("metrics.json", json.dump(2) + "\n");
}

void RunDir::write_meta(const nlohmann::json& meta) const {
  write_file_atomic(path_ / kMetaFile, meta.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

nlohmann::json RunDir::read_meta() const {
  const fs::path p = path_ / kMetaFile;
  try {
    return nlohmann::json::parse(read_file(p));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", p.string(), e.what());
  }
}

std::string git_commit(const fs::path& repo) {
  try {
    const std::string git = "git -C " + shell_quote(repo.string());
    const auto sha = command_output(git + " rev-parse HEAD 2>/dev/null");
    if (!sha) return "unknown";
    std::string out = trim(*sha);
    if (out.size() < 7 || out.find_first_not_of("0123456789abcdef") != std::string::npos) return "unknown";
    const auto status = command_output(git + " status --porcelain 2>/dev/null");
    if (!status || !trim(*status).empty()) out += "-dirty";  // unknown state counts as dirty
    return out;
  } catch (...) {
    return "unknown";
  }
}

std::string build_commit() {
  return APICAL_BUILD_COMMIT;
}

std::string iso8601_utc_now() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf.data(), static_cast<int>(ms % 1000));
}

nlohmann::json make_meta(std::uint64_t seed, int argc, const char* const* argv) {
  nlohmann::json meta = nlohmann::json::object();
  meta["seed"] = seed;
  // The binary's own commit; the source tree's as well when it differs (a binary built before the last commit).
  const std::string built = build_commit();
  const std::string tree = git_commit();
  meta["git_commit"] = built != "unknown" ? built : tree;
  if (tree != meta["git_commit"].get<std::string>()) meta["source_tree_commit"] = tree;
  meta["apical_version"] = APICAL_VERSION;
  meta["build_type"] = APICAL_BUILD_TYPE;
  meta["compiler"] = APICAL_COMPILER;

  std::array<char, 256> host{};
  meta["host"] = ::gethostname(host.data(), host.size() - 1) == 0 ? std::string(host.data()) : "unknown";
  struct utsname uts {};
  meta["os"] = ::uname(&uts) == 0 ? fmt::format("{} {} {}", uts.sysname, uts.release, uts.machine) : "unknown";

  nlohmann::json args = nlohmann::json::array();
  for (int i = 0; i < argc; ++i) args.push_back(argv[i] != nullptr ? argv[i] : "");
  meta["command_line"] = std::move(args);
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  meta["working_directory"] = ec ? std::string("unknown") : cwd.string();
  meta["start_time"] = iso8601_utc_now();
  meta["status"] = "running";
  return meta;
}

void finish_meta(nlohmann::json& meta, std::string_view status) {
  const std::string end = iso8601_utc_now();
  meta["end_time"] = end;
  std::optional<double> start;
  if (meta.contains("start_time") && meta["start_time"].is_string()) {
    start = parse_iso8601_utc(meta["start_time"].get<std::string>());
  }
  const auto stop = parse_iso8601_utc(end);
  meta["wall_seconds"] = start && stop ? nlohmann::json(*stop - *start) : nlohmann::json(nullptr);
  meta["status"] = std::string(status);
}

bool record_ending(const RunDir& run, nlohmann::json& meta, const std::function<bool()>& body) {
  try {
    const bool completed = body();
    finish_meta(meta, completed ? "completed" : "interrupted");
    run.write_meta(meta);
    return completed;
  } catch (const std::exception& e) {
    finish_meta(meta, std::string("failed: ") + e.what());
    run.write_meta(meta);
    throw;
  }
}

nlohmann::json sitting_meta(const fs::path& folder, std::uint64_t seed, std::string_view paper, bool resumed) {
  nlohmann::json meta = make_meta(seed, 0, nullptr);
  meta["reproduce"] = std::string(paper);
  nlohmann::json commits = nlohmann::json::array();
  if (resumed && fs::exists(folder / kMetaFile)) {
    const auto old = nlohmann::json::parse(read_file(folder / kMetaFile));
    if (old.contains("commits")) {
      commits = old["commits"];
    } else if (old.contains("git_commit")) {
      commits.push_back(old["git_commit"]);
    }
  }
  if (std::find(commits.begin(), commits.end(), meta["git_commit"]) == commits.end())
    commits.push_back(meta["git_commit"]);
  meta["commits"] = commits;
  return meta;
}

std::string commits_cell(const nlohmann::json& meta) {
  std::string out;
  for (const auto& c : meta.value("commits", nlohmann::json::array({meta.value("git_commit", "unknown")})))
    out += (out.empty() ? "" : ", ") + fmt::format("`{}`", c.get<std::string>().substr(0, 12));
  return out;
}

}  // namespace apical::io
