// The dossier state machine (DOMAIN.md §3.4): which actions are legal in
// which status, and what each one changes. Pure: values in, values out; the
// caller supplies "now" and the actor, and persists the result.
//
// Transitions (portal codes in brackets):
//   submit                 → NEW[1], or RECEIVED[2] with receive_now
//   accept        NEW[1]   → RECEIVED[2]              sets received/due time
//   request_supplement NEW[1] → SUPPLEMENT_REQUESTED[5]    reception, once
//                 PROCESSING[4] → SUPPLEMENT_REQUESTED[5]  once per agency;
//                                                      opens a clock pause
//   supply_documents [5] → NEW[1] (reception) / PROCESSING[4] (closes pause)
//   refuse        NEW[1], [5] at reception, RECEIVED[2] → REFUSED[3]
//   hand_over     RECEIVED[2] → PROCESSING[4]          holder := agency
//   request_payment PROCESSING[4] → FINANCIAL_OBLIGATION[6]  opens a pause
//   confirm_payment [6] → PROCESSING[4]                closes the pause
//   record_decision PROCESSING[4] → PROCESSING[4]      once
//   mark_result_ready PROCESSING[4] with a decision → RESULT_READY[9]
//   return_result RESULT_READY[9] → RETURNED[10]
//   withdraw      [1,2,4,5,6] before a decision → WITHDRAWN[7]
//   stop          [2,4,5 (processing),6] → STOPPED[8]
//   reschedule    [2,4,5,6] once, ≥ 1 day before the due date (Form 04)
//
// Interlinked procedures (a non-empty Procedure.route; the dossier's stages
// are resolved at reception, see route.h) replace hand_over by:
//   forward       RECEIVED[2] → PROCESSING[4]            into stage 1
//                 PROCESSING[4], every task of stage k done → stage k+1,
//                   or after the last stage back to the receiving desk
//                   (holder := receiving agency)
//   complete_stage PROCESSING[4], stage k in progress: the acting agency's
//                   active task is done (outcome judged against its own
//                   stage due time, shifted by pauses during the stage)
// On forward every task of the next stage becomes ACTIVE, handed and
// received now, due = ComputeDueTime(stage budget, now); the holder is the
// stage's first agency (the next still active one as tasks complete, the
// last completer once the stage is done, who forwards it on).
// mark_result_ready needs the dossier back at the receiving desk.
// request_supplement by a stage agency (Action::acting_agency_code, else
// the holder) pauses the whole dossier's clock, once per agency.
// Terminal: REFUSED, WITHDRAWN, STOPPED, RETURNED accept nothing.
// An illegal action is FAILED_PRECONDITION naming the status and the
// actions allowed in it.
//
// Rules beyond the table (each FAILED_PRECONDITION, naming the status):
// - a reception supplement (Form 02) at most once per dossier; a processing
//   supplement at most once per holding agency (another agency holding the
//   dossier may ask once too);
// - record_decision once; mark_result_ready only after it; withdraw only
//   before it;
// - reschedule once, and only while today's local date is at least one
//   calendar day before the due date. It needs a reason (Form 04 is an
//   apology with the reason) and a new_due_time after the current due time
//   (INVALID_ARGUMENT otherwise); it sets rescheduled_due_time only.
// refuse, withdraw and stop need a reason (Action::note), stored as
// closing_reason with closed_time. withdraw/stop while a pause is open close
// the pause at that instant and shift due_time by it, so a closed dossier's
// due time is final. supply_documents appends the documents to the dossier.
//
// attach_component (a digitised component, issue #13) changes no status and
// is not in the table above nor in AllowedActions: it is legal where
// AttachStage (documents.h) says — an applicant's component in NEW,
// RECEIVED or SUPPLEMENT_REQUESTED, a result document in RESULT_READY —
// and appends Action::component to Dossier.components with the next id
// ("1", "2", …), the stage, now and the actor.
#ifndef ONESTOP_SERVER_CORE_WORKFLOW_H_
#define ONESTOP_SERVER_CORE_WORKFLOW_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier.pb.h"
#include "onestop/v1/dossier_service.pb.h"
#include "server/core/catalogue.h"
#include "server/core/documents.h"

