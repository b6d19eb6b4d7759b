#include "storage/security/postgres_security_store.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "server/util/proto_time.h"
#include "server/util/status_macros.h"
#include "storage/postgres/pg_util.h"
#include "storage/security/stored_text.h"
#include "storage/security/token_secret.h"

namespace onestop::storage {
namespace {

using pg::Connection;
using pg::ConnectionPool;
using pg::FromMicros;
using pg::Param;
using pg::Result;
using pg::ToMicros;
using security_internal::EscapeAuditText;

constexpr char kComponent[] = "security";
constexpr char kUnauthenticated[] = "invalid or expired token";

// Version 1: the tables of the SQLite store (same names, columns and
// meaning), the append-only triggers and the audit append function (see
// the header). 87218996986953 = kAuditLockKey.
constexpr char kSecuritySchemaV1[] = R"sql(
CREATE TABLE tokens (
  id           TEXT   PRIMARY KEY,
  principal_id TEXT   NOT NULL,
  principal    BYTEA  NOT NULL,         -- onestop.v1.Principal
  label        TEXT   NOT NULL,
  hash         BYTEA  NOT NULL UNIQUE,  -- SHA-256 of the secret
  created_us   BIGINT NOT NULL,
  expires_us   BIGINT NOT NULL,
  revoked_us   BIGINT
);
CREATE INDEX tokens_by_created ON tokens (created_us DESC, id);
CREATE TABLE audit (
  sequence     BIGINT  PRIMARY KEY,
  time_us      BIGINT  NOT NULL,
  principal_id TEXT    NOT NULL,
  rpc          TEXT    NOT NULL,
  dossier_code TEXT    NOT NULL,
  agency_code  TEXT    NOT NULL,
  result_code  INTEGER NOT NULL,
  message      TEXT    NOT NULL
);
CREATE INDEX audit_by_principal ON audit (principal_id, sequence);
CREATE FUNCTION onestop_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  FOR EACH ROW EXECUTE FUNCTION onestop_audit_refuse_change();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION onestop_audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION onestop_audit_refuse_change();
CREATE FUNCTION onestop_audit_append(p_time_us BIGINT, p_principal_id TEXT, p_rpc TEXT,
    p_dossier_code TEXT, p_agency_code TEXT, p_result_code INTEGER, p_message TEXT)
  RETURNS BIGINT LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  next_sequence BIGINT;
BEGIN
  -- Serialise appenders of every daemon until this transaction ends; the
  -- next statement's snapshot is taken after the lock, so MAX sees the
  -- previous holder's committed row.
  PERFORM pg_advisory_xact_lock(87218996986953);
  -- This transaction only: commit without waiting for the WAL flush.
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT COALESCE(MAX(sequence), 0) + 1 INTO next_sequence FROM audit;
  INSERT INTO audit (sequence, time_us, principal_id, rpc, dossier_code, agency_code,
                     result_code, message)
  VALUES (next_sequence, p_time_us, p_principal_id, p_rpc, p_dossier_code, p_agency_code,
          p_result_code, p_message);
  RETURN next_sequence;
END $$;
)sql";

static_assert(kAuditLockKey == 87218996986953, "the key spelled in onestop_audit_append");

constexpr pg::PgMigration kMigrations[] = {{1, kSecuritySchemaV1}};

constexpr char kTokenColumns[] = "id, principal, label, created_us, expires_us, revoked_us";

absl::StatusOr<onestop::v1::TokenInfo> TokenFromRow(const Result& rows, int row) {
  onestop::v1::TokenInfo info;
  info.set_id(rows.Text(row, 0));
  const absl::string_view principal = rows.Bytes(row, 1);
  if (!info.mutable_principal()->ParseFromArray(principal.data(),
                                                static_cast<int>(principal.size()))) {
    return absl::InternalError(absl::StrCat("token ", info.id(), " has an unreadable principal"));
  }
  info.set_label(rows.Text(row, 2));
  *info.mutable_create_time() = ToProtoTime(FromMicros(rows.Int64(row, 3)));
  *info.mutable_expire_time() = ToProtoTime(FromMicros(rows.Int64(row, 4)));
  if (!rows.IsNull(row, 5)) {
    *info.mutable_revoke_time() = ToProtoTime(FromMicros(rows.Int64(row, 5)));
  }
  return info;
}

}  // namespace

PostgresSecurityStore::PostgresSecurityStore(std::unique_ptr<ConnectionPool> pool,
                                             absl::Duration audit_barrier_timeout)
    : pool_(std::move(pool)), audit_barrier_timeout_(audit_barrier_timeout) {
  audit_thread_ = std::thread([this] { AuditLoop(); });
}

