#include "server/service/dossier_service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/service/fingerprint.h"
#include "server/service/unary_call.h"
#include "server/util/proto_time.h"
#include "server/util/status_macros.h"

namespace onestop::service {
namespace {

using namespace onestop::v1;  // NOLINT: handler signatures are long enough

// The permission an action needs; a supplement request depends on where
// the dossier is (Form 02 at the desk, or during processing).
core::Permission ActionPermission(ActionKind kind, DossierStatus status) {
  using core::Permission;
  switch (kind) {
    case ACTION_KIND_ACCEPT: return Permission::kAcceptDossier;
    case ACTION_KIND_REQUEST_SUPPLEMENT: return core::SupplementPermission(status);
    case ACTION_KIND_SUPPLY_DOCUMENTS: return Permission::kSupplyDocuments;
    case ACTION_KIND_REFUSE: return Permission::kRefuseDossier;
    case ACTION_KIND_HAND_OVER: return Permission::kHandOverDossier;
    case ACTION_KIND_RECORD_DECISION: return Permission::kRecordDecision;
    case ACTION_KIND_MARK_RESULT_READY: return Permission::kMarkResultReady;
    case ACTION_KIND_RETURN_RESULT: return Permission::kReturnResult;
    case ACTION_KIND_WITHDRAW: return Permission::kWithdrawDossier;
    case ACTION_KIND_STOP: return Permission::kStopProcessing;
    case ACTION_KIND_REQUEST_PAYMENT: return Permission::kRequestPayment;
    case ACTION_KIND_CONFIRM_PAYMENT: return Permission::kConfirmPayment;
    case ACTION_KIND_RESCHEDULE: return Permission::kRescheduleDossier;
    case ACTION_KIND_FORWARD: return Permission::kForwardDossier;
    case ACTION_KIND_COMPLETE_STAGE: return Permission::kCompleteStage;
    default: return Permission::kSubmitDossier;  // not reached: handlers pass an action
  }
}

}  // namespace

void DossierServiceImpl::MaskFor(const core::Principal& principal, Dossier* dossier) const {
  if (!core::MaySeePersonalData(principal, privacy_, *manager_->catalogue())) {
    core::MaskPersonalData(dossier);
  }
}

template <typename Request, typename Response, typename Fill>
grpc::ServerUnaryReactor* DossierServiceImpl::Act(grpc::CallbackServerContext* context,
                                                  const Request* request, Response* response,
                                                  ActionKind kind, Fill fill) {
  ActionCommand command;
  command.code = request->code();
  command.etag = request->etag();
  command.request_id = request->request_id();
  command.fingerprint = Fingerprint(Request::descriptor()->name(), *request);
  command.action.kind = kind;
  fill(*request, command.action);
  std::string rpc = Request::descriptor()->name();
  rpc.resize(rpc.size() - std::string_view("Request").size());
  // Started here on gRPC's thread when nothing in it waits, else on the
  // executor (StartAct, docs/PERFORMANCE.md "Calls started on gRPC's
  // thread"). Asynchronous like SubmitDossier (DossierManager::ActAsync).
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!context->IsCancelled() &&
      StartAct(*context, command, rpc, response->mutable_dossier(), UnaryFinish(reactor),
               /*without_waiting=*/true)) {
    return reactor;
  }
  return RunUnaryAsyncOn(reactor, context, executor_,
                         [this, context, command = std::move(command), rpc = std::move(rpc),
                          response](UnaryFinish finish) {
                           StartAct(*context, command, rpc, response->mutable_dossier(), finish,
                                    /*without_waiting=*/false);
                         });
}

bool DossierServiceImpl::StartAct(const grpc::CallbackServerContext& context,
                                  const ActionCommand& command, const std::string& rpc,
                                  Dossier* answer, UnaryFinish finish, bool without_waiting) {
  // Filled before the write by the authorization below, read by the
  // continuation after it.
  struct Caller {
    auth::PrincipalPtr principal;
    auth::CallInfo call;
    bool authorized = false;
  };
  if (without_waiting && !manager_->MayStartWithoutWaiting(command.request_id)) return false;
  auto caller = std::make_unique<Caller>();
  caller->call = {.rpc = rpc, .dossier_code = command.code};
  std::optional<absl::StatusOr<auth::PrincipalPtr>> principal =
      without_waiting ? guard_->AuthenticateFromMemory(context, caller->call)
                      : guard_->Authenticate(context, caller->call);
  if (!principal.has_value()) return false;
  if (!principal->ok()) {
    finish(principal->status());
    return true;
  }
  caller->principal = **std::move(principal);
  Caller& c = *caller;
  auto authorize = [&](const Dossier& current) -> absl::Status {
    // A processing action needs its permission at the agency the
    // workflow acts as (core::ActingAgencyCandidates): an officer of
    // the receiving commune may not decide for the district holding
    // the dossier. A reception action, at any of its agencies.
    std::vector<std::string> targets = core::ActingAgencyCandidates(current, command.action);
    if (targets.empty()) {
      targets = core::DossierAgencies(current);
      if (std::find(targets.begin(), targets.end(), command.action.acting_agency_code) !=
          targets.end()) {
        targets = {command.action.acting_agency_code};
        c.call.agency_code = command.action.acting_agency_code;
      }
    } else if (targets.size() == 1) {
      c.call.agency_code = targets.front();
    }
    ONESTOP_RETURN_IF_ERROR(guard_->AuthorizeOnDossier(
        *c.principal, ActionPermission(command.action.kind, current.status()), current, targets,
        c.call));
    c.authorized = true;
    return absl::OkStatus();
  };
  DossierManager::WriteDone done = [this, answer, finish, caller = std::move(caller)](
                                       absl::StatusOr<Dossier> acted) {
    // A denial is audited by Authorize; an unknown or malformed code
    // (before any authorization) is not a write.
    if (caller->authorized) guard_->RecordOutcome(*caller->principal, caller->call,
                                                  acted.status());
    if (!acted.ok()) return finish(acted.status());
    MaskFor(*caller->principal, &*acted);
    *answer = *std::move(acted);
    finish(absl::OkStatus());
  };
  const std::string& actor = c.principal->id;
  if (without_waiting) return manager_->TryActWithoutWaiting(command, actor, authorize, done);
  manager_->ActAsync(command, actor, authorize, std::move(done));
  return true;
}

