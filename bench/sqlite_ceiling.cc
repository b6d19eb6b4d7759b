// sqlite_ceiling: the storage ceiling for onestopd on this disk.
//
// Raw SQLite, no onestop code: WAL, synchronous=FULL (the daemon's
// durability; NORMAL for reference), one connection. The unit of work is
// the same logical transaction the PostgreSQL peer runs (bench/pg_peer.sh):
// insert a dossier row (with the daemon's filter indexes) and its first
// history row, then update the dossier with a version check. It commits
// every `--batch` transitions: batch 1 is what the daemon does today (one
// fsync per write); batch 100 is what group commit could reach.
//
// Prints one JSON object per configuration on stdout.
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

ABSL_FLAG(std::string, dir, "/tmp", "Directory for the throwaway database files.");
ABSL_FLAG(double, seconds, 3.0, "How long each configuration runs.");
ABSL_FLAG(std::string, configs, "1:full,100:full,1:normal",
          "Comma-separated BATCH:DURABILITY configurations (durability full|normal).");

namespace {

// The daemon's dossiers/history layout (storage/sqlite/schema.cc, version
// 1) reduced to what this transaction touches, indexes included: index
// maintenance is part of a write's cost.
constexpr char kSchema[] = R"sql(
CREATE TABLE dossiers (
  position INTEGER PRIMARY KEY AUTOINCREMENT, code TEXT NOT NULL UNIQUE,
  etag INTEGER NOT NULL, receiving_agency TEXT, holder_agency TEXT,
  procedure_code TEXT, status INTEGER NOT NULL, due_time_us INTEGER,
  submitted_time_us INTEGER, body BLOB NOT NULL);
CREATE INDEX dossiers_by_receiving_agency ON dossiers (receiving_agency, position);
CREATE INDEX dossiers_by_holder_agency ON dossiers (holder_agency, position);
CREATE INDEX dossiers_by_status ON dossiers (status, position);
CREATE INDEX dossiers_by_procedure ON dossiers (procedure_code, position);
CREATE INDEX dossiers_by_due_time ON dossiers (due_time_us);
CREATE TABLE history (
  dossier_position INTEGER NOT NULL REFERENCES dossiers (position),
  sequence INTEGER NOT NULL, body BLOB NOT NULL,
  PRIMARY KEY (dossier_position, sequence));
)sql";

// About the size of a serialized Dossier and HistoryEntry of the sample
// configuration.
constexpr int kDossierBodyBytes = 400;
constexpr int kHistoryBodyBytes = 120;

bool Check(int rc, sqlite3* db, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  std::fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, sqlite3_errmsg(db));
  return false;
}

struct Config {
  int batch = 1;
  bool full = true;
};

// Runs one configuration; returns false on an SQLite error.
bool RunConfig(const Config& config, const std::string& dir, double seconds) {
  const std::string path = absl::StrCat(dir, "/sqlite_ceiling_", getpid(), ".db");
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  sqlite3* db = nullptr;
  if (!Check(sqlite3_open(path.c_str(), &db), db, "open")) return false;
  const std::string pragmas = absl::StrCat("PRAGMA journal_mode=WAL; PRAGMA synchronous=",
                                           config.full ? "FULL" : "NORMAL",
                                           "; PRAGMA foreign_keys=ON;");
  if (!Check(sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, nullptr), db, "pragmas") ||
      !Check(sqlite3_exec(db, kSchema, nullptr, nullptr, nullptr), db, "schema")) {
    return false;
  }
  sqlite3_stmt* insert_dossier = nullptr;
  sqlite3_stmt* insert_history = nullptr;
  sqlite3_stmt* update_dossier = nullptr;
  sqlite3_stmt* begin = nullptr;
  sqlite3_stmt* commit = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO dossiers (code, etag, receiving_agency, holder_agency, "
                     "procedure_code, status, due_time_us, submitted_time_us, body) "
                     "VALUES (?, 1, '000.01.31.H15', '000.01.31.H15', '1.001193', 1, ?, ?, ?)",
                     -1, &insert_dossier, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO history (dossier_position, sequence, body) VALUES (?, 1, ?)",
                     -1, &insert_history, nullptr);
  sqlite3_prepare_v2(db,
                     "UPDATE dossiers SET etag = etag + 1, status = 2, body = ? "
                     "WHERE position = ? AND etag = 1",
                     -1, &update_dossier, nullptr);
  sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, nullptr);
  sqlite3_prepare_v2(db, "COMMIT", -1, &commit, nullptr);
  const std::string dossier_body(kDossierBodyBytes, 'd');
  const std::string history_body(kHistoryBodyBytes, 'h');

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  int64_t transitions = 0;
  bool ok = true;
  while (ok && Clock::now() < deadline) {
    ok = Check(sqlite3_step(begin), db, "begin");
    sqlite3_reset(begin);
    for (int i = 0; ok && i < config.batch; ++i) {
      const std::string code = absl::StrCat("000.01.31.H15-200106-", transitions + i + 1);
      sqlite3_bind_text(insert_dossier, 1, code.data(), code.size(), SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert_dossier, 2, transitions + i);
      sqlite3_bind_int64(insert_dossier, 3, transitions + i);
      sqlite3_bind_blob(insert_dossier, 4, dossier_body.data(), dossier_body.size(),
                        SQLITE_STATIC);
      ok = ok && Check(sqlite3_step(insert_dossier), db, "insert dossier");
      sqlite3_reset(insert_dossier);
      const int64_t position = sqlite3_last_insert_rowid(db);
      sqlite3_bind_int64(insert_history, 1, position);
      sqlite3_bind_blob(insert_history, 2, history_body.data(), history_body.size(),
                        SQLITE_STATIC);
      ok = ok && Check(sqlite3_step(insert_history), db, "insert history");
      sqlite3_reset(insert_history);
      sqlite3_bind_blob(update_dossier, 1, dossier_body.data(), dossier_body.size(),
                        SQLITE_STATIC);
      sqlite3_bind_int64(update_dossier, 2, position);
      ok = ok && Check(sqlite3_step(update_dossier), db, "update dossier");
      sqlite3_reset(update_dossier);
    }
    ok = ok && Check(sqlite3_step(commit), db, "commit");
    sqlite3_reset(commit);
    transitions += config.batch;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  for (sqlite3_stmt* s : {insert_dossier, insert_history, update_dossier, begin, commit}) {
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((path + suffix).c_str());
  if (!ok) return false;
  std::printf(
      "{\"kind\":\"sqlite_ceiling\",\"batch\":%d,\"durability\":\"%s\","
      "\"transitions\":%lld,\"seconds\":%.3f,\"transitions_per_second\":%.1f,"
      "\"commits_per_second\":%.1f}\n",
      config.batch, config.full ? "full" : "normal", static_cast<long long>(transitions), elapsed,
      transitions / elapsed, transitions / elapsed / config.batch);
  std::fflush(stdout);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  for (absl::string_view item : absl::StrSplit(absl::GetFlag(FLAGS_configs), ',')) {
    std::vector<std::string> parts = absl::StrSplit(item, ':');
    Config config;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &config.batch) || config.batch < 1 ||
        (parts[1] != "full" && parts[1] != "normal")) {
      std::fprintf(stderr, "sqlite_ceiling: bad --configs item \"%s\" (BATCH:full|normal)\n",
                   std::string(item).c_str());
      return 2;
    }
    config.full = parts[1] == "full";
    if (!RunConfig(config, absl::GetFlag(FLAGS_dir), absl::GetFlag(FLAGS_seconds))) return 1;
  }
  return 0;
}
