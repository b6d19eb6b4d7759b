#include "server/service/admin_service.h"

#include <sys/stat.h>

#include <optional>
#include <vector>

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
    ONESTOP_ASSIGN_OR_RETURN(const core::Principal principal,
                             guard_->Check(*context, permission, {}, call));
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
        const core::Principal principal,
        guard_->Check(*context, core::Permission::kAdministerDaemon, {}, call));
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
        const core::Principal principal,
        guard_->Check(*context, core::Permission::kAdministerDaemon, {}, call));
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

// One ImportDossiers stream. Deletes itself in OnDone. At most one task,
// read or write is in flight at a time: each task ends by starting the
// write of its answer (or by finishing), each write's completion starts the
// next read, and each read's completion posts the next task.
class AdminServiceImpl::Import final
    : public grpc::ServerBidiReactor<onestop::v1::ImportDossiersRequest,
                                     onestop::v1::ImportDossiersResponse> {
 public:
  Import(AdminServiceImpl* service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    // !ok: the client half-closed (or the call broke): the stream ends.
    Post([this, ok] { ok ? OnBatch() : OnEnd(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Post([this] { End(absl::CancelledError("the client went away during the import")); });
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  void Post(absl::AnyInvocable<void() &&> task) {
    if (!service_->executor_->TrySubmit(std::move(task))) {
      Finish(ToGrpcStatus(
          WithReason(absl::UnavailableError("the server is busy; retry the import shortly"),
                     kReasonServerBusy)));
    }
  }

  // Audits the outcome of an authorized stream and finishes it.
  void End(const absl::Status& status) {
    if (principal_.has_value()) {
      call_.note = absl::StrCat(imported_, " imported, ", present_, " already present, ",
                                failed_, " failed");
      service_->guard_->RecordOutcome(*principal_, call_, status);
    }
    Finish(ToGrpcStatus(status));
  }

  // Authenticates and authorizes the caller once, on the first request
  // (or at the end of an empty stream). False after finishing with the
  // audited denial.
  bool Authorized() {
    if (principal_.has_value()) return true;
    absl::StatusOr<core::Principal> principal =
        service_->guard_->Check(*context_, core::Permission::kImportDossiers, {}, call_);
    if (!principal.ok()) {
      Finish(ToGrpcStatus(principal.status()));
      return false;
    }
    principal_ = *std::move(principal);
    return true;
  }

  void OnEnd() {
    if (context_->IsCancelled()) return End(absl::CancelledError("the client cancelled the import"));
    if (Authorized()) End(absl::OkStatus());
  }

  void OnBatch() {
    if (context_->IsCancelled()) return End(absl::CancelledError("the client cancelled the import"));
    if (!Authorized()) return;
    if (service_->manager_ == nullptr) {
      return End(absl::FailedPreconditionError("this daemon cannot import dossiers"));
    }
    const std::vector<onestop::v1::Dossier> records(request_.dossiers().begin(),
                                                    request_.dossiers().end());
    absl::StatusOr<std::vector<absl::Status>> results =
        service_->manager_->Import(records, *principal_);
    if (!results.ok()) return End(results.status());
    response_.Clear();
    for (size_t i = 0; i < results->size(); ++i) {
      const absl::Status& status = (*results)[i];
      if (status.ok()) {
        response_.set_imported(response_.imported() + 1);
      } else if (absl::IsAlreadyExists(status)) {
        response_.set_already_present(response_.already_present() + 1);
      } else {
        onestop::v1::ImportFailure* failure = response_.add_failures();
        failure->set_index(static_cast<int>(i));
        failure->set_code(records[i].code());
        const grpc::Status mapped = ToGrpcStatus(status);  // scrubs INTERNAL texts
        failure->set_status_code(static_cast<int>(mapped.error_code()));
        failure->set_message(mapped.error_message());
      }
    }
    response_.set_failed(response_.failures_size());
    imported_ += response_.imported();
    present_ += response_.already_present();
    failed_ += response_.failed();
    StartWrite(&response_);
  }

  AdminServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  auth::CallInfo call_{.rpc = "ImportDossiers"};
  std::optional<core::Principal> principal_;
  onestop::v1::ImportDossiersRequest request_;
  onestop::v1::ImportDossiersResponse response_;
  int64_t imported_ = 0;
  int64_t present_ = 0;
  int64_t failed_ = 0;
};

grpc::ServerBidiReactor<onestop::v1::ImportDossiersRequest, onestop::v1::ImportDossiersResponse>*
AdminServiceImpl::ImportDossiers(grpc::CallbackServerContext* context) {
  return new Import(this, context);
}

}  // namespace onestop::service
