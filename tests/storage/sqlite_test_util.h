// Helpers shared by the SQLite backend's tests: a fresh temporary
// directory and a raw SQLite connection to inspect or tamper with a
// database file behind the store's back.
#ifndef ONESTOP_TESTS_STORAGE_SQLITE_TEST_UTIL_H_
#define ONESTOP_TESTS_STORAGE_SQLITE_TEST_UTIL_H_

#include <sqlite3.h>
#include <stdlib.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace onestop::storage::testing {

// A fresh directory under the test temp dir; the caller removes it.
inline absl::StatusOr<std::string> MakeTempDir() {
  std::string pattern = ::testing::TempDir() + "onestop_sqlite_XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp failed for ", pattern));
  }
  return pattern;
}

// A raw SQLite connection to a database file (opened read-write, created if
// absent). Not thread-safe.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Runs statements; returns SQLite's message on failure.
  absl::Status Exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      absl::Status status = absl::InternalError(error != nullptr ? error : "unknown");
      sqlite3_free(error);
      return status;
    }
    return absl::OkStatus();
  }

  // The query plan of `sql` (EXPLAIN QUERY PLAN): the detail column of
  // every row, joined by "; ".
  std::string Plan(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string result;
    const std::string explain = "EXPLAIN QUERY PLAN " + sql;
    if (sqlite3_prepare_v2(db_, explain.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot prepare " << explain << ": " << sqlite3_errmsg(db_);
      return result;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      if (!result.empty()) result += "; ";
      if (sqlite3_column_text(stmt, 3) != nullptr) {
        result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      }
    }
    sqlite3_finalize(stmt);
    return result;
  }

  // The first column of the first row, as text ("" if none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string result;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot prepare " << sql << ": " << sqlite3_errmsg(db_);
      return result;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return result;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace onestop::storage::testing

#endif  // ONESTOP_TESTS_STORAGE_SQLITE_TEST_UTIL_H_
