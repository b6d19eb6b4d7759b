// gRPC handlers for onestop.v1.CatalogueService (read-only catalogue).
#ifndef ONESTOP_SERVER_SERVICE_CATALOGUE_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_CATALOGUE_SERVICE_H_

#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/service/dossier_manager.h"

namespace onestop::service {

// Answers from memory (the catalogue is immutable), so handlers finish
// inline without the executor.
class CatalogueServiceImpl final : public onestop::v1::CatalogueService::CallbackService {
 public:
  // `manager` (source of the current catalogue) must outlive the server.
  explicit CatalogueServiceImpl(const DossierManager* manager) : manager_(manager) {}

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
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_CATALOGUE_SERVICE_H_