grpc::ServerUnaryReactor* DossierServiceImpl::SubmitDossier(
    grpc::CallbackServerContext* context, const SubmitDossierRequest* request,
    SubmitDossierResponse* response) {
  // Started here on gRPC's thread when nothing in it waits, else on the
  // executor (StartSubmit). Either way the executor thread does not wait
  // for the group commit (DossierManager::SubmitAsync); the answer is
  // finished from the write's continuation.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!context->IsCancelled() &&
      StartSubmit(*context, *request, response, UnaryFinish(reactor), /*without_waiting=*/true)) {
    return reactor;
  }
  return RunUnaryAsyncOn(reactor, context, executor_, [=](UnaryFinish finish) {
    StartSubmit(*context, *request, response, finish, /*without_waiting=*/false);
  });
}

bool DossierServiceImpl::StartSubmit(const grpc::CallbackServerContext& context,
                                     const SubmitDossierRequest& request,
                                     SubmitDossierResponse* response, UnaryFinish finish,
                                     bool without_waiting) {
  if (without_waiting && !manager_->MayStartWithoutWaiting(request.request_id())) return false;
  auth::CallInfo call{.rpc = "SubmitDossier", .agency_code = request.receiving_agency_code()};
  std::optional<absl::StatusOr<auth::PrincipalPtr>> principal =
      without_waiting ? guard_->AuthenticateFromMemory(context, call)
                      : guard_->Authenticate(context, call);
  if (!principal.has_value()) return false;
  if (!principal->ok()) {
    finish(principal->status());
    return true;
  }
  if (absl::Status allowed = guard_->AuthorizeNamedAgency(
          ***principal, core::Permission::kSubmitDossier, request.receiving_agency_code(), call);
      !allowed.ok()) {
    finish(allowed);
    return true;
  }
  const std::string actor = (**principal)->id;
  const std::string fingerprint = Fingerprint("SubmitDossier", request);
  DossierManager::WriteDone done =
      [this, response, finish, call = std::move(call), principal = **std::move(principal)](
          absl::StatusOr<Dossier> submitted) mutable {
        if (submitted.ok()) call.dossier_code = submitted->code();
        guard_->RecordOutcome(*principal, call, submitted.status());
        if (!submitted.ok()) return finish(submitted.status());
        MaskFor(*principal, &*submitted);
        *response->mutable_dossier() = *std::move(submitted);
        finish(absl::OkStatus());
      };
  if (without_waiting) {
    return manager_->TrySubmitWithoutWaiting(request, fingerprint, actor, done);
  }
  manager_->SubmitAsync(request, fingerprint, actor, std::move(done));
  return true;
}

grpc::ServerUnaryReactor* DossierServiceImpl::GetDossier(grpc::CallbackServerContext* context,
                                                         const GetDossierRequest* request,
                                                         GetDossierResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    const auth::CallInfo call{.rpc = "GetDossier", .dossier_code = request->code()};
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             guard_->Authenticate(*context, call));
    const core::Principal& principal = *caller;
    ONESTOP_ASSIGN_OR_RETURN(Dossier dossier, manager_->Get(request->code()));
    ONESTOP_RETURN_IF_ERROR(guard_->AuthorizeOnDossier(
        principal, core::Permission::kGetDossier, dossier, core::DossierAgencies(dossier), call));
    MaskFor(principal, &dossier);
    *response->mutable_dossier() = std::move(dossier);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* DossierServiceImpl::ListDossiers(grpc::CallbackServerContext* context,
                                                           const ListDossiersRequest* request,
                                                           ListDossiersResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    const auth::CallInfo call{.rpc = "ListDossiers", .agency_code = request->agency_code()};
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             guard_->Authenticate(*context, call));
    const core::Principal& principal = *caller;
    std::optional<std::vector<std::string>> scope;
    if (!request->agency_code().empty()) {
      // The filter's subtree lies inside the caller's scope once its root does.
      ONESTOP_RETURN_IF_ERROR(guard_->AuthorizeNamedAgency(
          principal, core::Permission::kListDossiers, request->agency_code(), call));
    } else {
      ONESTOP_RETURN_IF_ERROR(
          guard_->Authorize(principal, core::Permission::kListDossiers, {}, call));
      const std::shared_ptr<const core::Catalogue> catalogue = manager_->catalogue();
      std::vector<std::string> visible =
          core::VisibleAgencies(principal, core::Permission::kListDossiers, *catalogue);
      // A province-wide reader needs no filter (and no IN list of every code).
      if (visible.size() < catalogue->agencies().size()) scope = std::move(visible);
    }
    ONESTOP_ASSIGN_OR_RETURN(*response, manager_->List(*request, scope));
    for (Dossier& dossier : *response->mutable_dossiers()) MaskFor(principal, &dossier);
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
