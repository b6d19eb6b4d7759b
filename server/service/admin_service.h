// gRPC handlers for onestop.v1.AdminService: the controllable clock, config
// reload and online backup.
#ifndef ONESTOP_SERVER_SERVICE_ADMIN_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_ADMIN_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/core/catalogue.h"
#include "server/service/auth/access_guard.h"
#include "server/service/dossier_manager.h"
#include "server/service/executor.h"
#include "server/util/clock.h"

namespace onestop::service {

// Loads the configuration again (the file the daemon started with).
using ConfigReloader = std::function<absl::StatusOr<std::shared_ptr<const core::Catalogue>>()>;
// Writes an online copy of the database to a path.
using DatabaseBackup = std::function<absl::Status(const std::string& path)>;

// What the admin service can do beyond the clock; empty functions make the
// matching RPC answer FAILED_PRECONDITION.
struct AdminHooks {
  ConfigReloader reload_config;
  DatabaseBackup backup_database;
};

// Every call first authenticates and authorizes the caller on the executor
// (the token table is in SQLite): GetClock needs read_clock (every role);
// SetClock/AdvanceClock/ResetClock control_clock and ReloadConfig and
// BackupDatabase administer_daemon, both held by admins of a top-level
// agency only (core::ActsOnTheWholeDaemon). Changes are audited.
class AdminServiceImpl final : public onestop::v1::AdminService::CallbackService {
 public:
  // `clock` is the daemon's clock; `controlled` is the same object when the
  // daemon runs with --clock=controlled, else null (the clock RPCs that
  // change time then answer FAILED_PRECONDITION). None is owned; all must
  // outlive the server. `manager` may be null only when `hooks` is empty.
  AdminServiceImpl(const Clock* clock, ControlledClock* controlled, DossierManager* manager,
                   Executor* executor, const auth::AccessGuard* guard, AdminHooks hooks = {})
      : clock_(clock),
        controlled_(controlled),
        manager_(manager),
        executor_(executor),
        guard_(guard),
        hooks_(std::move(hooks)) {}

  // Reloads the configuration and swaps it in atomically; the running one
  // stays on any error. Shared by the RPC and onestopd's SIGHUP handler.
  absl::StatusOr<std::shared_ptr<const core::Catalogue>> ReloadConfig();

  grpc::ServerUnaryReactor* GetClock(grpc::CallbackServerContext* context,
                                     const onestop::v1::GetClockRequest* request,
                                     onestop::v1::GetClockResponse* response) override;
  grpc::ServerUnaryReactor* SetClock(grpc::CallbackServerContext* context,
                                     const onestop::v1::SetClockRequest* request,
                                     onestop::v1::SetClockResponse* response) override;
  grpc::ServerUnaryReactor* AdvanceClock(grpc::CallbackServerContext* context,
                                         const onestop::v1::AdvanceClockRequest* request,
                                         onestop::v1::AdvanceClockResponse* response) override;
  grpc::ServerUnaryReactor* ResetClock(grpc::CallbackServerContext* context,
                                       const onestop::v1::ResetClockRequest* request,
                                       onestop::v1::ResetClockResponse* response) override;
  grpc::ServerUnaryReactor* ReloadConfig(grpc::CallbackServerContext* context,
                                         const onestop::v1::ReloadConfigRequest* request,
                                         onestop::v1::ReloadConfigResponse* response) override;
  grpc::ServerUnaryReactor* BackupDatabase(grpc::CallbackServerContext* context,
                                           const onestop::v1::BackupDatabaseRequest* request,
                                           onestop::v1::BackupDatabaseResponse* response) override;
  // Bulk import (docs/IMPORT.md): each request is processed on the
  // executor by DossierManager::Import and answered in order; the next
  // request is read and prepared while the previous one is in the store
  // (requests sharing a dossier code run one after the other). Every
  // request authorizes import_dossiers again (a revoked token stops the
  // stream at the next request; denials audited) and every request the
  // manager processed is audited with its counts. Needs `manager`.
  grpc::ServerBidiReactor<onestop::v1::ImportDossiersRequest,
                          onestop::v1::ImportDossiersResponse>*
  ImportDossiers(grpc::CallbackServerContext* context) override;

 private:
  class Import;

  onestop::v1::ClockState State() const;
  absl::Status RequireControlled() const;
  absl::Status Backup(const std::string& path, onestop::v1::BackupDatabaseResponse* response);
  // Runs a clock RPC on the executor after checking `permission`; `change`
  // (may be null) alters the clock; the response gets the state after it.
  template <typename Response>
  grpc::ServerUnaryReactor* ClockCall(grpc::CallbackServerContext* context, const char* rpc,
                                      core::Permission permission,
                                      std::function<absl::Status()> change, Response* response);

  const Clock* const clock_;
  ControlledClock* const controlled_;
  DossierManager* const manager_;
  Executor* const executor_;
  const auth::AccessGuard* const guard_;
  const AdminHooks hooks_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_ADMIN_SERVICE_H_
