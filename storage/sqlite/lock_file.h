// LockFile: an exclusive advisory lock (flock) on a sidecar file, held for
// the lifetime of the object. SqliteDossierStore uses it to keep one writer
// process per database file ("<db>.lock" next to "<db>"). Private to
// storage/sqlite/.
//
// The lock is per open file description: a second Acquire of the same path
// fails even in the same process, and the lock vanishes with the process
// (kill -9 included), so a crashed daemon never leaves a stale lock. The
// file itself is left in place on release; its content (the owner's pid)
// is informational only.
//
// Thread safety: immutable after Acquire; destruction releases the lock.
#ifndef ONESTOP_STORAGE_SQLITE_LOCK_FILE_H_
#define ONESTOP_STORAGE_SQLITE_LOCK_FILE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace onestop::storage::sqlite_internal {

class LockFile {
 public:
  // Opens (creating, mode 0644) `lock_path`, takes flock(LOCK_EX|LOCK_NB)
  // and writes the calling process's pid into it. `what` names the locked
  // resource in messages (the database path). Errors:
  //   FAILED_PRECONDITION  another open holds the lock: "database <what> is
  //                        in use by another onestopd (pid N)" (pid read
  //                        from the file; "unknown pid" if unreadable); or
  //                        the lock file cannot be created or locked (names
  //                        the path and the OS error)
  static absl::StatusOr<std::unique_ptr<LockFile>> Acquire(const std::string& lock_path,
                                                           const std::string& what);

  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  LockFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  const std::string path_;
  const int fd_;
};

}  // namespace onestop::storage::sqlite_internal

#endif  // ONESTOP_STORAGE_SQLITE_LOCK_FILE_H_
