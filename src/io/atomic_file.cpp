// SPDX-License-Identifier: Apache-2.0
#include "apical/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "apical/core/error.hpp"

namespace apical::io {
namespace {

std::string os_error(int err) {
  return std::strerror(err);
}

/// Closes a file descriptor on scope exit unless released.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  /// Closes now and returns 0 or the errno of close().
  int close_now() {
    const int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

/// Removes the temporary file on scope exit unless the write succeeded.
class TempGuard {
 public:
  explicit TempGuard(std::string path) : path_(std::move(path)) {}
  ~TempGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

std::string temp_suffix() {
  static std::atomic<unsigned long long> counter{0};
  thread_local std::mt19937_64 gen{
      std::random_device{}() ^
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  return fmt::format(".tmp-{}-{}-{:08x}", static_cast<long>(::getpid()), counter.fetch_add(1),
                     static_cast<std::uint32_t>(gen()));
}

/// Writes all of `bytes` to `fd`; returns 0 or the errno of the failing write.
int write_all(int fd, std::string_view bytes) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    constexpr std::size_t kChunk = std::size_t{1} << 30;  // Linux writes at most ~2 GiB per call anyway
    const ssize_t n = ::write(fd, p, left < kChunk ? left : kChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return ENOSPC;  // no progress: treat as a full device
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  if (path.empty()) fail("cannot write a file with an empty path");
  if (!path.has_filename()) fail("cannot write {}: the path names a folder, not a file", path.string());
  const std::filesystem::path dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const std::filesystem::path final_name = path.filename();

  // A hidden name in the same folder, so the rename never crosses file systems.
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = (dir / ("." + final_name.string() + temp_suffix())).string();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST && errno != EINTR) {
      fail("cannot write {}: cannot create a temporary file in {}: {}", path.string(), dir.string(),
           os_error(errno));
    }
  }
  if (fd < 0) fail("cannot write {}: no free temporary file name in {}", path.string(), dir.string());
  TempGuard temp_guard(tmp);
  FdGuard file(fd);

  if (const int err = write_all(file.get(), bytes); err != 0) {
    fail("cannot write {} ({} bytes): {}", path.string(), bytes.size(), os_error(err));
  }
  while (::fsync(file.get()) != 0) {
    if (errno != EINTR) fail("cannot write {}: fsync failed: {}", path.string(), os_error(errno));
  }
  if (const int err = file.close_now(); err != 0) {
    fail("cannot write {}: closing the file failed: {}", path.string(), os_error(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    fail("cannot write {}: renaming the temporary file over it failed: {}", path.string(), os_error(errno));
  }
  temp_guard.release();

  // Make the rename itself durable. Some file systems cannot fsync folders (EINVAL): nothing more to do there.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  FdGuard dir_guard(dfd);
  if (::fsync(dfd) != 0 && errno != EINVAL && errno != ENOTSUP && errno != EROFS) {
    fail("cannot write {}: fsync of the folder {} failed: {}", path.string(), dir.string(), os_error(errno));
  }
}

std::string read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot read {}: {}", path.string(), os_error(errno));
  FdGuard file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("cannot read {}: {}", path.string(), os_error(errno));
  if (S_ISDIR(st.st_mode)) fail("cannot read {}: it is a folder, not a file", path.string());
  std::string out;
  if (S_ISREG(st.st_mode) && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read {}: {}", path.string(), os_error(errno));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace apical::io
