#include "server/service/admin_service.h"

#include <sys/stat.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

#include "absl/strings/str_cat.h"
#include "server/util/error_info.h"
#include "server/service/status_mapping.h"
#include "server/service/unary_call.h"
#include "server/util/log.h"
#include "server/util/status_macros.h"
#include "server/util/proto_time.h"

namespace onestop::service {

onestop::v1::ClockState AdminServiceImpl::State() const {
  onestop::v1::ClockState state;
  *state.mutable_now() = ToProtoTime(clock_->Now());
  state.set_mode(controlled_ ? onestop::v1::CLOCK_MODE_CONTROLLED
                             : onestop::v1::CLOCK_MODE_SYSTEM);
  state.set_pinned(controlled_ && controlled_->pinned());
  return state;
}

absl::Status AdminServiceImpl::RequireControlled() const {
  if (controlled_ == nullptr) {
    return absl::FailedPreconditionError(
        "the clock is the system clock; start onestopd with --clock=controlled "
        "to set or advance it");
  }
  return absl::OkStatus();
}

template <typename Response>
grpc::ServerUnaryReactor* AdminServiceImpl::ClockCall(grpc::CallbackServerContext* context,
                                                      const char* rpc,
                                                      core::Permission permission,
                                                      std::function<absl::Status()> change,
                                                      Response* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    const auth::CallInfo call{.rpc = rpc};
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             guard_->Check(*context, permission, {}, call));
    const core::Principal& principal = *caller;
    if (change) {
      absl::Status changed = change();
      guard_->RecordOutcome(principal, call, changed);
      ONESTOP_RETURN_IF_ERROR(changed);
    }
    *response->mutable_clock() = State();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetClock(grpc::CallbackServerContext* context,
                                                     const onestop::v1::GetClockRequest*,
                                                     onestop::v1::GetClockResponse* response) {
  return ClockCall(context, "GetClock", core::Permission::kReadClock, nullptr, response);
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetClock(grpc::CallbackServerContext* context,
                                                     const onestop::v1::SetClockRequest* request,
                                                     onestop::v1::SetClockResponse* response) {
  return ClockCall(context, "SetClock", core::Permission::kControlClock,
                   [this, request]() -> absl::Status {
                     ONESTOP_RETURN_IF_ERROR(RequireControlled());
                     if (!request->has_time()) {
                       return absl::InvalidArgumentError("time: the instant to set is required");
                     }
                     return controlled_->SetTime(FromProtoTime(request->time()));
                   },
                   response);
}

grpc::ServerUnaryReactor* AdminServiceImpl::AdvanceClock(
    grpc::CallbackServerContext* context, const onestop::v1::AdvanceClockRequest* request,
    onestop::v1::AdvanceClockResponse* response) {
  return ClockCall(context, "AdvanceClock", core::Permission::kControlClock,
                   [this, request]() -> absl::Status {
                     ONESTOP_RETURN_IF_ERROR(RequireControlled());
                     return controlled_->Advance(absl::Seconds(request->seconds()));
                   },
                   response);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ResetClock(grpc::CallbackServerContext* context,
                                                       const onestop::v1::ResetClockRequest*,
                                                       onestop::v1::ResetClockResponse* response) {
  return ClockCall(context, "ResetClock", core::Permission::kControlClock,
                   [this]() -> absl::Status {
                     ONESTOP_RETURN_IF_ERROR(RequireControlled());
                     return controlled_->ResumeRealTime();
                   },
                   response);
}

absl::StatusOr<std::shared_ptr<const core::Catalogue>> AdminServiceImpl::ReloadConfig() {
  if (!hooks_.reload_config || manager_ == nullptr) {
    return absl::FailedPreconditionError("this daemon was started without a reloadable config");
  }
  absl::StatusOr<std::shared_ptr<const core::Catalogue>> loaded = hooks_.reload_config();
  if (!loaded.ok()) {
    LogWarning("configuration reload refused; the running configuration stays",
               {{"error", std::string(loaded.status().message())}});
    return loaded.status();
  }
  manager_->ReplaceCatalogue(*loaded);
  LogInfo("configuration reloaded", {{"name", (*loaded)->config().name()},
                                     {"agencies", absl::StrCat((*loaded)->agencies().size())},
                                     {"procedures", absl::StrCat((*loaded)->procedures().size())}});
  return loaded;
}

grpc::ServerUnaryReactor* AdminServiceImpl::ReloadConfig(
    grpc::CallbackServerContext* context, const onestop::v1::ReloadConfigRequest*,
    onestop::v1::ReloadConfigResponse* response) {
  return RunUnary(context, executor_, [this, context, response]() -> absl::Status {
    const auth::CallInfo call{.rpc = "ReloadConfig"};
    ONESTOP_ASSIGN_OR_RETURN(
        const auth::PrincipalPtr caller,
        guard_->Check(*context, core::Permission::kAdministerDaemon, {}, call));
    const core::Principal& principal = *caller;
    absl::StatusOr<std::shared_ptr<const core::Catalogue>> catalogue = ReloadConfig();
    guard_->RecordOutcome(principal, call, catalogue.status());
    if (!catalogue.ok()) return catalogue.status();
    response->set_config_name((*catalogue)->config().name());
    response->set_agencies(static_cast<int>((*catalogue)->agencies().size()));
    response->set_procedures(static_cast<int>((*catalogue)->procedures().size()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::BackupDatabase(
    grpc::CallbackServerContext* context, const onestop::v1::BackupDatabaseRequest* request,
    onestop::v1::BackupDatabaseResponse* response) {
  return RunUnary(context, executor_, [this, context, request, response]() -> absl::Status {
    const auth::CallInfo call{.rpc = "BackupDatabase"};
    ONESTOP_ASSIGN_OR_RETURN(
        const auth::PrincipalPtr caller,
        guard_->Check(*context, core::Permission::kAdministerDaemon, {}, call));
    const core::Principal& principal = *caller;
    absl::Status done = Backup(request->path(), response);
    guard_->RecordOutcome(principal, call, done);
    return done;
  });
}

absl::Status AdminServiceImpl::Backup(const std::string& path,
                                      onestop::v1::BackupDatabaseResponse* response) {
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError(
        "path: give an absolute path on the daemon's machine, e.g. /var/backups/onestop.db");
  }
  if (!hooks_.backup_database) {
    return absl::FailedPreconditionError(
        "this storage backend has no online backup here (PostgreSQL: use pg_dump)");
  }
  ONESTOP_RETURN_IF_ERROR(hooks_.backup_database(path));
  struct stat info;
  response->set_path(path);
  if (stat(path.c_str(), &info) == 0) response->set_bytes(info.st_size);
  LogInfo("database backed up", {{"path", path}, {"bytes", absl::StrCat(response->bytes())}});
  return absl::OkStatus();
}

// ---- ImportDossiers ----------------------------------------------------------

// One ImportDossiers stream (docs/IMPORT.md). Deletes itself in OnDone.
//
// Pipelined: while one request is in the store (its executor thread waits
// for the SQLite writer), the next one is already read and prepared on
// another executor thread, so the checks, the counter contributions and
// the serialization of request k+1 overlap the transaction of request k.
// Responses are written in request order. Two requests run at once only if
// they share no dossier code, so every record gets the answer the strictly
// serial order would give it (a code repeated in the next request is
// compared with the stored one, never raced).
//
// Every state change happens under mu_; gRPC operations and executor posts
// happen outside it (Step). The stream finishes only once no task runs, no
// write is outstanding and no thread is between its state change and its
// gRPC calls, so nothing touches the reactor after OnDone.
class AdminServiceImpl::Import final
    : public grpc::ServerBidiReactor<onestop::v1::ImportDossiersRequest,
                                     onestop::v1::ImportDossiersResponse> {
 public:
  Import(AdminServiceImpl* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    // Requests are authenticated on executor threads, two at a time, and
    // gRPC builds the context's metadata map and auth context lazily on
    // first use, without a lock (MetadataMap::FillMap marks the map filled
    // before filling it): build both here, before any thread can race, so
    // that every later read is a read only.
    context_->client_metadata();
    context_->auth_context();
    Step([] {});
  }

  void OnReadDone(bool ok) override {
    std::unique_ptr<Batch> batch;
    if (ok) batch = std::make_unique<Batch>(std::move(reading_request_));
    Step([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      reading_ = false;
      if (!ok) {
        read_closed_ = true;  // the client half-closed (or the call broke)
      } else if (!end_.has_value()) {
        batch->number = ++batches_read_;
        batches_.push_back(std::move(batch));
      }
    });
  }

  void OnWriteDone(bool ok) override {
    Step([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      writing_ = false;
      batches_.pop_front();
      if (!ok) EndWith(absl::CancelledError("the client went away during the import"));
    });
  }

  void OnDone() override { delete this; }

 private:
  // Requests read ahead of their answer, and how many of them run at once
  // (one in the store, one being prepared: the two cores of the target
  // machine).
  static constexpr size_t kMaxBatchesBuffered = 3;
  static constexpr int kMaxBatchesRunning = 2;

  // One request, from its read to the write of its answer.
  struct Batch {
    explicit Batch(onestop::v1::ImportDossiersRequest read) : request(std::move(read)) {
      codes.reserve(static_cast<size_t>(request.dossiers_size()));
      for (const onestop::v1::Dossier& d : request.dossiers()) codes.push_back(d.code());
      code_set.insert(codes.begin(), codes.end());
    }
    onestop::v1::ImportDossiersRequest request;
    // The records' codes (the dossiers move on to the store), for the
    // failures' report and the overlap check.
    std::vector<std::string> codes;
    absl::flat_hash_set<absl::string_view> code_set;  // views into `codes`
    int64_t number = 0;  // 1, 2, … in the stream
    bool started = false;
    bool done = false;
    absl::Status status;  // when done: not OK ends the stream
    onestop::v1::ImportDossiersResponse response;
  };

  // What Advance decided; carried out by Step outside the lock.
  struct Actions {
    bool read = false;
    const onestop::v1::ImportDossiersResponse* write = nullptr;
    std::vector<Batch*> start;
    bool check_empty_stream = false;
    std::optional<absl::Status> finish;
    bool empty() const {
      return !read && write == nullptr && start.empty() && !check_empty_stream &&
             !finish.has_value();
    }
  };

  // Applies `update` to the state, then carries out what the new state
  // calls for, until nothing is left to do. The caller must not touch the
  // reactor after Step returns (it may be finished and deleted).
  void Step(absl::FunctionRef<void()> update) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    mu_.Lock();
    update();
    while (true) {
      Actions actions = Advance();
      if (actions.finish.has_value()) {
        mu_.Unlock();
        Finish(ToGrpcStatus(*actions.finish));
        return;
      }
      if (actions.empty()) break;
      ++stepping_;
      mu_.Unlock();
      std::vector<Batch*> refused;  // posts the executor refused
      for (Batch* batch : actions.start) {
        if (!Post([this, batch] { RunBatch(*batch); })) refused.push_back(batch);
      }
      const bool check_refused =
          actions.check_empty_stream && !Post([this] { CheckEmptyStream(); });
      if (actions.write != nullptr) StartWrite(actions.write);
      if (actions.read) StartRead(&reading_request_);
      mu_.Lock();
      --stepping_;
      for (Batch* batch : refused) {
        --running_;
        batch->done = true;
        batch->status = Busy();
        any_failed_ = true;
      }
      if (check_refused) {
        --running_;
        EndWith(Busy());
      }
    }
    mu_.Unlock();
  }

  // The next actions for the current state.
  Actions Advance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Actions actions;
    if (finished_) return actions;
    if (!end_.has_value() && !writing_ && !batches_.empty() && batches_.front()->done &&
        !batches_.front()->status.ok()) {
      EndWith(batches_.front()->status);
    }
    if (end_.has_value()) {
      if (running_ == 0 && auditing_ == 0 && !writing_ && stepping_ == 0) {
        finished_ = true;
        actions.finish = context_->IsCancelled()
                             ? absl::CancelledError("the client cancelled the import")
                             : *end_;
      }
      return actions;
    }
    if (!writing_ && !batches_.empty() && batches_.front()->done) {
      writing_ = true;
      actions.write = &batches_.front()->response;
    }
    // After a failed request the stream ends with it: start nothing more.
    for (const std::unique_ptr<Batch>& batch : batches_) {
      if (batch->started) continue;
      if (any_failed_ || running_ >= kMaxBatchesRunning || SharesCodeWithRunning(*batch)) break;
      batch->started = true;
      ++running_;
      actions.start.push_back(batch.get());
    }
    if (!reading_ && !read_closed_ && batches_.size() < kMaxBatchesBuffered) {
      reading_ = true;
      actions.read = true;
    }
    if (read_closed_ && batches_.empty() && !writing_ && running_ == 0 && auditing_ == 0) {
      if (batches_read_ > 0) {
        EndWith(absl::OkStatus());
        return Advance();
      }
      // An empty stream still answers only an authorized caller.
      ++running_;
      batches_read_ = -1;  // checked once
      actions.check_empty_stream = true;
    }
    return actions;
  }

  bool SharesCodeWithRunning(const Batch& batch) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const std::unique_ptr<Batch>& other : batches_) {
      if (!other->started || other->done || other.get() == &batch) continue;
      for (const std::string& code : batch.codes) {
        if (other->code_set.contains(code)) return true;
      }
    }
    return false;
  }

  void EndWith(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!end_.has_value()) end_ = std::move(status);
  }

  static absl::Status Busy() {
    return WithReason(absl::UnavailableError("the server is busy; retry the import shortly"),
                      kReasonServerBusy);
  }

  bool Post(absl::AnyInvocable<void() &&> task) {
    return service_->executor_->TrySubmit(std::move(task));
  }

  // The audit record of one request the manager processed.
  struct Audit {
    core::Principal principal;
    auth::CallInfo call;
    absl::Status outcome;
  };

  // On the executor: one request, start to answer. The outcome of every
  // request the manager processed is audited on its own before it is
  // answered, so a crash mid-stream leaves every committed request in the
  // audit log. The append waits for the writer's current transaction (the
  // next request's): the request gives up its running slot first, so that
  // the one after it is prepared meanwhile.
  void RunBatch(Batch& batch) {
    std::optional<Audit> audit;
    absl::Status status = Process(batch, audit);
    if (audit.has_value()) {
      Step([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        --running_;
        ++auditing_;
      });
      service_->guard_->RecordOutcomeAndWait(audit->principal, audit->call, audit->outcome);
    }
    Step([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      if (audit.has_value()) {
        --auditing_;
      } else {
        --running_;
      }
      batch.done = true;
      any_failed_ = any_failed_ || !status.ok();
      batch.status = std::move(status);
    });
  }

  // Checks the caller again for every request (a token revoked during a
  // long import stops it at the next request, audited as a denial),
  // imports the request's records and fills its response; `audit` gets the
  // record to append once the manager has processed the request.
  absl::Status Process(Batch& batch, std::optional<Audit>& audit) {
    if (context_->IsCancelled()) return absl::CancelledError("the client cancelled the import");
    auth::CallInfo call{.rpc = "ImportDossiers"};
    ONESTOP_ASSIGN_OR_RETURN(
        const auth::PrincipalPtr caller,
        service_->guard_->Check(*context_, core::Permission::kImportDossiers, {}, call));
    const core::Principal& principal = *caller;
    if (service_->manager_ == nullptr) {
      return absl::FailedPreconditionError("this daemon cannot import dossiers");
    }
    std::vector<onestop::v1::Dossier> records;
    records.reserve(static_cast<size_t>(batch.request.dossiers_size()));
    for (onestop::v1::Dossier& d : *batch.request.mutable_dossiers()) {
      records.push_back(std::move(d));
    }
    absl::StatusOr<std::vector<absl::Status>> results =
        service_->manager_->Import(std::move(records), principal);
    if (!results.ok()) {
      call.note = absl::StrCat("request ", batch.number, ": nothing imported");
      audit = Audit{principal, std::move(call), results.status()};
      return results.status();
    }
    onestop::v1::ImportDossiersResponse& response = batch.response;
    for (size_t i = 0; i < results->size(); ++i) {
      const absl::Status& status = (*results)[i];
      if (status.ok()) {
        response.set_imported(response.imported() + 1);
      } else if (absl::IsAlreadyExists(status)) {
        response.set_already_present(response.already_present() + 1);
      } else {
        if (absl::IsPermissionDenied(status)) {
          // A record outside the caller's scope is a denial like any other:
          // audited on its own, ahead of the request's record.
          service_->guard_->RecordOutcome(
              principal, {.rpc = "ImportDossiers", .dossier_code = batch.codes[i]}, status);
        }
        onestop::v1::ImportFailure* failure = response.add_failures();
        failure->set_index(static_cast<int>(i));
        failure->set_code(batch.codes[i]);
        const grpc::Status mapped = ToGrpcStatus(status);  // scrubs INTERNAL texts
        failure->set_status_code(static_cast<int>(mapped.error_code()));
        failure->set_message(mapped.error_message());
      }
    }
    response.set_failed(response.failures_size());
    call.note = absl::StrCat("request ", batch.number, ": ", response.imported(), " imported, ",
                             response.already_present(), " already present, ",
                             response.failed(), " failed");
    audit = Audit{principal, std::move(call), absl::OkStatus()};
    batch.request.Clear();  // its dossiers were moved out: free the shells now
    return absl::OkStatus();
  }

  // On the executor: the end of a stream that sent no request.
  void CheckEmptyStream() {
    const auth::CallInfo call{.rpc = "ImportDossiers"};
    absl::Status status =
        service_->guard_->Check(*context_, core::Permission::kImportDossiers, {}, call).status();
    Step([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      --running_;
      EndWith(std::move(status));
    });
  }

  AdminServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  // The target of the one outstanding read (only the read path touches it).
  onestop::v1::ImportDossiersRequest reading_request_;

  absl::Mutex mu_;
  // Read and not yet answered, in stream order.
  std::deque<std::unique_ptr<Batch>> batches_ ABSL_GUARDED_BY(mu_);
  int64_t batches_read_ ABSL_GUARDED_BY(mu_) = 0;  // -1 once an empty stream is checked
  int running_ ABSL_GUARDED_BY(mu_) = 0;   // executor tasks of this stream in their slot
  int auditing_ ABSL_GUARDED_BY(mu_) = 0;  // tasks appending their request's audit record
  int stepping_ ABSL_GUARDED_BY(mu_) = 0;          // threads inside Step's unlocked part
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool any_failed_ ABSL_GUARDED_BY(mu_) = false;  // a request ended with an error
  // How the stream ends, once known: no new work starts after it.
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerBidiReactor<onestop::v1::ImportDossiersRequest, onestop::v1::ImportDossiersResponse>*
AdminServiceImpl::ImportDossiers(grpc::CallbackServerContext* context) {
  return new Import(this, context);
}

}  // namespace onestop::service
