#include "server/service/admin_service.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
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

}  // namespace onestop::service
