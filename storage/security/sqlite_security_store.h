// The SQLite SecurityStore: its own connection to the daemon's database
// file, its own tables and its own migrations.
//
// Tables: `component_versions(component, version)` records this
// component's schema version ("security") — PRAGMA user_version belongs to
// the dossier store; `tokens` (hash UNIQUE, principal as a serialized
// onestop.v1.Principal, times in microseconds since the epoch);
// `audit` (append-only: triggers abort any UPDATE or DELETE).
// SQLite would keep any bytes in TEXT, but text is stored as the PostgreSQL
// store must (stored_text.h): audit fields escaped, token labels and
// principal ids with a NUL or invalid UTF-8 refused.
//
// Open order: the dossier store first (it creates the database and stamps
// it as onestop's), then this store; a database without onestop's
// application_id is refused unless `standalone` is set (tests, ":memory:").
// The daemon's single-writer lock (<db>.lock) is the dossier store's.
//
// Writes (CreateToken, RevokeToken, AppendAudit) go through the dossier
// store's SharedWriter when one is given (the daemon: every write of the
// file then rides its group commit, with its durability — FULL by
// default — and no connection ever waits on SQLite's busy handler for the
// write lock); without one (tests, ":memory:") they run on this store's
// own connection, in WAL mode, waiting up to busy_timeout for the lock.
// Reads always use this store's connection; Authenticate answers a token
// it has seen from memory (see token_cache_).
//
// Thread safety: all methods may be called concurrently (one mutex around
// this store's connection; writes through the SharedWriter do not take it).
#ifndef ONESTOP_STORAGE_SECURITY_SQLITE_SECURITY_STORE_H_
#define ONESTOP_STORAGE_SECURITY_SQLITE_SECURITY_STORE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "storage/security/security_store.h"

namespace onestop::storage {

namespace sqlite_internal {
class Connection;
class SharedWriter;
}

enum class DatabaseCheck {
  // Refuse a database the dossier store has not initialised.
  kRequireOnestopDatabase,
  // Accept any database (tests; ":memory:").
  kStandalone,
};

// Without a SharedWriter, audit appends commit with synchronous=NORMAL: in WAL mode their
// frames are made durable by the next fsync of the shared WAL — the dossier
// store's next group commit (FULL) or a checkpoint — so the audit record of
// a write is on disk no later than the next write after it, without an
// fsync per call of its own (which would undo group commit). A power loss
// can lose the newest audit records, never corrupt the log; the dossier's
// own history names the principal of every write regardless.
enum class SecurityDurability {
  kFull,    // synchronous=FULL: a created or revoked token survives power loss
  kNormal,  // synchronous=NORMAL: faster; tests
};

struct SqliteSecurityStoreOptions {
  std::string path;  // the daemon's --db, or ":memory:"
  absl::Duration busy_timeout = absl::Seconds(5);
  DatabaseCheck check = DatabaseCheck::kRequireOnestopDatabase;
  SecurityDurability durability = SecurityDurability::kFull;
  // The dossier store of the same file (not owned; must outlive this
  // store), or null. See the file comment.
  sqlite_internal::SharedWriter* shared_writer = nullptr;
};

class SqliteSecurityStore final : public SecurityStore {
 public:
  // Opens the database and brings this component's tables to the latest
  // version in one transaction. INVALID_ARGUMENT for an empty path;
  // FAILED_PRECONDITION if the file cannot be opened, is not an onestop
  // database (see DatabaseCheck), or records a newer security schema than
  // this build knows; UNAVAILABLE if the database stays busy.
  static absl::StatusOr<std::unique_ptr<SqliteSecurityStore>> Open(
      const SqliteSecurityStoreOptions& options);

  ~SqliteSecurityStore() override;

  absl::StatusOr<CreatedToken> CreateToken(const NewToken& token) override;
  absl::StatusOr<SharedPrincipal> Authenticate(absl::string_view secret,
                                               absl::Time now) override;
  // Answers from the token cache (a malformed secret too); nullopt on a
  // miss.
  std::optional<absl::StatusOr<SharedPrincipal>> AuthenticateFromMemory(
      absl::string_view secret, absl::Time now) override;
  absl::StatusOr<std::vector<onestop::v1::TokenInfo>> ListTokens(
      const TokenQuery& query) override;
  absl::StatusOr<onestop::v1::TokenInfo> RevokeToken(const std::string& id,
                                                     absl::Time now) override;
  absl::StatusOr<int64_t> AppendAudit(const onestop::v1::AuditRecord& record) override;
  // With a SharedWriter: queued into the dossier store's next batch.
  void AppendAuditLater(onestop::v1::AuditRecord record,
                        absl::AnyInvocable<void(absl::Status) &&> done) override;
  // With a SharedWriter only: AppendAuditLater then queues the record.
  bool AppendsAuditWithoutWaiting() const override { return shared_writer_ != nullptr; }
  // With a SharedWriter, first waits for the AppendAuditLater records
  // queued before the call.
  absl::StatusOr<AuditPage> ListAudit(const AuditQuery& query) override;

 private:
  SqliteSecurityStore(std::unique_ptr<sqlite_internal::Connection> connection,
                      SecurityDurability durability, sqlite_internal::SharedWriter* shared_writer);

  // Runs `apply` as one write transaction: through the SharedWriter, or on
  // this store's connection (under mu_). `audit` marks an audit append,
  // committed with synchronous=NORMAL on this store's connection.
  absl::Status RunWrite(absl::FunctionRef<absl::Status(sqlite_internal::Connection&)> apply,
                        bool audit);

  absl::Mutex mu_;
  std::unique_ptr<sqlite_internal::Connection> connection_ ABSL_GUARDED_BY(mu_);

  // Tokens that authenticated, by secret hash: a repeat Authenticate skips
  // SQL and parsing. Exact because this store makes every change to its
  // file's tokens (the dossier store's lock file keeps other daemons out):
  // RevokeToken clears the cache and bumps the generation after its commit
  // (or failure), and a lookup caches its row only if no revocation ended
  // since it started. Expiry is checked on every hit. A hit shares the
  // cached principal (no copy), under a reader lock.
  struct CachedToken {
    SharedPrincipal principal;
    absl::Time expires;
  };
  static constexpr size_t kMaxCachedTokens = 10000;
  absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, CachedToken> token_cache_ ABSL_GUARDED_BY(cache_mu_);
  int64_t cache_generation_ ABSL_GUARDED_BY(cache_mu_) = 0;
  // The cached answer for `hash` at `now`, nullopt on a miss; `generation`
  // (if not null) gets the cache generation the lookup saw.
  std::optional<absl::StatusOr<SharedPrincipal>> FromCache(const std::string& hash,
                                                           absl::Time now, int64_t* generation)
      ABSL_LOCKS_EXCLUDED(cache_mu_);
  const SecurityDurability durability_;
  sqlite_internal::SharedWriter* const shared_writer_;
};

// The latest schema version of the "security" component.
inline constexpr int kSecuritySchemaVersion = 1;

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_SECURITY_SQLITE_SECURITY_STORE_H_
