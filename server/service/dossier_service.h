// gRPC handlers for onestop.v1.DossierService: check the caller (AccessGuard:
// authenticate, authorize on the dossier's agencies, audit), translate
// requests into DossierManager calls on the executor (a submission or an
// action starts on gRPC's own thread instead when none of its steps would
// wait: StartSubmit, StartAct), mask personal data the caller may not see,
// and map errors. No business logic.
//
// Order for an action on a dossier: authenticate (UNAUTHENTICATED), read the
// dossier (NOT_FOUND — an authenticated caller may learn that a code exists,
// never its content), authorize on its receiving, holder, deciding and stage
// agencies or, when the request names an acting agency, on that agency
// (PERMISSION_DENIED), then act as the principal and audit the outcome.
#ifndef ONESTOP_SERVER_SERVICE_DOSSIER_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_DOSSIER_SERVICE_H_

#include <utility>

#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/core/authorization.h"
#include "server/service/auth/access_guard.h"
#include "server/service/dossier_manager.h"
#include "server/service/executor.h"
#include "server/service/unary_call.h"

namespace onestop::service {

class DossierServiceImpl final : public onestop::v1::DossierService::CallbackService {
 public:
  // `manager`, `executor` and `guard` are not owned and must outlive the
  // server.
  DossierServiceImpl(DossierManager* manager, Executor* executor,
                     const auth::AccessGuard* guard, core::PrivacyPolicy privacy)
      : manager_(manager), executor_(executor), guard_(guard), privacy_(std::move(privacy)) {}

  grpc::ServerUnaryReactor* SubmitDossier(grpc::CallbackServerContext* context,
                                          const onestop::v1::SubmitDossierRequest* request,
                                          onestop::v1::SubmitDossierResponse* response) override;
  grpc::ServerUnaryReactor* GetDossier(grpc::CallbackServerContext* context,
                                       const onestop::v1::GetDossierRequest* request,
                                       onestop::v1::GetDossierResponse* response) override;
  grpc::ServerUnaryReactor* ListDossiers(grpc::CallbackServerContext* context,
                                         const onestop::v1::ListDossiersRequest* request,
                                         onestop::v1::ListDossiersResponse* response) override;
  grpc::ServerUnaryReactor* AcceptDossier(grpc::CallbackServerContext* context,
                                          const onestop::v1::AcceptDossierRequest* request,
                                          onestop::v1::AcceptDossierResponse* response) override;
  grpc::ServerUnaryReactor* RequestSupplement(
      grpc::CallbackServerContext* context, const onestop::v1::RequestSupplementRequest* request,
      onestop::v1::RequestSupplementResponse* response) override;
  grpc::ServerUnaryReactor* SupplyDocuments(grpc::CallbackServerContext* context,
                                            const onestop::v1::SupplyDocumentsRequest* request,
                                            onestop::v1::SupplyDocumentsResponse* response) override;
  grpc::ServerUnaryReactor* RefuseDossier(grpc::CallbackServerContext* context,
                                          const onestop::v1::RefuseDossierRequest* request,
                                          onestop::v1::RefuseDossierResponse* response) override;
  grpc::ServerUnaryReactor* HandOverDossier(grpc::CallbackServerContext* context,
                                            const onestop::v1::HandOverDossierRequest* request,
                                            onestop::v1::HandOverDossierResponse* response) override;
  grpc::ServerUnaryReactor* RecordDecision(grpc::CallbackServerContext* context,
                                           const onestop::v1::RecordDecisionRequest* request,
                                           onestop::v1::RecordDecisionResponse* response) override;
  grpc::ServerUnaryReactor* MarkResultReady(grpc::CallbackServerContext* context,
                                            const onestop::v1::MarkResultReadyRequest* request,
                                            onestop::v1::MarkResultReadyResponse* response) override;
  grpc::ServerUnaryReactor* ReturnResult(grpc::CallbackServerContext* context,
                                         const onestop::v1::ReturnResultRequest* request,
                                         onestop::v1::ReturnResultResponse* response) override;
  grpc::ServerUnaryReactor* WithdrawDossier(grpc::CallbackServerContext* context,
                                            const onestop::v1::WithdrawDossierRequest* request,
                                            onestop::v1::WithdrawDossierResponse* response) override;
  grpc::ServerUnaryReactor* StopProcessing(grpc::CallbackServerContext* context,
                                           const onestop::v1::StopProcessingRequest* request,
                                           onestop::v1::StopProcessingResponse* response) override;
  grpc::ServerUnaryReactor* RequestPayment(grpc::CallbackServerContext* context,
                                           const onestop::v1::RequestPaymentRequest* request,
                                           onestop::v1::RequestPaymentResponse* response) override;
  grpc::ServerUnaryReactor* ConfirmPayment(grpc::CallbackServerContext* context,
                                           const onestop::v1::ConfirmPaymentRequest* request,
                                           onestop::v1::ConfirmPaymentResponse* response) override;
  grpc::ServerUnaryReactor* RescheduleDossier(
      grpc::CallbackServerContext* context, const onestop::v1::RescheduleDossierRequest* request,
      onestop::v1::RescheduleDossierResponse* response) override;
  grpc::ServerUnaryReactor* ForwardDossier(grpc::CallbackServerContext* context,
                                           const onestop::v1::ForwardDossierRequest* request,
                                           onestop::v1::ForwardDossierResponse* response) override;
  grpc::ServerUnaryReactor* CompleteStage(grpc::CallbackServerContext* context,
                                          const onestop::v1::CompleteStageRequest* request,
                                          onestop::v1::CompleteStageResponse* response) override;

 private:
  // Runs one lifecycle action: `fill` copies the request's specific fields
  // into the core action.
  template <typename Request, typename Response, typename Fill>
  grpc::ServerUnaryReactor* Act(grpc::CallbackServerContext* context,
                                const Request* request, Response* response,
                                onestop::v1::ActionKind kind, Fill fill);

  // Authenticate, authorize and start the call's write; the write's
  // continuation finishes the call. With `without_waiting` (on gRPC's
  // thread) they return false, having done and answered nothing, as soon
  // as a step would wait for the database (a token not in memory, a
  // request_id to replay, a dossier not in memory, no room for another
  // asynchronous write): the handler then runs them on the executor.
  // Otherwise they return true.
  bool StartAct(const grpc::CallbackServerContext& context, const ActionCommand& command,
                const std::string& rpc, onestop::v1::Dossier* answer, UnaryFinish finish,
                bool without_waiting);
  bool StartSubmit(const grpc::CallbackServerContext& context,
                   const onestop::v1::SubmitDossierRequest& request,
                   onestop::v1::SubmitDossierResponse* response, UnaryFinish finish,
                   bool without_waiting);

  // Masks the applicant's numbers unless the principal may see them.
  void MaskFor(const core::Principal& principal, onestop::v1::Dossier* dossier) const;

  DossierManager* const manager_;
  Executor* const executor_;
  const auth::AccessGuard* const guard_;
  const core::PrivacyPolicy privacy_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_DOSSIER_SERVICE_H_
