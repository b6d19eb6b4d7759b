#include "storage/security/sqlite_security_store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/util/proto_time.h"
#include "server/util/status_macros.h"
#include "storage/security/stored_text.h"
#include "storage/security/token_secret.h"
#include "storage/sqlite/shared_writer.h"
#include "storage/sqlite/schema.h"
#include "storage/sqlite/sqlite_util.h"

namespace onestop::storage {
namespace {

using sqlite_internal::Connection;
using sqlite_internal::Statement;
using security_internal::EscapeAuditText;

constexpr char kComponent[] = "security";
constexpr char kUnauthenticated[] = "invalid or expired token";

// Version 1: tokens and the append-only audit log. Times are microseconds
// since the Unix epoch (UTC).
constexpr char kSecuritySchemaV1[] = R"sql(
CREATE TABLE tokens (
  id           TEXT    PRIMARY KEY,
  principal_id TEXT    NOT NULL,
  principal    BLOB    NOT NULL,  -- onestop.v1.Principal
  label        TEXT    NOT NULL,
  hash         BLOB    NOT NULL UNIQUE,  -- SHA-256 of the secret
  created_us   INTEGER NOT NULL,
  expires_us   INTEGER NOT NULL,
  revoked_us   INTEGER
);
CREATE TABLE audit (
  sequence     INTEGER PRIMARY KEY,
  time_us      INTEGER NOT NULL,
  principal_id TEXT    NOT NULL,
  rpc          TEXT    NOT NULL,
  dossier_code TEXT    NOT NULL,
  agency_code  TEXT    NOT NULL,
  result_code  INTEGER NOT NULL,
  message      TEXT    NOT NULL
);
CREATE INDEX audit_by_principal ON audit (principal_id, sequence);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

constexpr sqlite_internal::ComponentMigration kMigrations[] = {{1, kSecuritySchemaV1}};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSecuritySchemaVersion,
              "one migration per version, in order");

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }

absl::Status MigrateLocked(Connection& connection, const SqliteSecurityStoreOptions& options) {
  return sqlite_internal::MigrateComponent(
      connection, options.path, kComponent,
      options.check == DatabaseCheck::kRequireOnestopDatabase, kMigrations);
}

// Runs `body` inside BEGIN IMMEDIATE … COMMIT, rolling back on failure.
template <typename Body>
absl::Status InTransaction(Connection& connection, absl::string_view what, Body body) {
  ONESTOP_RETURN_IF_ERROR(connection.Exec("BEGIN IMMEDIATE", what));
  absl::Status status = body();
  if (status.ok()) status = connection.Exec("COMMIT", what);
  if (!status.ok() && sqlite3_get_autocommit(connection.raw()) == 0) {
    connection.Exec("ROLLBACK", what).IgnoreError();
  }
  return status;
}

constexpr char kTokenColumns[] =
    "id, principal, label, created_us, expires_us, revoked_us FROM tokens";

absl::StatusOr<onestop::v1::TokenInfo> TokenFromRow(const Statement& row) {
  onestop::v1::TokenInfo info;
  info.set_id(std::string(row.ColumnText(0)));
  const absl::string_view principal = row.ColumnBlob(1);
  if (!info.mutable_principal()->ParseFromArray(principal.data(),
                                                static_cast<int>(principal.size()))) {
    return absl::InternalError(absl::StrCat("token ", info.id(), " has an unreadable principal"));
  }
  info.set_label(std::string(row.ColumnText(2)));
  *info.mutable_create_time() = ToProtoTime(FromMicros(row.ColumnInt64(3)));
  *info.mutable_expire_time() = ToProtoTime(FromMicros(row.ColumnInt64(4)));
  if (!row.ColumnIsNull(5)) {
    *info.mutable_revoke_time() = ToProtoTime(FromMicros(row.ColumnInt64(5)));
  }
  return info;
}