PostgresSecurityStore::~PostgresSecurityStore() { Close(); }

void PostgresSecurityStore::Close() {
  absl::MutexLock close_lock(&close_mu_);
  {
    absl::MutexLock lock(&audit_mu_);
    audit_closing_ = true;
  }
  if (audit_thread_.joinable()) audit_thread_.join();  // after appending everything queued
}

absl::StatusOr<std::unique_ptr<PostgresSecurityStore>> PostgresSecurityStore::Open(
    const PostgresSecurityStoreOptions& options) {
  ONESTOP_ASSIGN_OR_RETURN(
      std::unique_ptr<ConnectionPool> pool,
      pg::OpenMigratedPool({.uri = options.uri,
                            .size = options.pool_size,
                            .statement_timeout = options.statement_timeout,
                            .acquire_timeout = options.acquire_timeout},
                           kComponent, kMigrations));
  return std::unique_ptr<PostgresSecurityStore>(
      new PostgresSecurityStore(std::move(pool), options.audit_barrier_timeout));
}

absl::StatusOr<CreatedToken> PostgresSecurityStore::CreateToken(const NewToken& token) {
  if (token.expires <= token.created) {
    return absl::InvalidArgumentError("a token must expire after it is created");
  }
  // libpq would cut them at a NUL, and the server refuses invalid UTF-8.
  ONESTOP_RETURN_IF_ERROR(
      pg::CheckStorableText(token.principal.id(), "the token's principal id"));
  ONESTOP_RETURN_IF_ERROR(pg::CheckStorableText(token.label, "the token's label"));
  CreatedToken created;
  ONESTOP_ASSIGN_OR_RETURN(created.secret, security_internal::NewTokenSecret());
  ONESTOP_ASSIGN_OR_RETURN(const std::string id, security_internal::NewTokenId());
  const std::string hash = security_internal::Sha256(created.secret);
  std::string principal;
  if (!token.principal.SerializeToString(&principal)) {
    return absl::InternalError("cannot serialize the token's principal");
  }
  ONESTOP_ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  ONESTOP_ASSIGN_OR_RETURN(
      Result rows,
      c->Exec(absl::StrCat("INSERT INTO tokens (id, principal_id, principal, label, hash, "
                           "created_us, expires_us) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                           "RETURNING ",
                           kTokenColumns),
              {Param::Text(id), Param::Text(token.principal.id()), Param::Bytes(principal),
               Param::Text(token.label), Param::Bytes(hash), Param::Int64(ToMicros(token.created)),
               Param::Int64(ToMicros(token.expires))},
              "creating a token"));
  if (rows.rows() != 1) return absl::InternalError("creating a token returned no row");
  ONESTOP_ASSIGN_OR_RETURN(created.info, TokenFromRow(rows, 0));
  return created;
}

absl::StatusOr<SharedPrincipal> PostgresSecurityStore::Authenticate(
    absl::string_view secret, absl::Time now) {
  if (!security_internal::LooksLikeTokenSecret(secret)) {
    return absl::UnauthenticatedError(kUnauthenticated);
  }
  const std::string hash = security_internal::Sha256(secret);
  ONESTOP_ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  ONESTOP_ASSIGN_OR_RETURN(
      Result rows,
      c->Exec("SELECT principal, expires_us, revoked_us FROM tokens WHERE hash = $1",
              {Param::Bytes(hash)}, "authenticating a token"));
  if (rows.rows() != 1 || !rows.IsNull(0, 2) || FromMicros(rows.Int64(0, 1)) <= now) {
    return absl::UnauthenticatedError(kUnauthenticated);
  }
  auto principal = std::make_shared<onestop::v1::Principal>();
  const absl::string_view bytes = rows.Bytes(0, 0);
  if (!principal->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError("a token has an unreadable principal");
  }
  return SharedPrincipal(std::move(principal));
}

absl::StatusOr<std::vector<onestop::v1::TokenInfo>> PostgresSecurityStore::ListTokens(
    const TokenQuery& query) {
  ONESTOP_ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  ONESTOP_ASSIGN_OR_RETURN(
      Result rows,
      c->Exec(absl::StrCat("SELECT ", kTokenColumns,
                           " FROM tokens WHERE $1::boolean OR (revoked_us IS NULL AND "
                           "expires_us > $2::bigint) ORDER BY created_us DESC, id"),
              {Param::Bool(query.include_inactive), Param::Int64(ToMicros(query.now))},
              "listing tokens"));
  std::vector<onestop::v1::TokenInfo> tokens;
  tokens.reserve(rows.rows());
  for (int i = 0; i < rows.rows(); ++i) {
    ONESTOP_ASSIGN_OR_RETURN(tokens.emplace_back(), TokenFromRow(rows, i));
  }
  return tokens;
}

