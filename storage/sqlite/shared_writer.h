// SharedWriter: the one write connection of an onestop SQLite database,
// lent to the other components stored in the same file (tokens and the
// audit log) so that their writes join the dossier store's group commit.
//
// Why: SQLite lets one connection write at a time. A second connection
// that writes (an audit record per RPC) waits for the write lock while the
// dossier writer holds it across its batch and fsync, and SQLite's busy
// handler waits by sleeping (1, 2, 5, 10 … 100 ms): under load the audit
// appends, not the disk, set the pace (docs/PERFORMANCE.md, "The audit
// log"). Riding the writer's batches, they cost a savepoint each and share
// its fsync.
#ifndef ONESTOP_STORAGE_SQLITE_SHARED_WRITER_H_
#define ONESTOP_STORAGE_SQLITE_SHARED_WRITER_H_

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace onestop::storage::sqlite_internal {

class Connection;

class SharedWriter {
 public:
  virtual ~SharedWriter() = default;

  // Runs `apply` on the write connection, inside its own SAVEPOINT of the
  // next batch transaction, and blocks until that batch has committed
  // (with the dossier store's durability) or failed. An error from `apply`
  // rolls back its savepoint only and is returned; a batch that cannot
  // commit returns the batch's error (nothing of `apply` is kept).
  // UNAVAILABLE if the store is closing. `apply` must not call back into
  // the store and must leave no statement open.
  virtual absl::Status Write(absl::FunctionRef<absl::Status(Connection&)> apply) = 0;

  // Write without waiting: queues `apply` and returns at once; after the
  // batch holding it has committed or failed, the writer thread calls
  // `done` with the outcome (it must not block or call back into the
  // store). Items keep their queue order with every other write. A closing
  // store calls `done` with UNAVAILABLE before returning; items queued
  // before the store began closing are still committed.
  virtual void WriteLater(absl::AnyInvocable<absl::Status(Connection&)> apply,
                          absl::AnyInvocable<void(absl::Status) &&> done) = 0;
};

}  // namespace onestop::storage::sqlite_internal

#endif  // ONESTOP_STORAGE_SQLITE_SHARED_WRITER_H_