// Appends `record` on `connection` (inside the caller's transaction) and
// returns its sequence. Every text field escaped (stored_text.h): the same
// record as PostgreSQL's.
absl::StatusOr<int64_t> InsertAudit(Connection& connection,
                                    const onestop::v1::AuditRecord& record) {
  ONESTOP_ASSIGN_OR_RETURN(
      Statement insert,
      connection.Prepare("INSERT INTO audit (time_us, principal_id, rpc, dossier_code, "
                         "agency_code, result_code, message) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  insert.BindInt64(1, Micros(FromProtoTime(record.time())));
  insert.BindText(2, EscapeAuditText(record.principal_id()));
  insert.BindText(3, EscapeAuditText(record.rpc()));
  insert.BindText(4, EscapeAuditText(record.dossier_code()));
  insert.BindText(5, EscapeAuditText(record.agency_code()));
  insert.BindInt64(6, record.result_code());
  insert.BindText(7, EscapeAuditText(record.message()));
  ONESTOP_RETURN_IF_ERROR(insert.Run("appending to the audit log"));
  return sqlite3_last_insert_rowid(connection.raw());
}

// The token `id` as stored, read on `connection`; NOT_FOUND if none.
absl::StatusOr<onestop::v1::TokenInfo> ReadToken(Connection& connection, const std::string& id) {
  ONESTOP_ASSIGN_OR_RETURN(Statement select,
                           connection.Prepare(absl::StrCat("SELECT ", kTokenColumns,
                                                           " WHERE id = ?")));
  select.BindText(1, id);
  ONESTOP_ASSIGN_OR_RETURN(const bool row, select.Step("reading a token"));
  if (!row) {
    return absl::NotFoundError(absl::StrCat("no token with id \"", EscapeAuditText(id), "\""));
  }
  return TokenFromRow(select);
}

}  // namespace

SqliteSecurityStore::SqliteSecurityStore(std::unique_ptr<Connection> connection,
                                         SecurityDurability durability,
                                         sqlite_internal::SharedWriter* shared_writer)
    : connection_(std::move(connection)), durability_(durability), shared_writer_(shared_writer) {}

SqliteSecurityStore::~SqliteSecurityStore() = default;

absl::StatusOr<std::unique_ptr<SqliteSecurityStore>> SqliteSecurityStore::Open(
    const SqliteSecurityStoreOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("a database path is required (or \":memory:\")");
  }
  ONESTOP_ASSIGN_OR_RETURN(std::unique_ptr<Connection> connection,
                           Connection::Open(options.path));
  sqlite3_busy_timeout(connection->raw(),
                       static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  absl::StatusOr<std::string> journal =
      connection->QueryText("PRAGMA journal_mode = WAL", "enabling the WAL journal");
  if (!journal.ok()) {
    if (journal.status().code() == absl::StatusCode::kInternal) {
      return absl::FailedPreconditionError(
          absl::StrCat("database ", options.path, " cannot be used: ", journal.status().message()));
    }
    return journal.status();
  }
  ONESTOP_RETURN_IF_ERROR(connection->Exec(options.durability == SecurityDurability::kFull
                                               ? "PRAGMA synchronous = FULL"
                                               : "PRAGMA synchronous = NORMAL",
                                           "setting synchronous"));
  Connection& c = *connection;
  ONESTOP_RETURN_IF_ERROR(InTransaction(c, "migrating the security schema",
                                        [&] { return MigrateLocked(c, options); }));
  return std::unique_ptr<SqliteSecurityStore>(
      new SqliteSecurityStore(std::move(connection), options.durability, options.shared_writer));
}

absl::Status SqliteSecurityStore::RunWrite(absl::FunctionRef<absl::Status(Connection&)> apply,
                                           bool audit) {
  if (shared_writer_ != nullptr) return shared_writer_->Write(apply);
  absl::MutexLock lock(&mu_);
  Connection& connection = *connection_;
  if (audit) {
    // NORMAL for this commit only (see SecurityDurability): no fsync of its
    // own.
    ONESTOP_RETURN_IF_ERROR(
        connection.Exec("PRAGMA synchronous = NORMAL", "appending to the audit log"));
  }
  const absl::Status written =
      InTransaction(connection, "writing the security tables", [&] { return apply(connection); });
  if (audit && durability_ == SecurityDurability::kFull) {
    ONESTOP_RETURN_IF_ERROR(
        connection.Exec("PRAGMA synchronous = FULL", "appending to the audit log"));
  }
  return written;
}

absl::StatusOr<CreatedToken> SqliteSecurityStore::CreateToken(const NewToken& token) {
  if (token.expires <= token.created) {
    return absl::InvalidArgumentError("a token must expire after it is created");
  }
  // Refused rather than escaped, as PostgreSQL must (see stored_text.h).
  ONESTOP_RETURN_IF_ERROR(
      security_internal::CheckStorableText(token.principal.id(), "the token's principal id"));
  ONESTOP_RETURN_IF_ERROR(security_internal::CheckStorableText(token.label, "the token's label"));
  CreatedToken created;
  ONESTOP_ASSIGN_OR_RETURN(created.secret, security_internal::NewTokenSecret());
  ONESTOP_ASSIGN_OR_RETURN(const std::string id, security_internal::NewTokenId());
  const std::string hash = security_internal::Sha256(created.secret);
  std::string principal;
  if (!token.principal.SerializeToString(&principal)) {
    return absl::InternalError("cannot serialize the token's principal");
  }
  ONESTOP_RETURN_IF_ERROR(RunWrite(
      [&](Connection& connection) -> absl::Status {
        ONESTOP_ASSIGN_OR_RETURN(
            Statement insert,
            connection.Prepare("INSERT INTO tokens (id, principal_id, principal, label, hash, "
                               "created_us, expires_us) VALUES (?, ?, ?, ?, ?, ?, ?)"));
        insert.BindText(1, id);
        insert.BindText(2, token.principal.id());
        insert.BindBlob(3, principal);
        insert.BindText(4, token.label);
        insert.BindBlob(5, hash);
        insert.BindInt64(6, Micros(token.created));
        insert.BindInt64(7, Micros(token.expires));
        ONESTOP_RETURN_IF_ERROR(insert.Run("creating a token"));
        ONESTOP_ASSIGN_OR_RETURN(created.info, ReadToken(connection, id));
        return absl::OkStatus();
      },
      /*audit=*/false));
  return created;
}

std::optional<absl::StatusOr<SharedPrincipal>> SqliteSecurityStore::AuthenticateFromMemory(
    absl::string_view secret, absl::Time now) {
  if (!security_internal::LooksLikeTokenSecret(secret)) {
    return absl::UnauthenticatedError(kUnauthenticated);
  }
  return FromCache(security_internal::Sha256(secret), now, nullptr);
}

std::optional<absl::StatusOr<SharedPrincipal>> SqliteSecurityStore::FromCache(
    const std::string& hash, absl::Time now, int64_t* generation) {
  absl::ReaderMutexLock lock(&cache_mu_);
  if (generation != nullptr) *generation = cache_generation_;
  const auto cached = token_cache_.find(hash);
  if (cached == token_cache_.end()) return std::nullopt;
  if (cached->second.expires <= now) return absl::UnauthenticatedError(kUnauthenticated);
  return cached->second.principal;
}

absl::StatusOr<SharedPrincipal> SqliteSecurityStore::Authenticate(absl::string_view secret,
                                                                  absl::Time now) {
  if (!security_internal::LooksLikeTokenSecret(secret)) {
    return absl::UnauthenticatedError(kUnauthenticated);
  }
  std::string hash = security_internal::Sha256(secret);
  int64_t generation = 0;
  if (std::optional<absl::StatusOr<SharedPrincipal>> cached = FromCache(hash, now, &generation)) {
    return *std::move(cached);
  }
  CachedToken token;
  {
    absl::MutexLock lock(&mu_);
    ONESTOP_ASSIGN_OR_RETURN(
        Statement select,
        connection_->Prepare("SELECT principal, expires_us, revoked_us FROM tokens WHERE hash = ?"));
    select.BindBlob(1, hash);
    ONESTOP_ASSIGN_OR_RETURN(const bool row, select.Step("authenticating a token"));
    if (!row || !select.ColumnIsNull(2)) return absl::UnauthenticatedError(kUnauthenticated);
    token.expires = FromMicros(select.ColumnInt64(1));
    const absl::string_view bytes = select.ColumnBlob(0);
    auto parsed = std::make_shared<onestop::v1::Principal>();
    if (!parsed->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::InternalError("a token has an unreadable principal");
    }
    token.principal = std::move(parsed);
  }
  if (token.expires <= now) return absl::UnauthenticatedError(kUnauthenticated);
  SharedPrincipal principal = token.principal;
  absl::MutexLock lock(&cache_mu_);
  if (generation == cache_generation_) {
    if (token_cache_.size() >= kMaxCachedTokens) token_cache_.clear();
    token_cache_.emplace(std::move(hash), std::move(token));
  }
  return principal;
}

absl::StatusOr<std::vector<onestop::v1::TokenInfo>> SqliteSecurityStore::ListTokens(
    const TokenQuery& query) {
  absl::MutexLock lock(&mu_);
  ONESTOP_ASSIGN_OR_RETURN(
      Statement select,
      connection_->Prepare(absl::StrCat(
          "SELECT ", kTokenColumns,
          " WHERE ?1 OR (revoked_us IS NULL AND expires_us > ?2) ORDER BY created_us DESC, id")));
  select.BindInt64(1, query.include_inactive ? 1 : 0);
  select.BindInt64(2, Micros(query.now));
  std::vector<onestop::v1::TokenInfo> tokens;
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(const bool row, select.Step("listing tokens"));
    if (!row) break;
    ONESTOP_ASSIGN_OR_RETURN(tokens.emplace_back(), TokenFromRow(select));
  }
  return tokens;
}

