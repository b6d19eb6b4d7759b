// SecurityStore: bearer tokens (kept only as SHA-256 hashes) and the
// append-only audit log, in the daemon's database.
//
// The store speaks the onestop.v1 security messages (Principal, TokenInfo,
// AuditRecord); it knows no policy: who may create tokens or read the audit
// is decided in server/core/authorization.h and checked by the caller.
// Times come from the caller (the daemon's Clock); the store reads none.
//
// Thread safety: implementations are thread-safe.
#ifndef ONESTOP_STORAGE_SECURITY_SECURITY_STORE_H_
#define ONESTOP_STORAGE_SECURITY_SECURITY_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "onestop/v1/security_service.pb.h"

namespace onestop::storage {

// What CreateToken returns: the listing and, once, the secret.
// A token's principal as Authenticate answers it: immutable and shared, so
// a store may hand out the copy it keeps and a caller may keep what it
// derives from it keyed by the pointer (auth::Authenticator does).
using SharedPrincipal = std::shared_ptr<const onestop::v1::Principal>;

struct CreatedToken {
  onestop::v1::TokenInfo info = {};
  std::string secret = "";  // "ost_" + 43 base64url characters
};

struct NewToken {
  onestop::v1::Principal principal = {};  // stored as given (validated by the caller)
  std::string label = "";
  absl::Time created = absl::InfinitePast();
  absl::Time expires = absl::InfinitePast();
};

struct TokenQuery {
  // Also expired (at `now`) and revoked tokens.
  bool include_inactive = false;
  absl::Time now = absl::InfinitePast();
};

struct AuditQuery {
  int64_t after_sequence = 0;
  int limit = 100;               // 1–1000
  // "" = all; otherwise the records appended with this principal_id
  // (compared as AppendAudit stored it, escaped: see there).
  std::string principal_id = "";
  bool denials_only = false;     // PERMISSION_DENIED and UNAUTHENTICATED only
};

struct AuditPage {
  std::vector<onestop::v1::AuditRecord> records = {};
  int64_t next_after_sequence = 0;  // 0 when there is no further record
};

class SecurityStore {
 public:
  virtual ~SecurityStore() = default;

  // Creates a token with a fresh random secret (32 bytes from getrandom)
  // and a random public id ("tk_" + 12 hex digits); stores the secret's
  // SHA-256 only. INVALID_ARGUMENT if `expires` is not after `created`, or
  // if the label or the principal's id is not valid UTF-8 or holds a NUL
  // byte (stored_text.h: PostgreSQL cannot store them);
  // UNAVAILABLE if the database is busy; INTERNAL on other failures
  // (including a failing random source).
  virtual absl::StatusOr<CreatedToken> CreateToken(const NewToken& token) = 0;

  // The principal the token `secret` stands for at `now`. UNAUTHENTICATED,
  // with one message ("invalid or expired token") for a malformed, unknown,
  // expired (expires ≤ now) or revoked token; UNAVAILABLE if busy. Reads
  // the database on every call, so a revocation takes effect at once
  // (SQLite answers from a cache that every revocation clears). Never null.
  virtual absl::StatusOr<SharedPrincipal> Authenticate(absl::string_view secret,
                                                       absl::Time now) = 0;
  // Authenticate's answer when it needs no database read (a malformed
  // secret, or a token the store keeps in memory: SQLite's cache), or
  // nullopt: then ask Authenticate. Never blocks on I/O, so a handler may
  // call it on gRPC's own thread (docs/PERFORMANCE.md, "Calls started on
  // gRPC's thread"). The answer is the one Authenticate would give at
  // `now`. Default: nullopt (PostgreSQL reads every time).
  virtual std::optional<absl::StatusOr<SharedPrincipal>> AuthenticateFromMemory(
      absl::string_view secret, absl::Time now) {
    return std::nullopt;
  }

  // Tokens, newest first, without secrets or hashes.
  virtual absl::StatusOr<std::vector<onestop::v1::TokenInfo>> ListTokens(
      const TokenQuery& query) = 0;

  // Marks token `id` revoked at `now` and returns it. A revoked token stays
  // revoked with its first revoke time (the call succeeds). NOT_FOUND for
  // an unknown id (including any id with a NUL or invalid UTF-8).
  virtual absl::StatusOr<onestop::v1::TokenInfo> RevokeToken(const std::string& id,
                                                             absl::Time now) = 0;

  // Appends `record` (its sequence is ignored and assigned: the previous
  // maximum + 1) and returns the sequence. Records can never be changed or
  // deleted (the table refuses UPDATE and DELETE).
  //
  // Text fields are never refused or cut (a hostile request's fields are
  // exactly what the log must keep): each is stored, and read back by
  // ListAudit, as security_internal::EscapeAuditText spells it — a
  // backslash doubled, each NUL byte and each byte outside valid UTF-8
  // written "\x00" … "\xff" (so "A\0B" reads back as "A\\x00B" in C
  // notation); valid UTF-8 text without backslashes reads back unchanged.
  // Both backends store the same.
  virtual absl::StatusOr<int64_t> AppendAudit(const onestop::v1::AuditRecord& record) = 0;

  // AppendAudit without waiting for the commit: `done` gets the outcome
  // later, possibly on another thread (it must not block or call back into
  // the store). Records keep the order of the calls, and a ListAudit that
  // starts after this call has returned sees the record (if it committed).
  // The default appends at once and calls `done` before returning; the
  // SQLite store with a SharedWriter queues the record into the dossier
  // store's next group commit, so a call's answer never waits for its
  // audit record (a crash can lose the records of the last batch, as it
  // could always lose a record between a write and its audit append).
  // `record` is taken by value: the queued copy is the caller's, moved.
  virtual void AppendAuditLater(onestop::v1::AuditRecord record,
                                absl::AnyInvocable<void(absl::Status) &&> done) {
    std::move(done)(AppendAudit(record).status());
  }
  // True if AppendAuditLater never waits (it queues the record and
  // returns): a call on gRPC's own thread may then audit a denial
  // (auth::AccessGuard::AuthenticateFromMemory). False for the default
  // above and for PostgreSQL (its queue makes a caller wait when full).
  virtual bool AppendsAuditWithoutWaiting() const { return false; }

  // Records with sequence > after_sequence matching the filter, oldest
  // first, at most `limit`. INVALID_ARGUMENT for a limit outside 1–1000 or
  // a negative after_sequence.
  virtual absl::StatusOr<AuditPage> ListAudit(const AuditQuery& query) = 0;
};

}  // namespace onestop::storage

#endif  // ONESTOP_STORAGE_SECURITY_SECURITY_STORE_H_
