// gRPC handlers for onestop.v1.CatalogueService (read-only catalogue).
#ifndef ONESTOP_SERVER_SERVICE_CATALOGUE_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_CATALOGUE_SERVICE_H_

#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/service/auth/access_guard.h"
#include "server/service/dossier_manager.h"
#include "server/service/executor.h"

namespace onestop::service {

// Answers from memory (the catalogue is immutable), but authenticating the
// caller reads the token table, so each call runs on the executor. Every
// role may read the catalogue (read_catalogue).
class CatalogueServiceImpl final : public onestop::v1::CatalogueService::CallbackService {
 public:
  // None owned; all must outlive the server. `manager` is the source of the
  // current catalogue.
  CatalogueServiceImpl(const DossierManager* manager, Executor* executor,
                       const auth::AccessGuard* guard)
      : manager_(manager), executor_(executor), guard_(guard) {}

  grpc::ServerUnaryReactor* ListAgencies(grpc::CallbackServerContext* context,
                                         const onestop::v1::ListAgenciesRequest* request,
                                         onestop::v1::ListAgenciesResponse* response) override;
  grpc::ServerUnaryReactor* ListProcedures(grpc::CallbackServerContext* context,
                                           const onestop::v1::ListProceduresRequest* request,
                                           onestop::v1::ListProceduresResponse* response) override;
  grpc::ServerUnaryReactor* GetCalendar(grpc::CallbackServerContext* context,
                                        const onestop::v1::GetCalendarRequest* request,
                                        onestop::v1::GetCalendarResponse* response) override;

 private:
  const DossierManager* const manager_;
  Executor* const executor_;
  const auth::AccessGuard* const guard_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_CATALOGUE_SERVICE_H_