absl::StatusOr<onestop::v1::TokenInfo> PostgresSecurityStore::RevokeToken(const std::string& id,
                                                                          absl::Time now) {
  const std::string not_found =
      absl::StrCat("no token with id \"", EscapeAuditText(id), "\"");
  // No stored id holds a NUL or invalid UTF-8 (and libpq would cut `id` at
  // its NUL, revoking another token).
  if (!pg::IsStorableText(id)) return absl::NotFoundError(not_found);
  ONESTOP_ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  // COALESCE keeps the first revocation time; a concurrent revoker waits
  // for the row lock and re-reads the revoked row.
  ONESTOP_ASSIGN_OR_RETURN(
      Result rows,
      c->Exec(absl::StrCat("UPDATE tokens SET revoked_us = COALESCE(revoked_us, $1::bigint) "
                           "WHERE id = $2 RETURNING ",
                           kTokenColumns),
              {Param::Int64(ToMicros(now)), Param::Text(id)}, "revoking a token"));
  if (rows.rows() != 1) return absl::NotFoundError(not_found);
  return TokenFromRow(rows, 0);
}

absl::StatusOr<int64_t> PostgresSecurityStore::AppendAudit(
    const onestop::v1::AuditRecord& record) {
  absl::Notification appended;
  absl::StatusOr<int64_t> sequence = absl::UnknownError("not yet appended");
  EnqueueAudit({record, [&](absl::StatusOr<int64_t> result) {
                  sequence = std::move(result);
                  appended.Notify();
                }});
  appended.WaitForNotification();
  return sequence;
}

void PostgresSecurityStore::AppendAuditLater(onestop::v1::AuditRecord record,
                                             absl::AnyInvocable<void(absl::Status) &&> done) {
  EnqueueAudit({std::move(record),
                [done = std::move(done)](absl::StatusOr<int64_t> result) mutable {
                  std::move(done)(result.status());
                }});
}

void PostgresSecurityStore::EnqueueAudit(QueuedAudit queued) {
  {
    absl::MutexLock lock(&audit_mu_);
    // A full queue (PostgreSQL slower than the calls) holds the caller
    // back, as when every call appended its own record.
    audit_mu_.Await(absl::Condition(this, &PostgresSecurityStore::HasAuditRoomOrClosing));
    if (!audit_closing_) {
      audit_queue_.push_back(std::move(queued));
      ++audit_queued_;
      return;
    }
  }
  std::move(queued.done)(absl::UnavailableError("the audit log is closing"));
}