absl::StatusOr<onestop::v1::TokenInfo> SqliteSecurityStore::RevokeToken(const std::string& id,
                                                                        absl::Time now) {
  onestop::v1::TokenInfo revoked;
  const absl::Status written = RunWrite(
      [&](Connection& connection) -> absl::Status {
        ONESTOP_ASSIGN_OR_RETURN(
            Statement update,
            connection.Prepare(
                "UPDATE tokens SET revoked_us = ? WHERE id = ? AND revoked_us IS NULL"));
        update.BindInt64(1, Micros(now));
        update.BindText(2, id);
        ONESTOP_RETURN_IF_ERROR(update.Run("revoking a token"));
        ONESTOP_ASSIGN_OR_RETURN(revoked, ReadToken(connection, id));
        return absl::OkStatus();
      },
      /*audit=*/false);
  // After the commit — and after a failure too, in case the revocation
  // committed although an error was reported: a lookup that started
  // before this point cannot cache the token any more (see token_cache_).
  {
    absl::MutexLock lock(&cache_mu_);
    ++cache_generation_;
    token_cache_.clear();
  }
  ONESTOP_RETURN_IF_ERROR(written);
  return revoked;
}

absl::StatusOr<int64_t> SqliteSecurityStore::AppendAudit(const onestop::v1::AuditRecord& record) {
  int64_t sequence = 0;
  ONESTOP_RETURN_IF_ERROR(RunWrite(
      [&](Connection& connection) -> absl::Status {
        ONESTOP_ASSIGN_OR_RETURN(sequence, InsertAudit(connection, record));
        return absl::OkStatus();
      },
      /*audit=*/true));
  return sequence;
}

