#include "server/service/dossier_service.h"

#include <string>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "server/service/unary_call.h"
#include "server/util/proto_time.h"
#include "server/util/status_macros.h"

namespace onestop::service {
namespace {

using namespace onestop::v1;  // NOLINT: handler signatures are long enough

// Identifies a request's content for idempotency: the method and the
// deterministic serialization of the request without its request_id.
template <typename Request>
std::string Fingerprint(absl::string_view method, const Request& request) {
  Request copy = request;
  copy.clear_request_id();
  std::string bytes(method);
  bytes.push_back('\n');
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  return bytes;
}

}  // namespace

template <typename Request, typename Response, typename Fill>
grpc::ServerUnaryReactor* DossierServiceImpl::Act(grpc::CallbackServerContext* context,
                                                  const Request* request, Response* response,
                                                  ActionKind kind, Fill fill) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ActionCommand command;
    command.code = request->code();
    command.etag = request->etag();
    command.request_id = request->request_id();
    command.fingerprint = Fingerprint(Request::descriptor()->name(), *request);
    command.action.kind = kind;
    fill(*request, command.action);
    ONESTOP_ASSIGN_OR_RETURN(const std::string actor, ActorFrom(*context));
    ONESTOP_ASSIGN_OR_RETURN(*response->mutable_dossier(), manager_->Act(command, actor));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DossierServiceImpl::SubmitDossier(
    grpc::CallbackServerContext* context, const SubmitDossierRequest* request,
    SubmitDossierResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_ASSIGN_OR_RETURN(const std::string actor, ActorFrom(*context));
    ONESTOP_ASSIGN_OR_RETURN(
        *response->mutable_dossier(),
        manager_->Submit(*request, Fingerprint("SubmitDossier", *request), actor));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DossierServiceImpl::GetDossier(grpc::CallbackServerContext* context,
                                                         const GetDossierRequest* request,
                                                         GetDossierResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_ASSIGN_OR_RETURN(*response->mutable_dossier(), manager_->Get(request->code()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DossierServiceImpl::ListDossiers(grpc::CallbackServerContext* context,
                                                           const ListDossiersRequest* request,
                                                           ListDossiersResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_ASSIGN_OR_RETURN(*response, manager_->List(*request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DossierServiceImpl::AcceptDossier(grpc::CallbackServerContext* context,
                                                            const AcceptDossierRequest* request,
                                                            AcceptDossierResponse* response) {
  return Act(context, request, response, ACTION_KIND_ACCEPT,
             [](const AcceptDossierRequest& r, core::Action& a) { a.note = r.note(); });
}

grpc::ServerUnaryReactor* DossierServiceImpl::RequestSupplement(
    grpc::CallbackServerContext* context, const RequestSupplementRequest* request,
    RequestSupplementResponse* response) {
  return Act(context, request, response, ACTION_KIND_REQUEST_SUPPLEMENT,
             [](const RequestSupplementRequest& r, core::Action& a) {
               a.note = r.note();
               a.missing_items.assign(r.missing_items().begin(), r.missing_items().end());
               a.acting_agency_code = r.acting_agency_code();
             });
}

grpc::ServerUnaryReactor* DossierServiceImpl::SupplyDocuments(
    grpc::CallbackServerContext* context, const SupplyDocumentsRequest* request,
    SupplyDocumentsResponse* response) {
  return Act(context, request, response, ACTION_KIND_SUPPLY_DOCUMENTS,
             [](const SupplyDocumentsRequest& r, core::Action& a) {
               a.note = r.note();
               a.documents.assign(r.documents().begin(), r.documents().end());
             });
}

grpc::ServerUnaryReactor* DossierServiceImpl::RefuseDossier(grpc::CallbackServerContext* context,
                                                            const RefuseDossierRequest* request,
                                                            RefuseDossierResponse* response) {
  return Act(context, request, response, ACTION_KIND_REFUSE,
             [](const RefuseDossierRequest& r, core::Action& a) { a.note = r.reason(); });
}

grpc::ServerUnaryReactor* DossierServiceImpl::HandOverDossier(
    grpc::CallbackServerContext* context, const HandOverDossierRequest* request,
    HandOverDossierResponse* response) {
  return Act(context, request, response, ACTION_KIND_HAND_OVER,
             [](const HandOverDossierRequest& r, core::Action& a) {
               a.note = r.note();
               a.to_agency_code = r.to_agency_code();
             });
}

grpc::ServerUnaryReactor* DossierServiceImpl::RecordDecision(
    grpc::CallbackServerContext* context, const RecordDecisionRequest* request,
    RecordDecisionResponse* response) {
  return Act(context, request, response, ACTION_KIND_RECORD_DECISION,
             [](const RecordDecisionRequest& r, core::Action& a) {
               a.outcome = r.outcome();
               a.note = r.reason();
               a.acting_agency_code = r.acting_agency_code();
             });
}

grpc::ServerUnaryReactor* DossierServiceImpl::MarkResultReady(
    grpc::CallbackServerContext* context, const MarkResultReadyRequest* request,
    MarkResultReadyResponse* response) {
  return Act(context, request, response, ACTION_KIND_MARK_RESULT_READY,
             [](const MarkResultReadyRequest& r, core::Action& a) { a.note = r.note(); });
}

grpc::ServerUnaryReactor* DossierServiceImpl::ReturnResult(grpc::CallbackServerContext* context,
                                                           const ReturnResultRequest* request,
                                                           ReturnResultResponse* response) {
  return Act(context, request, response, ACTION_KIND_RETURN_RESULT,
             [](const ReturnResultRequest& r, core::Action& a) {
               a.return_mode = r.mode();
               a.note = r.note();
             });
}

grpc::ServerUnaryReactor* DossierServiceImpl::WithdrawDossier(
    grpc::CallbackServerContext* context, const WithdrawDossierRequest* request,
    WithdrawDossierResponse* response) {
  return Act(context, request, response, ACTION_KIND_WITHDRAW,
             [](const WithdrawDossierRequest& r, core::Action& a) { a.note = r.reason(); });
}

grpc::ServerUnaryReactor* DossierServiceImpl::StopProcessing(
    grpc::CallbackServerContext* context, const StopProcessingRequest* request,
    StopProcessingResponse* response) {
  return Act(context, request, response, ACTION_KIND_STOP,
             [](const StopProcessingRequest& r, core::Action& a) { a.note = r.reason(); });
}

grpc::ServerUnaryReactor* DossierServiceImpl::RequestPayment(
    grpc::CallbackServerContext* context, const RequestPaymentRequest* request,
    RequestPaymentResponse* response) {
  return Act(context, request, response, ACTION_KIND_REQUEST_PAYMENT,
             [](const RequestPaymentRequest& r, core::Action& a) { a.note = r.note(); });
}

grpc::ServerUnaryReactor* DossierServiceImpl::ConfirmPayment(
    grpc::CallbackServerContext* context, const ConfirmPaymentRequest* request,
    ConfirmPaymentResponse* response) {
  return Act(context, request, response, ACTION_KIND_CONFIRM_PAYMENT,
             [](const ConfirmPaymentRequest& r, core::Action& a) { a.note = r.note(); });
}

grpc::ServerUnaryReactor* DossierServiceImpl::RescheduleDossier(
    grpc::CallbackServerContext* context, const RescheduleDossierRequest* request,
    RescheduleDossierResponse* response) {
  return Act(context, request, response, ACTION_KIND_RESCHEDULE,
             [](const RescheduleDossierRequest& r, core::Action& a) {
               a.note = r.reason();
               // Unset stays InfinitePast: the core answers "new_due_time is
               // required".
               if (r.has_new_due_time()) a.new_due_time = FromProtoTime(r.new_due_time());
             });
}

grpc::ServerUnaryReactor* DossierServiceImpl::ForwardDossier(
    grpc::CallbackServerContext* context, const ForwardDossierRequest* request,
    ForwardDossierResponse* response) {
  return Act(context, request, response, ACTION_KIND_FORWARD,
             [](const ForwardDossierRequest& r, core::Action& a) {
               a.note = r.note();
               a.acting_agency_code = r.acting_agency_code();
             });
}

grpc::ServerUnaryReactor* DossierServiceImpl::CompleteStage(
    grpc::CallbackServerContext* context, const CompleteStageRequest* request,
    CompleteStageResponse* response) {
  return Act(context, request, response, ACTION_KIND_COMPLETE_STAGE,
             [](const CompleteStageRequest& r, core::Action& a) {
               a.note = r.note();
               a.acting_agency_code = r.acting_agency_code();
             });
}

}  // namespace onestop::service
