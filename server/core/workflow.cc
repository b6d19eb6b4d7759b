#include "server/core/workflow.h"

#include <algorithm>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/core/authorization.h"
#include "server/core/deadline.h"
#include "server/core/route.h"
#include "server/core/validation.h"
#include "server/util/error_info.h"
#include "server/util/status_macros.h"
#include "server/util/proto_time.h"

namespace onestop::core {
namespace {

using onestop::v1::ActionKind;
using onestop::v1::Dossier;
using onestop::v1::DossierStatus;
using onestop::v1::HistoryEntry;
using onestop::v1::SupplementPhase;
namespace v1 = onestop::v1;

constexpr size_t kMaxRequestIdBytes = 128;

// Every action that applies to an existing dossier, in the order the
// lifecycle meets them (used for "allowed:" lists and exhaustive tests).
constexpr ActionKind kLifecycleActions[] = {
    v1::ACTION_KIND_ACCEPT,          v1::ACTION_KIND_REQUEST_SUPPLEMENT,
    v1::ACTION_KIND_SUPPLY_DOCUMENTS, v1::ACTION_KIND_REFUSE,
    v1::ACTION_KIND_HAND_OVER,       v1::ACTION_KIND_FORWARD,
    v1::ACTION_KIND_COMPLETE_STAGE,  v1::ACTION_KIND_REQUEST_PAYMENT,
    v1::ACTION_KIND_CONFIRM_PAYMENT, v1::ACTION_KIND_RECORD_DECISION,
    v1::ACTION_KIND_MARK_RESULT_READY, v1::ACTION_KIND_RETURN_RESULT,
    v1::ACTION_KIND_WITHDRAW,        v1::ACTION_KIND_STOP,
    v1::ACTION_KIND_RESCHEDULE,
};


std::string FormatLocal(absl::Time t, const WorkingCalendar& calendar) {
  return absl::FormatTime("%d/%m/%Y %H:%M", t, calendar.zone());
}

std::string Describe(const Dossier& dossier) {
  return absl::StrCat(StatusName(dossier.status()), " (", StatusLabelVi(dossier.status()), ")");
}

std::string DossierRef(const Dossier& dossier) {
  return dossier.code().empty() ? std::string("(no code yet)") : dossier.code();
}

// The phase of the supplement request a SUPPLEMENT_REQUESTED dossier
// awaits: the last one appended.
SupplementPhase OpenSupplementPhase(const Dossier& dossier) {
  if (dossier.supplements().empty()) return v1::SUPPLEMENT_PHASE_UNSPECIFIED;
  return dossier.supplements(dossier.supplements_size() - 1).phase();
}

bool HasDecision(const Dossier& dossier) {
  return dossier.has_decision() &&
         dossier.decision().outcome() != v1::DECISION_OUTCOME_UNSPECIFIED;
}

// Interlinked dossiers carry their resolved route from reception on.
bool Interlinked(const Dossier& dossier) { return dossier.stages_size() > 0; }

// The stage in progress (1 ≤ current_stage ≤ stages), or nullptr.
const v1::Stage* CurrentStage(const Dossier& dossier) {
  const int k = dossier.current_stage();
  if (k < 1 || k > dossier.stages_size()) return nullptr;
  return &dossier.stages(k - 1);
}

bool StageDone(const v1::Stage& stage) {
  for (const auto& task : stage.tasks()) {
    if (task.status() != v1::STAGE_TASK_STATUS_DONE) return false;
  }
  return true;
}

// Agencies with an active task in the current stage, in route order.
std::vector<std::string> ActiveAgencies(const Dossier& dossier) {
  std::vector<std::string> out;
  if (const v1::Stage* stage = CurrentStage(dossier)) {
    for (const auto& task : stage->tasks()) {
      if (task.status() == v1::STAGE_TASK_STATUS_ACTIVE) out.push_back(task.agency_code());
    }
  }
  return out;
}

bool BackAtDesk(const Dossier& dossier) {
  return Interlinked(dossier) && dossier.current_stage() > dossier.stages_size();
}

bool RequestedSupplementInProcessing(const Dossier& dossier, const std::string& agency) {
  for (const auto& s : dossier.supplements()) {
    if (s.phase() == v1::SUPPLEMENT_PHASE_PROCESSING && s.agency_code() == agency) return true;
  }
  return false;
}

// The status table of workflow.h, before per-dossier rules.
bool StatusAllows(const Dossier& dossier, ActionKind kind) {
  if (Interlinked(dossier)) {
    // forward and complete_stage replace hand_over.
    if (kind == v1::ACTION_KIND_HAND_OVER) return false;
    if (kind == v1::ACTION_KIND_FORWARD) {
      return dossier.status() == v1::DOSSIER_STATUS_RECEIVED ||
             dossier.status() == v1::DOSSIER_STATUS_PROCESSING;
    }
    if (kind == v1::ACTION_KIND_COMPLETE_STAGE) {
      return dossier.status() == v1::DOSSIER_STATUS_PROCESSING;
    }
  } else if (kind == v1::ACTION_KIND_FORWARD || kind == v1::ACTION_KIND_COMPLETE_STAGE) {
    return false;
  }
  const bool processing_supplement =
      dossier.status() == v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED &&
      OpenSupplementPhase(dossier) == v1::SUPPLEMENT_PHASE_PROCESSING;
  switch (dossier.status()) {
    case v1::DOSSIER_STATUS_NEW:
      return kind == v1::ACTION_KIND_ACCEPT || kind == v1::ACTION_KIND_REQUEST_SUPPLEMENT ||
             kind == v1::ACTION_KIND_REFUSE || kind == v1::ACTION_KIND_WITHDRAW;
    case v1::DOSSIER_STATUS_RECEIVED:
      return kind == v1::ACTION_KIND_REFUSE || kind == v1::ACTION_KIND_HAND_OVER ||
             kind == v1::ACTION_KIND_WITHDRAW || kind == v1::ACTION_KIND_STOP ||
             kind == v1::ACTION_KIND_RESCHEDULE;
    case v1::DOSSIER_STATUS_PROCESSING:
      return kind == v1::ACTION_KIND_REQUEST_SUPPLEMENT ||
             kind == v1::ACTION_KIND_REQUEST_PAYMENT ||
             kind == v1::ACTION_KIND_RECORD_DECISION ||
             kind == v1::ACTION_KIND_MARK_RESULT_READY || kind == v1::ACTION_KIND_WITHDRAW ||
             kind == v1::ACTION_KIND_STOP || kind == v1::ACTION_KIND_RESCHEDULE;
    case v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED:
      if (processing_supplement) {
        return kind == v1::ACTION_KIND_SUPPLY_DOCUMENTS || kind == v1::ACTION_KIND_WITHDRAW ||
               kind == v1::ACTION_KIND_STOP || kind == v1::ACTION_KIND_RESCHEDULE;
      }
      // At reception the dossier was never received: no deadline to stop
      // or move, and the desk may still refuse it.
      return kind == v1::ACTION_KIND_SUPPLY_DOCUMENTS || kind == v1::ACTION_KIND_REFUSE ||
             kind == v1::ACTION_KIND_WITHDRAW;
    case v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION:
      return kind == v1::ACTION_KIND_CONFIRM_PAYMENT || kind == v1::ACTION_KIND_WITHDRAW ||
             kind == v1::ACTION_KIND_STOP || kind == v1::ACTION_KIND_RESCHEDULE;
    case v1::DOSSIER_STATUS_RESULT_READY:
      return kind == v1::ACTION_KIND_RETURN_RESULT;
    default:
      return false;
  }
}

// A per-dossier rule that forbids an action: the stable reason
// (error_info.h), the precondition type, and the clerk-facing text.
struct Violation {
  absl::string_view reason;
  absl::string_view type;
  std::string message;
};

Violation OnceOnly(std::string message) {
  return {kReasonOnceOnlyRule, kPreconditionOnceOnly, std::move(message)};
}

Violation StepOrder(std::string message) {
  return {kReasonStepOrderRule, kPreconditionStepOrder, std::move(message)};
}

// Per-dossier rules that can forbid an action its status allows; returns
// the violated rule, or nullopt. Time-dependent rules (the reschedule
// window) are checked in ApplyAction, since AllowedActions has no "now".
std::optional<Violation> RuleViolation(const Dossier& dossier, ActionKind kind) {
  switch (kind) {
    case v1::ACTION_KIND_REQUEST_SUPPLEMENT:
      if (dossier.status() == v1::DOSSIER_STATUS_NEW) {
        for (const auto& s : dossier.supplements()) {
          if (s.phase() == v1::SUPPLEMENT_PHASE_RECEPTION) {
            return OnceOnly(absl::StrCat("dossier ", DossierRef(dossier),
                                " already had a supplement request at reception; the desk "
                                "may request a supplement only once (Form 02 lists "
                                "everything missing at once)"));
          }
        }
      } else if (Interlinked(dossier) && !ActiveAgencies(dossier).empty()) {
        // Any stage agency that has not asked yet may ask.
        for (const std::string& agency : ActiveAgencies(dossier)) {
          if (!RequestedSupplementInProcessing(dossier, agency)) return std::nullopt;
        }
        return OnceOnly(absl::StrCat("every agency of stage ", dossier.current_stage(),
                            " already requested a supplement for dossier ", DossierRef(dossier),
                            "; each processing agency may request a supplement only once"));
      } else {
        for (const auto& s : dossier.supplements()) {
          if (s.phase() == v1::SUPPLEMENT_PHASE_PROCESSING &&
              s.agency_code() == dossier.holder_agency_code()) {
            return OnceOnly(absl::StrCat("agency ", dossier.holder_agency_code(),
                                " already requested a supplement for dossier ",
                                DossierRef(dossier),
                                "; each processing agency may request a supplement only once"));
          }
        }
      }
      return std::nullopt;
    case v1::ACTION_KIND_RECORD_DECISION:
      if (HasDecision(dossier)) {
        return OnceOnly(absl::StrCat("dossier ", DossierRef(dossier),
                            " already has a decision; it can be recorded only once"));
      }
      return std::nullopt;
    case v1::ACTION_KIND_FORWARD:
      if (BackAtDesk(dossier)) {
        return StepOrder(absl::StrCat("dossier ", DossierRef(dossier),
                            " has finished its route and is back at the receiving desk ",
                            dossier.receiving_agency_code()));
      }
      if (const v1::Stage* stage = CurrentStage(dossier); stage != nullptr && !StageDone(*stage)) {
        return StepOrder(absl::StrCat("stage ", stage->index(), " of dossier ",
                                      DossierRef(dossier), " is not finished; waiting for ",
                                      absl::StrJoin(ActiveAgencies(dossier), ", ")));
      }
      return std::nullopt;
    case v1::ACTION_KIND_COMPLETE_STAGE:
      if (ActiveAgencies(dossier).empty()) {
        return StepOrder(BackAtDesk(dossier)
                             ? absl::StrCat("dossier ", DossierRef(dossier),
                                            " has finished its route; no stage is in progress")
                             : absl::StrCat("no stage of dossier ", DossierRef(dossier),
                                            " is in progress; forward it first"));
      }
      return std::nullopt;
    case v1::ACTION_KIND_MARK_RESULT_READY:
      if (Interlinked(dossier) && !BackAtDesk(dossier)) {
        return StepOrder(absl::StrCat("dossier ", DossierRef(dossier), " is at stage ",
                            dossier.current_stage(), " of ", dossier.stages_size(),
                            " of its route; complete the stages and forward it back to the "
                            "receiving desk first"));
      }
      if (!HasDecision(dossier)) {
        return StepOrder(absl::StrCat("dossier ", DossierRef(dossier),
                            " has no decision yet; record the decision first"));
      }
      return std::nullopt;
    case v1::ACTION_KIND_WITHDRAW:
      if (HasDecision(dossier)) {
        return StepOrder(absl::StrCat("dossier ", DossierRef(dossier),
                            " cannot be withdrawn: a decision has already been recorded"));
      }
      return std::nullopt;
    case v1::ACTION_KIND_RESCHEDULE:
      if (dossier.has_rescheduled_due_time()) {
        return OnceOnly(absl::StrCat("dossier ", DossierRef(dossier),
                            " has already been rescheduled once (Form 04); a second new "
                            "appointment is not allowed"));
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

bool IsLifecycleAction(ActionKind kind) {
  for (ActionKind k : kLifecycleActions) {
    if (k == kind) return true;
  }
  return false;
}

absl::Status ValidateDocuments(absl::string_view field,
                               const std::vector<v1::SubmittedDocument>& documents) {
  if (documents.size() > kMaxListItems) {
    return InvalidFieldError(field, absl::StrCat(field, " lists ", documents.size(),
                                                 " documents; at most ", kMaxListItems,
                                                 " are allowed"));
  }
  for (size_t i = 0; i < documents.size(); ++i) {
    ONESTOP_RETURN_IF_ERROR(ValidateText(absl::StrCat(field, "[", i, "].name"),
                                         documents[i].name(), kMaxNameBytes,
                                         Requirement::kRequired));
    if (documents[i].copies() < 0) {
      return InvalidFieldError(absl::StrCat(field, "[", i, "].copies"),
                               absl::StrCat(field, "[", i, "].copies is ",
                                            documents[i].copies(),
                                            "; it must be 1 or more (0 means 1)"));
    }
  }
  return absl::OkStatus();
}

// Copies documents, storing an unset (0) copy count as 1: proto3 cannot
// tell "not given" from 0, and a document handed in is at least one copy.
void AppendDocuments(const std::vector<v1::SubmittedDocument>& documents, Dossier& dossier) {
  for (const auto& document : documents) {
    v1::SubmittedDocument* added = dossier.add_documents();
    *added = document;
    if (added->copies() == 0) added->set_copies(1);
  }
}

absl::Status RequireReason(const Action& action, absl::string_view why, const Dossier& dossier) {
  if (action.note.empty()) {
    return InvalidFieldError(
        "reason", absl::StrCat("a reason is required to ", why, " dossier ", DossierRef(dossier)));
  }
  return ValidateText("reason", action.note, kMaxTextBytes, Requirement::kRequired);
}

// The open pause started by `reason`, or nullptr.
v1::ClockPause* OpenPause(Dossier& dossier, ActionKind reason) {
  for (auto& pause : *dossier.mutable_pauses()) {
    if (!pause.has_end_time() && pause.reason() == reason) return &pause;
  }
  return nullptr;
}

// Ends every open pause at `now` and moves the due time by the paused
// working time. Used when the clock resumes and when a paused dossier
// closes, so a stopped or withdrawn dossier's due time stays meaningful.
void CloseOpenPauses(Dossier& dossier, absl::Time now, const WorkingCalendar& calendar) {
  bool closed = false;
  for (auto& pause : *dossier.mutable_pauses()) {
    if (!pause.has_end_time()) {
      *pause.mutable_end_time() = ToProtoTime(now);
      closed = true;
    }
  }
  if (closed && dossier.has_original_due_time()) {
    *dossier.mutable_due_time() = ToProtoTime(
        EffectiveDueTime(FromProtoTime(dossier.original_due_time()), dossier.pauses(), now, calendar));
  }
}

void SetStatus(Dossier& dossier, DossierStatus status) {
  dossier.set_status(status);
  // The enum numbers are the portal codes (dossier.proto).
  dossier.set_portal_status_code(static_cast<int32_t>(status));
}

void Close(Dossier& dossier, DossierStatus status, const Action& action, absl::Time now,
           const WorkingCalendar& calendar) {
  CloseOpenPauses(dossier, now, calendar);
  SetStatus(dossier, status);
  dossier.set_closing_reason(action.note);
  *dossier.mutable_closed_time() = ToProtoTime(now);
}

absl::Status ValidateRequestId(const std::string& request_id) {
  if (request_id.empty()) return absl::OkStatus();
  if (request_id.size() > kMaxRequestIdBytes) {
    return InvalidFieldError("request_id",
                             absl::StrCat("request_id is too long: ", request_id.size(),
                                          " characters, at most ", kMaxRequestIdBytes,
                                          " allowed"));
  }
  for (char c : request_id) {
    if (c < ' ' || c > '~') {
      return InvalidFieldError("request_id",
                               "request_id must contain printable ASCII characters only");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCode(absl::string_view field, const std::string& code) {
  return ValidateText(field, code, kMaxCodeBytes, Requirement::kRequired);
}

absl::StatusOr<const v1::Procedure*> ProcedureOf(const Dossier& dossier,
                                                 const Catalogue& catalogue) {
  const v1::Procedure* procedure = catalogue.FindProcedure(dossier.procedure_code());
  if (procedure == nullptr) {
    // The dossier was valid when submitted: the catalogue lost the
    // procedure since, which the operator must fix first.
    return PreconditionError(
        kReasonCatalogueChanged, kPreconditionCatalogue,
        ProcedureSubject(dossier.procedure_code()),
        absl::StrCat("procedure ", dossier.procedure_code(), " of dossier ", DossierRef(dossier),
                     " is no longer in the catalogue"));
  }
  return procedure;
}

// Names the agencies holding `dossier` for messages: its active stage
// tasks, else the holder.
std::string DescribeHolders(const Dossier& dossier, const Catalogue& catalogue) {
  std::vector<std::string> holders = ActiveAgencies(dossier);
  if (holders.empty()) holders.push_back(dossier.holder_agency_code());
  std::vector<std::string> names;
  for (const auto& code : holders) names.push_back(DescribeAgency(catalogue, code));
  return absl::StrJoin(names, ", ");
}

// The agency acting on an interlinked dossier: action.acting_agency_code,
// which must hold the dossier or an active task, else the holder.
absl::StatusOr<std::string> ActingAgency(const Dossier& dossier, const Action& action,
                                         const Catalogue& catalogue) {
  if (action.acting_agency_code.empty()) return dossier.holder_agency_code();
  ONESTOP_RETURN_IF_ERROR(ValidateCode("acting_agency_code", action.acting_agency_code));
  if (action.acting_agency_code == dossier.holder_agency_code()) {
    return action.acting_agency_code;
  }
  for (const auto& code : ActiveAgencies(dossier)) {
    if (code == action.acting_agency_code) return code;
  }
  return PreconditionError(
      kReasonAgencyNotHolder, kPreconditionHolder, DossierSubject(dossier.code()),
      absl::StrCat("cannot ", ActionName(action.kind), ": ",
                   DescribeAgency(catalogue, action.acting_agency_code), " does not hold dossier ",
                   DossierRef(dossier), "; it is held by ", DescribeHolders(dossier, catalogue)));
}

// Receives `dossier` at `now`: Form 01 times, due times and, for an
// interlinked procedure, the route resolved for that day.
absl::Status Receive(Dossier& dossier, const v1::Procedure& procedure,
                     const v1::Agency& receiving, absl::Time now, const Catalogue& catalogue) {
  const WorkingCalendar& calendar = catalogue.calendar();
  const absl::CivilDay today = calendar.ToLocalDay(now);
  if (!catalogue.AgencyValidOn(receiving, today)) {
    return PreconditionError(
        kReasonAgencyNotValidOnDay, kPreconditionValidity, AgencySubject(receiving.code()),
        absl::StrCat("agency ", receiving.code(), " (", receiving.name(), ") does not exist on ",
                     FormatCivilDay(today), " and cannot receive dossiers"));
  }
  if (!catalogue.ProcedureValidOn(procedure, today)) {
    return PreconditionError(
        kReasonProcedureNotOfferedOnDay, kPreconditionValidity, ProcedureSubject(procedure.code()),
        absl::StrCat("procedure ", procedure.code(), " (", procedure.name(),
                     ") is not offered on ", FormatCivilDay(today)));
  }
  ONESTOP_ASSIGN_OR_RETURN(const absl::Time due,
                           ComputeDueTime(procedure.deadline(), now, calendar));
  ONESTOP_ASSIGN_OR_RETURN(std::vector<v1::Stage> stages,
                           ResolveRoute(procedure, receiving, today, catalogue));
  *dossier.mutable_received_time() = ToProtoTime(now);
  *dossier.mutable_original_due_time() = ToProtoTime(due);
  *dossier.mutable_due_time() = ToProtoTime(due);
  dossier.clear_stages();
  for (auto& stage : stages) *dossier.add_stages() = std::move(stage);
  dossier.set_current_stage(0);
  SetStatus(dossier, v1::DOSSIER_STATUS_RECEIVED);
  return absl::OkStatus();
}

// attach_component: see workflow.h and documents.h.
absl::StatusOr<Transition> ApplyAttach(const Dossier& current, const Action& action,
                                       const Catalogue& catalogue,
                                       const ActionContext& context) {
  if (!action.component.has_value()) {
    return InvalidFieldError("header", "attach_component needs the component's header");
  }
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("note", action.note, kMaxTextBytes, Requirement::kOptional));
  ONESTOP_ASSIGN_OR_RETURN(const v1::ComponentStage stage,
                           AttachStage(current, action.component->kind));
  ONESTOP_ASSIGN_OR_RETURN(const v1::Procedure* procedure, ProcedureOf(current, catalogue));
  ONESTOP_ASSIGN_OR_RETURN(const ComponentDeclaration declared,
                           ValidateDeclaration(*action.component, *procedure, nullptr));
  Transition out;
  out.dossier = current;
  Dossier& next = out.dossier;
  v1::DossierComponent* component = next.add_components();
  // Ids follow attach order; components are never removed, so size + 1 is
  // new.
  component->set_id(absl::StrCat(current.components_size() + 1));
  component->set_component_type(declared.component_type);
  component->set_file_name(declared.file_name);
  component->set_mime_type(declared.mime_type);
  component->set_size_bytes(declared.size_bytes);
  component->set_sha256(declared.sha256);
  *component->mutable_attached_time() = ToProtoTime(context.now);
  component->set_attached_by(context.actor);
  component->set_stage(stage);

  HistoryEntry& entry = out.entry;
  entry.set_sequence(current.history_size() + 1);
  *entry.mutable_time() = ToProtoTime(context.now);
  entry.set_actor(context.actor);
  entry.set_action(action.kind);
  entry.set_from_status(current.status());
  entry.set_to_status(next.status());
  entry.set_holder_agency_code(next.holder_agency_code());
  entry.set_note(action.note.empty()
                     ? absl::StrCat("attached ", ComponentStageName(stage), " component ",
                                    component->id(), " (", declared.component_type, "): ",
                                    declared.file_name, ", ", declared.size_bytes,
                                    " bytes, sha256 ", declared.sha256.substr(0, 12), "…")
                     : action.note);
  *next.add_history() = entry;
  return out;
}

}  // namespace

std::vector<std::string> ActingAgencyCandidates(const Dossier& dossier, const Action& action) {
  const bool interlinked = Interlinked(dossier);
  // Whether the workflow takes acting_agency_code as the acting agency
  // (ActingAgency, or complete_stage's task lookup), refusing one that
  // holds neither the dossier nor an active task.
  bool checks_acting = false;
  // Whether it records the holder as acting when none is given.
  bool holder_acts = false;
  switch (action.kind) {
    case v1::ACTION_KIND_RECORD_DECISION:
      checks_acting = interlinked;
      holder_acts = true;
      break;
    case v1::ACTION_KIND_FORWARD:
      checks_acting = true;
      holder_acts = true;
      break;
    case v1::ACTION_KIND_REQUEST_SUPPLEMENT:
      if (dossier.status() == v1::DOSSIER_STATUS_NEW) return {};  // at reception
      checks_acting = interlinked;
      break;
    case v1::ACTION_KIND_COMPLETE_STAGE:
      checks_acting = true;
      break;
    case v1::ACTION_KIND_MARK_RESULT_READY:
    case v1::ACTION_KIND_STOP:
    case v1::ACTION_KIND_REQUEST_PAYMENT:
    case v1::ACTION_KIND_CONFIRM_PAYMENT:
    case v1::ACTION_KIND_RESCHEDULE:
      break;
    default:
      return {};  // a reception action
  }
  const std::string& acting = action.acting_agency_code;
  if (checks_acting && !acting.empty()) {
    // One of the dossier's agencies that is not its turn meets the
    // workflow's "does not hold" refusal, a clearer answer than a denial.
    const std::vector<std::string> agencies = DossierAgencies(dossier);
    if (std::find(agencies.begin(), agencies.end(), acting) != agencies.end()) return {acting};
  }
  std::vector<std::string> candidates = {dossier.holder_agency_code()};
  if (holder_acts) return candidates;
  for (std::string& code : ActiveAgencies(dossier)) {
    if (code != candidates.front()) candidates.push_back(std::move(code));
  }
  return candidates;
}

bool IsTerminal(DossierStatus status) {
  return status == v1::DOSSIER_STATUS_REFUSED || status == v1::DOSSIER_STATUS_WITHDRAWN ||
         status == v1::DOSSIER_STATUS_STOPPED || status == v1::DOSSIER_STATUS_RETURNED;
}

std::string ActionName(ActionKind kind) {
  switch (kind) {
    case v1::ACTION_KIND_SUBMIT: return "submit";
    case v1::ACTION_KIND_ACCEPT: return "accept";
    case v1::ACTION_KIND_REQUEST_SUPPLEMENT: return "request_supplement";
    case v1::ACTION_KIND_SUPPLY_DOCUMENTS: return "supply_documents";
    case v1::ACTION_KIND_REFUSE: return "refuse";
    case v1::ACTION_KIND_HAND_OVER: return "hand_over";
    case v1::ACTION_KIND_RECORD_DECISION: return "record_decision";
    case v1::ACTION_KIND_MARK_RESULT_READY: return "mark_result_ready";
    case v1::ACTION_KIND_RETURN_RESULT: return "return_result";
    case v1::ACTION_KIND_WITHDRAW: return "withdraw";
    case v1::ACTION_KIND_STOP: return "stop";
    case v1::ACTION_KIND_REQUEST_PAYMENT: return "request_payment";
    case v1::ACTION_KIND_CONFIRM_PAYMENT: return "confirm_payment";
    case v1::ACTION_KIND_RESCHEDULE: return "reschedule";
    case v1::ACTION_KIND_FORWARD: return "forward";
    case v1::ACTION_KIND_COMPLETE_STAGE: return "complete_stage";
    case v1::ACTION_KIND_ATTACH_COMPONENT: return "attach_component";
    case v1::ACTION_KIND_IMPORT: return "import";
    default: return "unspecified";
  }
}

std::string StatusName(DossierStatus status) {
  switch (status) {
    case v1::DOSSIER_STATUS_NEW: return "NEW";
    case v1::DOSSIER_STATUS_RECEIVED: return "RECEIVED";
    case v1::DOSSIER_STATUS_REFUSED: return "REFUSED";
    case v1::DOSSIER_STATUS_PROCESSING: return "PROCESSING";
    case v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED: return "SUPPLEMENT_REQUESTED";
    case v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION: return "FINANCIAL_OBLIGATION";
    case v1::DOSSIER_STATUS_WITHDRAWN: return "WITHDRAWN";
    case v1::DOSSIER_STATUS_STOPPED: return "STOPPED";
    case v1::DOSSIER_STATUS_RESULT_READY: return "RESULT_READY";
    case v1::DOSSIER_STATUS_RETURNED: return "RETURNED";
    default: return "UNSPECIFIED";
  }
}

std::string StatusLabelVi(DossierStatus status) {
  switch (status) {
    case v1::DOSSIER_STATUS_NEW: return "Mới đăng ký";
    case v1::DOSSIER_STATUS_RECEIVED: return "Được tiếp nhận";
    case v1::DOSSIER_STATUS_REFUSED: return "Không được tiếp nhận";
    case v1::DOSSIER_STATUS_PROCESSING: return "Đang xử lý";
    case v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED: return "Yêu cầu bổ sung giấy tờ";
    case v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION: return "Yêu cầu thực hiện nghĩa vụ tài chính";
    case v1::DOSSIER_STATUS_WITHDRAWN: return "Công dân yêu cầu rút hồ sơ";
    case v1::DOSSIER_STATUS_STOPPED: return "Dừng xử lý";
    case v1::DOSSIER_STATUS_RESULT_READY: return "Đã xử lý xong";
    case v1::DOSSIER_STATUS_RETURNED: return "Đã trả kết quả";
    default: return "Không xác định";
  }
}

std::vector<ActionKind> AllowedActions(const Dossier& dossier) {
  std::vector<ActionKind> allowed;
  for (ActionKind kind : kLifecycleActions) {
    if (StatusAllows(dossier, kind) && !RuleViolation(dossier, kind)) allowed.push_back(kind);
  }
  return allowed;
}

absl::StatusOr<NewDossier> PrepareSubmission(const v1::SubmitDossierRequest& request,
                                             const Catalogue& catalogue,
                                             const ActionContext& context) {
  ONESTOP_RETURN_IF_ERROR(ValidateRequestId(request.request_id()));
  ONESTOP_RETURN_IF_ERROR(ValidateCode("procedure_code", request.procedure_code()));
  ONESTOP_RETURN_IF_ERROR(ValidateCode("receiving_agency_code", request.receiving_agency_code()));
  const v1::Applicant& applicant = request.applicant();
  ONESTOP_RETURN_IF_ERROR(ValidateText("applicant.full_name", applicant.full_name(),
                                       kMaxNameBytes, Requirement::kRequired));
  ONESTOP_RETURN_IF_ERROR(ValidateText("applicant.personal_id", applicant.personal_id(),
                                       kMaxNameBytes, Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(ValidateText("applicant.phone", applicant.phone(), kMaxNameBytes,
                                       Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(ValidateText("applicant.email", applicant.email(), kMaxNameBytes,
                                       Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(ValidateText("applicant.address", applicant.address(), kMaxTextBytes,
                                       Requirement::kOptional));
  ONESTOP_RETURN_IF_ERROR(
      ValidateText("summary", request.summary(), kMaxTextBytes, Requirement::kOptional));
  const std::vector<v1::SubmittedDocument> documents(request.documents().begin(),
                                                     request.documents().end());
  ONESTOP_RETURN_IF_ERROR(ValidateDocuments("documents", documents));
  if (request.channel() == v1::CHANNEL_UNSPECIFIED || !v1::Channel_IsValid(request.channel())) {
    return InvalidFieldError("channel",
                             "channel is required: direct (at the desk), online or postal");
  }

  const v1::Agency* agency = catalogue.FindAgency(request.receiving_agency_code());
  if (agency == nullptr) {
    return WithFieldViolation(
        WithReason(absl::NotFoundError(absl::StrCat("no agency with code \"",
                                                    request.receiving_agency_code(), "\"")),
                   kReasonAgencyNotFound),
        "receiving_agency_code", "no such agency in the catalogue");
  }
  const v1::Procedure* procedure = catalogue.FindProcedure(request.procedure_code());
  if (procedure == nullptr) {
    return WithFieldViolation(
        WithReason(absl::NotFoundError(absl::StrCat("no procedure with code \"",
                                                    request.procedure_code(), "\"")),
                   kReasonProcedureNotFound),
        "procedure_code", "no such procedure in the catalogue");
  }
  if (!catalogue.ReceivedAtLevel(*procedure, agency->level())) {
    const std::string message = absl::StrCat(
        "procedure ", procedure->code(), " (", procedure->name(), ") is handled at ",
        procedure->level(), " level, not at ", agency->level(), " level (", agency->code(), " ",
        agency->name(), ")");
    return WithFieldViolation(
        WithReason(absl::InvalidArgumentError(message), kReasonProcedureLevelMismatch),
        "receiving_agency_code", message);
  }
  const WorkingCalendar& calendar = catalogue.calendar();
  const absl::CivilDay today = calendar.ToLocalDay(context.now);
  if (!catalogue.AgencyValidOn(*agency, today)) {
    return PreconditionError(
        kReasonAgencyNotValidOnDay, kPreconditionValidity, AgencySubject(agency->code()),
        absl::StrFormat(
            "agency %s (%s) does not exist on %04d-%02d-%02d and cannot receive dossiers",
            agency->code(), agency->name(), today.year(), today.month(), today.day()));
  }
  if (!catalogue.ProcedureValidOn(*procedure, today)) {
    return PreconditionError(
        kReasonProcedureNotOfferedOnDay, kPreconditionValidity,
        ProcedureSubject(procedure->code()),
        absl::StrCat("procedure ", procedure->code(), " (", procedure->name(),
                     ") is not offered on ", FormatCivilDay(today)));
  }

  NewDossier out;
  Dossier& dossier = out.dossier;
  dossier.set_procedure_code(procedure->code());
  dossier.set_receiving_agency_code(agency->code());
  dossier.set_holder_agency_code(agency->code());
  dossier.set_deciding_agency_code(procedure->deciding_agency_code().empty()
                                       ? agency->code()
                                       : procedure->deciding_agency_code());
  *dossier.mutable_applicant() = applicant;
  dossier.set_channel(request.channel());
  AppendDocuments(documents, dossier);
  dossier.set_summary(request.summary());
  *dossier.mutable_submitted_time() = ToProtoTime(context.now);
  SetStatus(dossier, v1::DOSSIER_STATUS_NEW);
  if (request.receive_now()) {
    ONESTOP_RETURN_IF_ERROR(Receive(dossier, *procedure, *agency, context.now, catalogue));
  }

  HistoryEntry& entry = out.entry;
  entry.set_sequence(1);
  *entry.mutable_time() = ToProtoTime(context.now);
  entry.set_actor(context.actor);
  entry.set_action(v1::ACTION_KIND_SUBMIT);
  entry.set_from_status(v1::DOSSIER_STATUS_UNSPECIFIED);
  entry.set_to_status(dossier.status());
  entry.set_holder_agency_code(dossier.holder_agency_code());

  out.code_prefix = absl::StrFormat("%s-%02d%02d%02d-", agency->code(), today.year() % 100,
                                    today.month(), today.day());
  return out;
}

absl::StatusOr<Transition> ApplyAction(const Dossier& current, const Action& action,
                                       const Catalogue& catalogue, const ActionContext& context) {
  if (action.kind == v1::ACTION_KIND_SUBMIT) {
    return InvalidFieldError(
        "action", "submit creates a new dossier; it cannot be applied to an existing one");
  }
  if (action.kind == v1::ACTION_KIND_ATTACH_COMPONENT) {
    return ApplyAttach(current, action, catalogue, context);
  }
  if (!IsLifecycleAction(action.kind)) {
    return InvalidFieldError("action", "an action is required (accept, hand_over, …)");
  }
  if (IsTerminal(current.status())) {
    return WithMessageVi(
        PreconditionError(kReasonIllegalTransition, kPreconditionDossierStatus,
                          DossierSubject(current.code()),
                          absl::StrCat("dossier ", DossierRef(current), " is ", Describe(current),
                                       "; no action is allowed")),
        absl::StrCat("Hồ sơ ", DossierRef(current), " đang ở trạng thái “",
                     StatusLabelVi(current.status()), "”; không thể thực hiện thao tác nào nữa."));
  }
  if (!StatusAllows(current, action.kind)) {
    std::vector<std::string> names;
    for (ActionKind kind : AllowedActions(current)) names.push_back(ActionName(kind));
    return WithMessageVi(
        PreconditionError(
            kReasonIllegalTransition, kPreconditionDossierStatus, DossierSubject(current.code()),
            absl::StrCat("cannot ", ActionName(action.kind), ": dossier ", DossierRef(current),
                         " is ", Describe(current), "; allowed: ",
                         names.empty() ? "none" : absl::StrJoin(names, ", "))),
        absl::StrCat("Không thể thực hiện thao tác “", ActionName(action.kind), "”: hồ sơ ",
                     DossierRef(current), " đang ở trạng thái “",
                     StatusLabelVi(current.status()), "”."));
  }
  if (std::optional<Violation> violation = RuleViolation(current, action.kind)) {
    return PreconditionError(violation->reason, violation->type, DossierSubject(current.code()),
                             absl::StrCat("cannot ", ActionName(action.kind), ": ",
                                          violation->message, " (status ", Describe(current),
                                          ")"));
  }

  const WorkingCalendar& calendar = catalogue.calendar();
  const absl::Time now = context.now;
  Transition out;
  out.dossier = current;
  Dossier& next = out.dossier;
  std::string entry_note = action.note;

  // Fields shared by most actions: a free-text note.
  const bool note_is_reason = action.kind == v1::ACTION_KIND_REFUSE ||
                              action.kind == v1::ACTION_KIND_WITHDRAW ||
                              action.kind == v1::ACTION_KIND_STOP ||
                              action.kind == v1::ACTION_KIND_RESCHEDULE ||
                              action.kind == v1::ACTION_KIND_RECORD_DECISION;
  if (!note_is_reason) {
    ONESTOP_RETURN_IF_ERROR(ValidateText("note", action.note, kMaxTextBytes,
                                         Requirement::kOptional));
  }

  switch (action.kind) {
    case v1::ACTION_KIND_ACCEPT: {
      ONESTOP_ASSIGN_OR_RETURN(const v1::Procedure* procedure, ProcedureOf(current, catalogue));
      const v1::Agency* receiving = catalogue.FindAgency(current.receiving_agency_code());
      if (receiving == nullptr) {
        return PreconditionError(
            kReasonCatalogueChanged, kPreconditionCatalogue,
            AgencySubject(current.receiving_agency_code()),
            absl::StrCat("receiving agency ", current.receiving_agency_code(), " of dossier ",
                         DossierRef(current), " is no longer in the catalogue"));
      }
      ONESTOP_RETURN_IF_ERROR(Receive(next, *procedure, *receiving, now, catalogue));
      break;
    }
    case v1::ACTION_KIND_FORWARD: {
      ONESTOP_ASSIGN_OR_RETURN(const std::string from, ActingAgency(current, action, catalogue));
      const int k = current.current_stage();
      if (k < 0 || (k < current.stages_size() && current.stages(k).tasks_size() == 0)) {
        // Only a damaged stored route gets here (imports are checked).
        return absl::InternalError(absl::StrCat("dossier ", current.code(),
                                                " has a damaged route (stage ", k + 1, ")"));
      }
      std::vector<std::string> to;
      if (k >= current.stages_size()) {
        // After the last stage the result goes back to the receiving desk.
        next.set_current_stage(current.stages_size() + 1);
        next.set_returned_to_desk_by_agency_code(from);
        *next.mutable_returned_to_desk_time() = ToProtoTime(now);
        next.set_holder_agency_code(current.receiving_agency_code());
        to.push_back(current.receiving_agency_code());
      } else {
        v1::Stage* stage = next.mutable_stages(k);
        ONESTOP_ASSIGN_OR_RETURN(const absl::Time due,
                                 ComputeDueTime(stage->budget(), now, calendar));
        for (auto& task : *stage->mutable_tasks()) {
          task.set_status(v1::STAGE_TASK_STATUS_ACTIVE);
          task.set_handed_by_agency_code(from);
          *task.mutable_handed_time() = ToProtoTime(now);
          *task.mutable_received_time() = ToProtoTime(now);
          *task.mutable_due_time() = ToProtoTime(due);
          to.push_back(task.agency_code());
        }
        next.set_current_stage(k + 1);
        next.set_holder_agency_code(stage->tasks(0).agency_code());
      }
      SetStatus(next, v1::DOSSIER_STATUS_PROCESSING);
      if (entry_note.empty()) {
        entry_note = absl::StrCat("forwarded by ", from, " to ", absl::StrJoin(to, ", "));
      }
      break;
    }
    case v1::ACTION_KIND_COMPLETE_STAGE: {
      if (action.acting_agency_code.empty()) {
        return InvalidFieldError(
            "acting_agency_code",
            "acting_agency_code is required: which agency completes its part of the stage");
      }
      ONESTOP_RETURN_IF_ERROR(ValidateCode("acting_agency_code", action.acting_agency_code));
      if (current.current_stage() < 1 || current.current_stage() > current.stages_size()) {
        return absl::InternalError(absl::StrCat("dossier ", current.code(),
                                                " has a damaged route (current stage ",
                                                current.current_stage(), ")"));
      }
      v1::Stage* stage = next.mutable_stages(current.current_stage() - 1);
      v1::StageTask* task = nullptr;
      for (auto& t : *stage->mutable_tasks()) {
        if (t.agency_code() == action.acting_agency_code) task = &t;
      }
      if (task == nullptr || task->status() != v1::STAGE_TASK_STATUS_ACTIVE) {
        return PreconditionError(
            kReasonAgencyNotHolder, kPreconditionHolder, DossierSubject(current.code()),
            absl::StrCat(
                "cannot complete_stage: ", DescribeAgency(catalogue, action.acting_agency_code),
                task == nullptr ? " has no task in" : " has already completed its task in",
                " stage ", stage->index(), " of dossier ", DossierRef(current),
                "; the stage is held by ", DescribeHolders(current, catalogue)));
      }
      task->set_status(v1::STAGE_TASK_STATUS_DONE);
      *task->mutable_completed_time() = ToProtoTime(now);
      const absl::Time effective_due =
          StageTaskEffectiveDue(*task, current.pauses(), now, calendar);
      *task->mutable_effective_due_time() = ToProtoTime(effective_due);
      task->set_outcome(ClassifyStageOutcome(now, effective_due, calendar));
      // The next agency still working holds it; the last one to finish
      // holds it until it forwards.
      std::string holder = action.acting_agency_code;
      for (const auto& t : stage->tasks()) {
        if (t.status() == v1::STAGE_TASK_STATUS_ACTIVE) {
          holder = t.agency_code();
          break;
        }
      }
      next.set_holder_agency_code(holder);
      if (entry_note.empty()) {
        entry_note = absl::StrCat(action.acting_agency_code, " completed stage ", stage->index(),
                                  ": ", StageOutcomeName(task->outcome()));
      }
      break;
    }
    case v1::ACTION_KIND_REQUEST_SUPPLEMENT: {
      if (action.missing_items.empty()) {
        return InvalidFieldError("missing_items",
                                 "missing_items is required: list everything missing, at once");
      }
      if (action.missing_items.size() > kMaxListItems) {
        return InvalidFieldError(
            "missing_items", absl::StrCat("missing_items lists ", action.missing_items.size(),
                                          " items; at most ", kMaxListItems, " are allowed"));
      }
      for (size_t i = 0; i < action.missing_items.size(); ++i) {
        ONESTOP_RETURN_IF_ERROR(ValidateText(absl::StrCat("missing_items[", i, "]"),
                                             action.missing_items[i], kMaxNameBytes,
                                             Requirement::kRequired));
      }
      const bool at_reception = current.status() == v1::DOSSIER_STATUS_NEW;
      std::string requester = current.holder_agency_code();
      if (!at_reception && Interlinked(current)) {
        if (action.acting_agency_code.empty() && !ActiveAgencies(current).empty()) {
          // Default: the first stage agency that has not asked yet.
          for (const auto& code : ActiveAgencies(current)) {
            if (!RequestedSupplementInProcessing(current, code)) {
              requester = code;
              break;
            }
          }
        } else {
          ONESTOP_ASSIGN_OR_RETURN(requester, ActingAgency(current, action, catalogue));
        }
        if (RequestedSupplementInProcessing(current, requester)) {
          return PreconditionError(
              kReasonOnceOnlyRule, kPreconditionOnceOnly, DossierSubject(current.code()),
              absl::StrCat(
                  "cannot request_supplement: ", DescribeAgency(catalogue, requester),
                  " already requested a supplement for dossier ", DossierRef(current),
                  "; each processing agency may request a supplement only once (status ",
                  Describe(current), ")"));
        }
      }
      v1::SupplementRequest* request = next.add_supplements();
      request->set_phase(at_reception ? v1::SUPPLEMENT_PHASE_RECEPTION
                                      : v1::SUPPLEMENT_PHASE_PROCESSING);
      request->set_agency_code(requester);
      for (const auto& item : action.missing_items) request->add_missing_items(item);
      request->set_note(action.note);
      *request->mutable_requested_time() = ToProtoTime(now);
      if (!at_reception) {
        // Supplement time during appraisal does not count (DOMAIN.md §5.3).
        v1::ClockPause* pause = next.add_pauses();
        *pause->mutable_start_time() = ToProtoTime(now);
        pause->set_reason(v1::ACTION_KIND_REQUEST_SUPPLEMENT);
      }
      SetStatus(next, v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED);
      if (entry_note.empty()) {
        entry_note = absl::StrCat("missing: ", absl::StrJoin(action.missing_items, "; "));
      }
      break;
    }
    case v1::ACTION_KIND_SUPPLY_DOCUMENTS: {
      ONESTOP_RETURN_IF_ERROR(ValidateDocuments("documents", action.documents));
      if (next.supplements().empty()) {
        return absl::InternalError(absl::StrCat(
            "dossier ", DossierRef(current), " awaits a supplement but records no request"));
      }
      if (next.documents_size() + action.documents.size() > 2 * kMaxListItems) {
        return InvalidFieldError(
            "documents", absl::StrCat("dossier ", DossierRef(current), " would hold more than ",
                                      2 * kMaxListItems, " documents"));
      }
      v1::SupplementRequest* request =
          next.mutable_supplements(next.supplements_size() - 1);
      *request->mutable_supplied_time() = ToProtoTime(now);
      AppendDocuments(action.documents, next);
      if (request->phase() == v1::SUPPLEMENT_PHASE_PROCESSING) {
        if (OpenPause(next, v1::ACTION_KIND_REQUEST_SUPPLEMENT) == nullptr) {
          return absl::InternalError(absl::StrCat(
              "dossier ", DossierRef(current), " awaits a supplement but its clock runs"));
        }
        CloseOpenPauses(next, now, calendar);
        SetStatus(next, v1::DOSSIER_STATUS_PROCESSING);
      } else {
        SetStatus(next, v1::DOSSIER_STATUS_NEW);
      }
      break;
    }
    case v1::ACTION_KIND_REFUSE:
      ONESTOP_RETURN_IF_ERROR(RequireReason(action, "refuse", current));
      Close(next, v1::DOSSIER_STATUS_REFUSED, action, now, calendar);
      break;
    case v1::ACTION_KIND_HAND_OVER: {
      const std::string target =
          action.to_agency_code.empty() ? current.deciding_agency_code() : action.to_agency_code;
      ONESTOP_RETURN_IF_ERROR(ValidateCode("to_agency_code", target));
      const v1::Agency* agency = catalogue.FindAgency(target);
      if (agency == nullptr) {
        return WithFieldViolation(
            WithReason(absl::NotFoundError(absl::StrCat("no agency with code \"", target, "\"")),
                       kReasonAgencyNotFound),
            "to_agency_code", "no such agency in the catalogue");
      }
      const absl::CivilDay today = calendar.ToLocalDay(now);
      if (!catalogue.AgencyValidOn(*agency, today)) {
        return PreconditionError(
            kReasonAgencyNotValidOnDay, kPreconditionValidity, AgencySubject(agency->code()),
            absl::StrFormat("cannot hand_over dossier %s to %s (%s): the agency does not exist "
                            "on %04d-%02d-%02d",
                            DossierRef(current), agency->code(), agency->name(), today.year(),
                            today.month(), today.day()));
      }
      next.set_holder_agency_code(agency->code());
      SetStatus(next, v1::DOSSIER_STATUS_PROCESSING);
      break;
    }
    case v1::ACTION_KIND_REQUEST_PAYMENT: {
      // Time to set and pay the obligation does not count (DOMAIN.md §5.3).
      v1::ClockPause* pause = next.add_pauses();
      *pause->mutable_start_time() = ToProtoTime(now);
      pause->set_reason(v1::ACTION_KIND_REQUEST_PAYMENT);
      SetStatus(next, v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION);
      break;
    }
    case v1::ACTION_KIND_CONFIRM_PAYMENT:
      if (OpenPause(next, v1::ACTION_KIND_REQUEST_PAYMENT) == nullptr) {
        return absl::InternalError(absl::StrCat(
            "dossier ", DossierRef(current), " awaits payment but its clock runs"));
      }
      CloseOpenPauses(next, now, calendar);
      SetStatus(next, v1::DOSSIER_STATUS_PROCESSING);
      break;
    case v1::ACTION_KIND_RECORD_DECISION: {
      if (action.outcome != v1::DECISION_OUTCOME_APPROVED &&
          action.outcome != v1::DECISION_OUTCOME_DENIED) {
        return InvalidFieldError("outcome", "outcome is required: approved or denied");
      }
      if (action.outcome == v1::DECISION_OUTCOME_DENIED && action.note.empty()) {
        return InvalidFieldError(
            "reason", absl::StrCat("a reason is required to deny dossier ", DossierRef(current),
                                   " (the applicant receives it in writing)"));
      }
      ONESTOP_RETURN_IF_ERROR(
          ValidateText("reason", action.note, kMaxTextBytes, Requirement::kOptional));
      v1::Decision* decision = next.mutable_decision();
      decision->set_outcome(action.outcome);
      decision->set_reason(action.note);
      std::string decider = current.holder_agency_code();
      if (Interlinked(current)) {
        ONESTOP_ASSIGN_OR_RETURN(decider, ActingAgency(current, action, catalogue));
      }
      decision->set_agency_code(decider);
      *decision->mutable_decided_time() = ToProtoTime(now);
      break;
    }
    case v1::ACTION_KIND_MARK_RESULT_READY:
      next.set_holder_agency_code(current.receiving_agency_code());
      *next.mutable_finished_time() = ToProtoTime(now);
      SetStatus(next, v1::DOSSIER_STATUS_RESULT_READY);
      break;
    case v1::ACTION_KIND_RETURN_RESULT:
      if (action.return_mode == v1::RETURN_MODE_UNSPECIFIED ||
          !v1::ReturnMode_IsValid(action.return_mode)) {
        return InvalidFieldError("return_mode",
                                 "return mode is required: at_desk, postal or electronic");
      }
      next.set_return_mode(action.return_mode);
      *next.mutable_returned_time() = ToProtoTime(now);
      SetStatus(next, v1::DOSSIER_STATUS_RETURNED);
      break;
    case v1::ACTION_KIND_WITHDRAW:
      ONESTOP_RETURN_IF_ERROR(RequireReason(action, "withdraw", current));
      Close(next, v1::DOSSIER_STATUS_WITHDRAWN, action, now, calendar);
      break;
    case v1::ACTION_KIND_STOP:
      ONESTOP_RETURN_IF_ERROR(RequireReason(action, "stop", current));
      Close(next, v1::DOSSIER_STATUS_STOPPED, action, now, calendar);
      break;
    case v1::ACTION_KIND_RESCHEDULE: {
      // Form 04 is an apology stating the reason and the new date.
      ONESTOP_RETURN_IF_ERROR(RequireReason(action, "reschedule", current));
      if (!current.has_due_time()) {
        return absl::InternalError(
            absl::StrCat("dossier ", DossierRef(current), " is ", Describe(current),
                         " but has no due time"));
      }
      if (action.new_due_time == absl::InfinitePast() ||
          action.new_due_time == absl::InfiniteFuture()) {
        return InvalidFieldError("new_due_time", "new_due_time is required to reschedule");
      }
      const absl::Time due = FromProtoTime(current.due_time());
      if (action.new_due_time <= due) {
        return InvalidFieldError(
            "new_due_time",
            absl::StrCat("new_due_time ", FormatLocal(action.new_due_time, calendar),
                         " must be after the current due time ", FormatLocal(due, calendar)));
      }
      // "No later than 1 day before the deadline": by local calendar date.
      if (calendar.ToLocalDay(now) > calendar.ToLocalDay(due) - 1) {
        return PreconditionError(
            kReasonRescheduleTooLate, kPreconditionDeadline, DossierSubject(current.code()),
            absl::StrCat("cannot reschedule dossier ", DossierRef(current),
                         ": the apology (Form 04) must be issued no later than 1 day before "
                         "the deadline ",
                         FormatLocal(due, calendar), " (status ", Describe(current), ")"));
      }
      *next.mutable_rescheduled_due_time() = ToProtoTime(action.new_due_time);
      break;
    }
    default:
      return absl::InternalError(
          absl::StrCat("action ", ActionName(action.kind), " has no implementation"));
  }

  HistoryEntry& entry = out.entry;
  entry.set_sequence(current.history_size() + 1);
  *entry.mutable_time() = ToProtoTime(now);
  entry.set_actor(context.actor);
  entry.set_action(action.kind);
  entry.set_from_status(current.status());
  entry.set_to_status(next.status());
  entry.set_holder_agency_code(next.holder_agency_code());
  entry.set_note(entry_note);
  *next.add_history() = entry;
  return out;
}

}  // namespace onestop::core