void SqliteSecurityStore::AppendAuditLater(onestop::v1::AuditRecord record,
                                           absl::AnyInvocable<void(absl::Status) &&> done) {
  if (shared_writer_ == nullptr) {
    std::move(done)(AppendAudit(record).status());
    return;
  }
  shared_writer_->WriteLater(
      [record = std::move(record)](Connection& connection) {
        return InsertAudit(connection, record).status();
      },
      std::move(done));
}

absl::StatusOr<AuditPage> SqliteSecurityStore::ListAudit(const AuditQuery& query) {
  if (query.limit < 1 || query.limit > 1000) {
    return absl::InvalidArgumentError("an audit page holds 1–1000 records");
  }
  if (query.after_sequence < 0) {
    return absl::InvalidArgumentError("after_sequence must not be negative");
  }
  if (shared_writer_ != nullptr) {
    // A barrier: once this empty write's batch has committed, so has every
    // AppendAuditLater record queued before it.
    ONESTOP_RETURN_IF_ERROR(shared_writer_->Write([](Connection&) { return absl::OkStatus(); }));
  }
  absl::MutexLock lock(&mu_);
  ONESTOP_ASSIGN_OR_RETURN(
      Statement select,
      connection_->Prepare(
          "SELECT sequence, time_us, principal_id, rpc, dossier_code, agency_code, result_code, "
          "message FROM audit WHERE sequence > ?1 AND (?2 = '' OR principal_id = ?2) "
          "AND (?3 = 0 OR result_code IN (7, 16)) ORDER BY sequence LIMIT ?4"));
  select.BindInt64(1, query.after_sequence);
  select.BindText(2, EscapeAuditText(query.principal_id));  // as AppendAudit stored it
  select.BindInt64(3, query.denials_only ? 1 : 0);
  select.BindInt64(4, query.limit + 1);
  AuditPage page;
  while (true) {
    ONESTOP_ASSIGN_OR_RETURN(const bool row, select.Step("reading the audit log"));
    if (!row) break;
    if (static_cast<int>(page.records.size()) == query.limit) {
      page.next_after_sequence = page.records.back().sequence();
      break;
    }
    onestop::v1::AuditRecord& record = page.records.emplace_back();
    record.set_sequence(select.ColumnInt64(0));
    *record.mutable_time() = ToProtoTime(FromMicros(select.ColumnInt64(1)));
    record.set_principal_id(std::string(select.ColumnText(2)));
    record.set_rpc(std::string(select.ColumnText(3)));
    record.set_dossier_code(std::string(select.ColumnText(4)));
    record.set_agency_code(std::string(select.ColumnText(5)));
    record.set_result_code(static_cast<int32_t>(select.ColumnInt64(6)));
    record.set_message(std::string(select.ColumnText(7)));
  }
  return page;
}

}  // namespace onestop::storage