void PostgresSecurityStore::AuditLoop() {
  std::vector<QueuedAudit> batch;
  while (true) {
    {
      absl::MutexLock lock(&audit_mu_);
      audit_mu_.Await(absl::Condition(this, &PostgresSecurityStore::HasAuditWorkOrClosing));
      if (audit_queue_.empty()) return;  // closing, and nothing left
      while (!audit_queue_.empty() && static_cast<int>(batch.size()) < kMaxAuditBatch) {
        batch.push_back(std::move(audit_queue_.front()));
        audit_queue_.pop_front();
      }
    }
    absl::StatusOr<std::vector<int64_t>> sequences = AppendBatch(batch);
    if (!sequences.ok()) {
      // The database is failing: what is queued meanwhile fails with the
      // same error now, rather than one batch per timeout (a slow shutdown,
      // and callers held back by a full queue).
      absl::MutexLock lock(&audit_mu_);
      while (!audit_queue_.empty()) {
        batch.push_back(std::move(audit_queue_.front()));
        audit_queue_.pop_front();
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      std::move(batch[i].done)(sequences.ok() ? absl::StatusOr<int64_t>((*sequences)[i])
                                              : absl::StatusOr<int64_t>(sequences.status()));
    }
    {
      absl::MutexLock lock(&audit_mu_);
      audit_answered_ += static_cast<int64_t>(batch.size());
    }
    batch.clear();
  }
}

absl::StatusOr<std::vector<int64_t>> PostgresSecurityStore::AppendBatch(
    const std::vector<QueuedAudit>& batch) {
  // Column arrays, every text field escaped (stored_text.h): never cut at a
  // NUL, never refused; the numbers travel as decimal text.
  std::vector<std::vector<std::string>> columns(7);
  for (const QueuedAudit& queued : batch) {
    const onestop::v1::AuditRecord& record = queued.record;
    columns[0].push_back(absl::StrCat(ToMicros(FromProtoTime(record.time()))));
    columns[1].push_back(EscapeAuditText(record.principal_id()));
    columns[2].push_back(EscapeAuditText(record.rpc()));
    columns[3].push_back(EscapeAuditText(record.dossier_code()));
    columns[4].push_back(EscapeAuditText(record.agency_code()));
    columns[5].push_back(absl::StrCat(record.result_code()));
    columns[6].push_back(EscapeAuditText(record.message()));
  }
  std::vector<Param> params;
  for (const std::vector<std::string>& column : columns) {
    params.push_back(Param::TextArray(column));
  }
  ONESTOP_ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  // One statement in its own (implicit) transaction (see the header): the
  // function runs once per record, in the arrays' order, each seeing the
  // rows the previous calls inserted, under one advisory-lock hold.
  ONESTOP_ASSIGN_OR_RETURN(
      Result rows,
      c->Exec("SELECT onestop_audit_append(t::bigint, p, r, d, a, c::integer, m) "
              "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], "
              "$6::text[], $7::text[]) WITH ORDINALITY AS x(t, p, r, d, a, c, m, n) ORDER BY n",
              params, "appending to the audit log"));
  if (rows.rows() != static_cast<int>(batch.size())) {
    return absl::InternalError(absl::StrCat("appending ", batch.size(),
                                            " audit records returned ", rows.rows(), " rows"));
  }
  std::vector<int64_t> sequences;
  sequences.reserve(batch.size());
  for (int row = 0; row < rows.rows(); ++row) sequences.push_back(rows.Int64(row, 0));
  return sequences;
}

absl::StatusOr<AuditPage> PostgresSecurityStore::ListAudit(const AuditQuery& query) {
  if (query.limit < 1 || query.limit > 1000) {
    return absl::InvalidArgumentError("an audit page holds 1–1000 records");
  }
  if (query.after_sequence < 0) {
    return absl::InvalidArgumentError("after_sequence must not be negative");
  }
  {
    // Every record queued before this call is appended (or failed) first.
    absl::MutexLock lock(&audit_mu_);
    AuditBarrier barrier{this, audit_queued_};
    if (!audit_mu_.AwaitWithTimeout(absl::Condition(&AuditBarrier::Reached, &barrier),
                                    audit_barrier_timeout_)) {
      return absl::UnavailableError(
          "the audit log is still being written (the database is slow or unreachable); "
          "try again");
    }
  }
  // Two statement texts, so the planner uses (principal_id, sequence) for a
  // principal's records and the primary key otherwise.
  const bool by_principal = !query.principal_id.empty();
  const std::string sql = absl::StrCat(
      "SELECT sequence, time_us, principal_id, rpc, dossier_code, agency_code, result_code, "
      "message FROM audit WHERE sequence > $1::bigint ",
      by_principal ? "AND principal_id = $4::text " : "AND $4::text = '' ",
      "AND (NOT $2::boolean OR result_code IN (7, 16)) ORDER BY sequence LIMIT $3::bigint");
  ONESTOP_ASSIGN_OR_RETURN(ConnectionPool::Lease c, pool_->Acquire());
  ONESTOP_ASSIGN_OR_RETURN(
      Result rows,
      c->Exec(sql,
              {Param::Int64(query.after_sequence), Param::Bool(query.denials_only),
               Param::Int64(query.limit + 1),
               Param::Text(EscapeAuditText(query.principal_id))},  // as AppendAudit stored it
              "reading the audit log"));
  AuditPage page;
  for (int i = 0; i < rows.rows(); ++i) {
    if (static_cast<int>(page.records.size()) == query.limit) {
      page.next_after_sequence = page.records.back().sequence();
      break;
    }
    onestop::v1::AuditRecord& record = page.records.emplace_back();
    record.set_sequence(rows.Int64(i, 0));
    *record.mutable_time() = ToProtoTime(FromMicros(rows.Int64(i, 1)));
    record.set_principal_id(rows.Text(i, 2));
    record.set_rpc(rows.Text(i, 3));
    record.set_dossier_code(rows.Text(i, 4));
    record.set_agency_code(rows.Text(i, 5));
    record.set_result_code(static_cast<int32_t>(rows.Int64(i, 6)));
    record.set_message(rows.Text(i, 7));
  }
  return page;
}

}  // namespace onestop::storage