namespace onestop::core {

// One lifecycle action as the domain sees it (transport-neutral).
struct Action {
  onestop::v1::ActionKind kind = onestop::v1::ACTION_KIND_UNSPECIFIED;
  // Free-text note, or the reason for refuse/withdraw/stop/deny/reschedule.
  std::string note;
  // request_supplement: everything missing (at least one item).
  std::vector<std::string> missing_items;
  // supply_documents: what was handed in.
  std::vector<onestop::v1::SubmittedDocument> documents;
  // record_decision.
  onestop::v1::DecisionOutcome outcome = onestop::v1::DECISION_OUTCOME_UNSPECIFIED;
  // return_result.
  onestop::v1::ReturnMode return_mode = onestop::v1::RETURN_MODE_UNSPECIFIED;
  // hand_over: target agency; empty means the deciding agency.
  std::string to_agency_code;
  // reschedule: the new appointment.
  absl::Time new_due_time = absl::InfinitePast();
  // Interlinked procedures: the agency that acts, as the client states it
  // (the service layer has checked that the caller's grants cover it).
  // Required for complete_stage; optional
  // for forward, request_supplement and record_decision (default: the
  // holder), where it must be the holder or hold an active task.
  std::string acting_agency_code;
  // attach_component: the declared component, whose bytes the caller has
  // already verified and stored. Validated again (ValidateDeclaration
  // without the operator's policy, which the upload applied).
  std::optional<ComponentDeclaration> component;
};

// Who acts and when.
struct ActionContext {
  absl::Time now;
  std::string actor;
};

// A new dossier ready to be created by the store.
struct NewDossier {
  onestop::v1::Dossier dossier;      // code empty, etag 0, no history
  onestop::v1::HistoryEntry entry;   // sequence 1
  std::string code_prefix;           // "<agency code>-<YYMMDD>-"
};

// A state change ready to be persisted.
struct Transition {
  // The next state (etag unchanged). `entry` is also appended to its
  // history, so transitions chain without a store round trip.
  onestop::v1::Dossier dossier;
  onestop::v1::HistoryEntry entry;  // sequence = last + 1
};

// Validates a submission and builds the new dossier. INVALID_ARGUMENT for
// a missing/oversized/invalid-UTF-8 field (the message names the proto field
// path, e.g. "applicant.full_name"), a request_id that is not 1–128
// printable ASCII characters, an unspecified channel, a document without a
// name or with negative copies, or a procedure not received at the agency's
// level (its level or also_received_at_levels); NOT_FOUND for an unknown
// agency or procedure; FAILED_PRECONDITION if the agency or the procedure
// is not valid on the submission day (local date of `now`), or, with
// receive_now, the route cannot be resolved that day (route.h).
// A document's copies of 0 (proto3's "not given") is stored as 1.
absl::StatusOr<NewDossier> PrepareSubmission(
    const onestop::v1::SubmitDossierRequest& request, const Catalogue& catalogue,
    const ActionContext& context);

// Applies `action` to `current`, which must carry its full history (the new
// entry's sequence is history_size() + 1). Errors: FAILED_PRECONDITION
// for an action illegal in the current status (or a second reception
// supplement request, second decision, second reschedule), INVALID_ARGUMENT
// for malformed action fields, NOT_FOUND for an unknown target agency;
// FAILED_PRECONDITION also when the hand_over target is not valid today,
// the dossier's procedure left the catalogue, accept happens on a day the
// receiving agency or the procedure is not valid or the route cannot be
// resolved, complete_stage comes from an agency without an active task in
// the current stage (the message names who holds it), or forward /
// record_decision / request_supplement name an acting agency that neither
// holds the dossier nor an active task; INVALID_ARGUMENT for complete_stage
// without acting_agency_code; INTERNAL when `current`
// breaks an invariant (awaiting a supplement with no request recorded).
// attach_component: INVALID_ARGUMENT without Action::component or for a
// declaration ValidateDeclaration refuses; FAILED_PRECONDITION where
// AttachStage refuses or the procedure left the catalogue.
absl::StatusOr<Transition> ApplyAction(const onestop::v1::Dossier& current,
                                       const Action& action,
                                       const Catalogue& catalogue,
                                       const ActionContext& context);

// The actions legal for `dossier` now, in lifecycle order, for error
// messages and clients: its status's row of the table minus actions the
// once-only rules above already exclude (the reschedule window depends on
// the time and is not reflected).
std::vector<onestop::v1::ActionKind> AllowedActions(const onestop::v1::Dossier& dossier);

// Whose turn it is, for the authorization of `action` on `dossier`
// (docs/SECURITY.md): the agencies a caller must hold the action's
// permission at. For a processing action — record_decision, forward,
// mark_result_ready, stop, request_payment, confirm_payment, reschedule,
// complete_stage, a request_supplement in processing — that is the agency
// the workflow acts as: `action.acting_agency_code` where the workflow
// checks it holds the dossier or an active task (decision, forward,
// supplement and complete_stage on an interlinked dossier; forward on any)
// and it is one of the dossier's agencies, else the holder, plus the
// active stage agencies where the workflow records no acting agency or
// picks one of them itself. Empty for a reception action (accept, a
// supplement at reception, supply_documents, refuse, hand_over,
// return_result, withdraw): any of the dossier's agencies may take those.
std::vector<std::string> ActingAgencyCandidates(const onestop::v1::Dossier& dossier,
                                                const Action& action);

// True for REFUSED, WITHDRAWN, STOPPED, RETURNED.
bool IsTerminal(onestop::v1::DossierStatus status);

// Lower-case snake names used in messages and the CLI: "accept",
// "request_supplement", …; and the Vietnamese status labels.
std::string ActionName(onestop::v1::ActionKind kind);
std::string StatusName(onestop::v1::DossierStatus status);
std::string StatusLabelVi(onestop::v1::DossierStatus status);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_WORKFLOW_H_
