// SPDX-License-Identifier: Apache-2.0
#include "apical/io/atomic_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "apical/core/error.hpp"
#include "test_support.hpp"

namespace apical::io {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, CreatesAndReplacesContentLeavingNoTemporaryFiles) {
  test::TempDir dir("atomic");
  const fs::path target = dir / "out.txt";
  write_file_atomic(target, "first version, which is longer");
  EXPECT_EQ(read_file(target), "first version, which is longer");
  write_file_atomic(target, "second");
  EXPECT_EQ(read_file(target), "second");
  write_file_atomic(target, "");
  EXPECT_EQ(read_file(target), "");
  EXPECT_THAT(listing(dir.path()), ::testing::ElementsAre("out.txt"));
}

TEST(AtomicFile, BinaryContentIsKeptExactly) {
  test::TempDir dir("atomic");
  std::string bytes;
  for (int i = 0; i < 300000; ++i) bytes += static_cast<char>(i * 7 % 256);
  write_file_atomic(dir / "bin", bytes);
  EXPECT_EQ(read_file(dir / "bin"), bytes);
}

TEST(AtomicFile, NewFilesGetNormalPermissions) {
  // The temporary file must not leave the result readable only by its owner (as mkstemp's 0600 would).
  test::TempDir dir("atomic");
  const mode_t old_mask = ::umask(022);
  write_file_atomic(dir / "f", "x");
  ::umask(old_mask);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644U);
}

TEST(AtomicFile, MissingFolderIsAnErrorNamingThePathAndTheOsError) {
  test::TempDir dir("atomic");
  const fs::path target = dir / "no" / "such" / "f.txt";
  try {
    write_file_atomic(target, "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(target.string()));
    EXPECT_THAT(e.what(), HasSubstr(std::strerror(ENOENT)));
  }
}

// A failing write for real: in a forked child, RLIMIT_FSIZE caps the file size and SIGXFSZ is ignored, so the
// kernel fails write() with EFBIG part-way through. The target must keep its old content, and the temporary file
// must be gone.
TEST(AtomicFile, FailedWriteKeepsOldContentAndRemovesTemporaryFile) {
  test::TempDir dir("atomic");
  const fs::path target = dir / "metrics.csv";
  const std::string old_content = "epoch,error\n1,0.5\n";
  write_file_atomic(target, old_content);

  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(pipe_fds[0]);
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = 4096;
    std::signal(SIGXFSZ, SIG_IGN);
    int code = 3;
    if (::setrlimit(RLIMIT_FSIZE, &limit) == 0) {
      try {
        write_file_atomic(target, std::string(1 << 20, 'x'));
        code = 2;  // no error: the test fails
      } catch (const Error& e) {
        const std::string msg = e.what();
        if (::write(pipe_fds[1], msg.data(), msg.size()) == static_cast<ssize_t>(msg.size())) code = 0;
      }
    }
    ::close(pipe_fds[1]);
    ::_exit(code);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "2: the write did not fail; 3: setrlimit failed";

  EXPECT_THAT(message, HasSubstr(target.string()));
  EXPECT_THAT(message, HasSubstr(std::strerror(EFBIG)));
  EXPECT_EQ(read_file(target), old_content);
  EXPECT_THAT(listing(dir.path()), ::testing::ElementsAre("metrics.csv"));
}

TEST(AtomicFile, ReadErrorsNameTheFile) {
  test::TempDir dir("atomic");
  try {
    read_file(dir / "missing.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing.npy"));
    EXPECT_THAT(e.what(), HasSubstr(std::strerror(ENOENT)));
  }
  EXPECT_THROW(read_file(dir.path()), Error);
  EXPECT_THROW(write_file_atomic(dir.path() / "", "x"), Error);
}

}  // namespace
}  // namespace apical::io
