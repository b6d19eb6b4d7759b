#include "storage/sqlite/lock_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace onestop::storage::sqlite_internal {
namespace {

// The pid recorded in the lock file, or "unknown pid".
std::string RecordedOwner(int fd) {
  char buffer[32] = {};
  const ssize_t n = pread(fd, buffer, sizeof(buffer) - 1, 0);
  int64_t pid = 0;
  if (n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(buffer, n)), &pid) &&
      pid > 0) {
    return absl::StrCat("pid ", pid);
  }
  return "unknown pid";
}

}  // namespace

absl::StatusOr<std::unique_ptr<LockFile>> LockFile::Acquire(const std::string& lock_path,
                                                            const std::string& what) {
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create the lock file ", lock_path, " for database ", what, ": ",
        std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::string message =
        error == EWOULDBLOCK
            ? absl::StrCat("database ", what, " is in use by another onestopd (",
                           RecordedOwner(fd), "); stop it first, or give this one another "
                           "database")
            : absl::StrCat("cannot lock ", lock_path, " for database ", what, ": ",
                           std::strerror(error));
    close(fd);
    return absl::FailedPreconditionError(std::move(message));
  }
  // Best effort: the pid only improves the message another opener sees.
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t written = pwrite(fd, pid.data(), pid.size(), 0);
  }
  return std::unique_ptr<LockFile>(new LockFile(lock_path, fd));
}

LockFile::~LockFile() {
  flock(fd_, LOCK_UN);
  close(fd_);
}

}  // namespace onestop::storage::sqlite_internal
