// SPDX-License-Identifier: Apache-2.0
// `apical data fetch`: downloading the dataset files with curl or wget, verified by MD5.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apical/core/error.hpp"
#include "apical/core/process.hpp"
#include "apical/data/dataset.hpp"
#include "apical/data/md5.hpp"

extern char** environ;

namespace apical::data {
namespace {

/// The program's output on one line: its distinct non-empty lines joined by "; " (curl repeats its message on
/// every retry).
std::string one_line(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find_first_of("\r\n", start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (!line.empty() && std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
    start = end + 1;
  }
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : "; ") + line;
  return out.empty() ? "no message" : out;
}

/// Creates an empty temporary file next to the final one and returns its path.
std::filesystem::path make_temp_file(const std::filesystem::path& final_path) {
  std::string pattern = final_path.string() + ".part-XXXXXX";
  const int fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    fail("{}: cannot create a temporary file for the download in {}: {}", final_path.string(),
         final_path.parent_path().string(), std::strerror(errno));
  }
  ::close(fd);
  return pattern;
}

}  // namespace

std::vector<std::string> default_mirrors(DatasetKind kind) {
  if (kind == DatasetKind::mnist) {
    return {"https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/"};
  }
  return {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"};
}

FetchOptions default_fetch_options(DatasetKind kind) {
  FetchOptions options;
  options.mirrors = default_mirrors(kind);
  for (const auto& f : known_files(kind))
    options.files.push_back({std::string(f.name) + ".gz", std::string(f.gz_md5)});
  return options;
}

void fetch_dataset(DatasetKind kind, const std::filesystem::path& dest_base) {
  fetch_dataset(kind, dest_base, default_fetch_options(kind));
}

void fetch_dataset(DatasetKind kind, const std::filesystem::path& dest_base, const FetchOptions& options) {
  const std::string name(dataset_name(kind));
  const std::filesystem::path dest = dest_base / name;
  const auto say = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  if (options.mirrors.empty()) fail("fetch {}: no mirror URLs given; need at least one base URL", name);

  std::optional<std::filesystem::path> program;
  if (!options.downloader.empty()) {
    program = find_program(options.downloader);
    if (!program) {
      fail("fetch {}: the downloader '{}' was not found or is not executable; use curl or wget", name,
           options.downloader);
    }
  } else {
    program = find_program("curl");
    if (!program) program = find_program("wget");
  }
  const bool use_wget = program && program->filename().string().find("wget") != std::string::npos;

  std::error_code ec;
  std::filesystem::create_directories(dest, ec);
  if (ec) fail("fetch {}: cannot create the folder {}: {}", name, dest.string(), ec.message());

  for (const FetchFile& file : options.files) {
    const std::filesystem::path final_path = dest / file.file_name;
    if (std::filesystem::exists(final_path, ec)) {
      const std::string have = md5_file_hex(final_path);
      if (have == file.md5) {
        say(fmt::format("{}: already present with the right MD5, skipped", final_path.string()));
        continue;
      }
      say(fmt::format("{}: present but its MD5 is {} instead of {}; downloading it again", final_path.string(),
                      have, file.md5));
    }
    if (!program) {
      fail(
          "fetch {}: neither curl nor wget was found on PATH; install one (sudo apt-get install curl) or download "
          "{} by hand from {} into {}",
          name, file.file_name, options.mirrors.front(), dest.string());
    }

    std::vector<std::string> failures;
    bool done = false;
    for (std::string mirror : options.mirrors) {
      if (!mirror.empty() && mirror.back() != '/') mirror += '/';
      const std::string url = mirror + file.file_name;
      say(fmt::format("downloading {}", url));
      const std::filesystem::path tmp = make_temp_file(final_path);
      std::vector<std::string> args;
      if (use_wget) {
        args = {"--no-verbose", "--tries=2", "--timeout=30", "--output-document=" + tmp.string(), url};
      } else {
        args = {"--fail",   "--location", "--silent", "--show-error", "--connect-timeout", "30", "--retry", "2",
                "--output", tmp.string(), url};
      }
      ProgramResult r;
      try {
        r = run_program(*program, args);
      } catch (const Error&) {
        std::filesystem::remove(tmp, ec);
        throw;
      }
      if (r.exit_code != 0) {
        std::filesystem::remove(tmp, ec);
        failures.push_back(fmt::format("{}: {} failed (exit code {}): {}", url, program->filename().string(),
                                       r.exit_code, one_line(r.output)));
        continue;
      }
      std::string got;
      try {
        got = md5_file_hex(tmp);
      } catch (const Error& e) {
        std::filesystem::remove(tmp, ec);
        failures.push_back(fmt::format("{}: {}", url, e.what()));
        continue;
      }
      if (got != file.md5) {
        const auto bytes = std::filesystem::file_size(tmp, ec);
        const std::string size_text = ec ? std::string() : fmt::format(" ({} bytes downloaded)", bytes);
        std::filesystem::remove(tmp, ec);
        failures.push_back(
            fmt::format("{}: checksum mismatch: expected MD5 {}, got {}{}", url, file.md5, got, size_text));
        continue;
      }
      // mkstemp made the file private (0600); the dataset files are ordinary readable files.
      std::filesystem::permissions(tmp,
                                   std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                                       std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                                   ec);
      std::filesystem::rename(tmp, final_path, ec);
      if (ec) {
        const std::string why = ec.message();
        std::filesystem::remove(tmp, ec);
        fail("fetch {}: cannot move the verified download {} to {}: {}", name, tmp.string(), final_path.string(),
             why);
      }
      say(fmt::format("{}: saved, MD5 {} verified", final_path.string(), got));
      done = true;
      break;
    }
    if (!done) {
      std::string msg =
          fmt::format("fetch {}: could not download {} into {}; tried:\n", name, file.file_name, dest.string());
      for (const auto& f : failures) msg += "  " + f + "\n";
      msg += fmt::format(
          "Check the network connection (and proxy settings), then run the fetch again, or copy the "
          "file by hand into {}.",
          dest.string());
      throw Error(msg);
    }
  }
}

}  // namespace apical::data
