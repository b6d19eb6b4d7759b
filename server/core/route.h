// Interlinked one-stop routes (một cửa liên thông, DOMAIN.md §4) and the
// control slip (phiếu kiểm soát quá trình giải quyết hồ sơ, §3.3). Pure
// functions over the catalogue, the dossier and the calendar; "now" is a
// parameter.
//
// A route is resolved once, at reception: each stage's agencies become
// StageTasks naming the units valid on the reception day, and the dossier
// keeps them even after those units cease (a dossier received in June 2025
// under huyện Lắk finishes under huyện Lắk's agencies). Stage due times
// are computed at each hand-over from the stage's own budget; clock pauses
// (supplement, financial obligation) stop every stage's clock as they
// stop the dossier's.
#ifndef ONESTOP_SERVER_CORE_ROUTE_H_
#define ONESTOP_SERVER_CORE_ROUTE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "onestop/v1/catalogue.pb.h"
#include "onestop/v1/dossier.pb.h"
#include "server/core/calendar.h"
#include "server/core/catalogue.h"

namespace onestop::core {

// The stages of `procedure`'s route for a dossier received by `receiving`
// on `day`: index 1.., name and budget copied, one PENDING task per agency
// reference (resolved with Catalogue::ResolveAgencyRef). Empty for a
// procedure without a route. FAILED_PRECONDITION when a reference does not
// resolve that day (the message names the stage and the reason); NOT_FOUND
// for a direct agency_code missing from the catalogue.
absl::StatusOr<std::vector<onestop::v1::Stage>> ResolveRoute(
    const onestop::v1::Procedure& procedure, const onestop::v1::Agency& receiving,
    absl::CivilDay day, const Catalogue& catalogue);

// EARLY / ON_TIME / LATE by local date of `completed` against `due`.
onestop::v1::StageOutcome ClassifyStageOutcome(absl::Time completed, absl::Time due,
                                               const WorkingCalendar& calendar);

// A task's due time moved by the working time of the clock pauses that
// started while it was active (from handed_time until completed_time, or
// `now` while open); an open pause counts up to `now`. The task's due_time
// if it has no handed_time.
absl::Time StageTaskEffectiveDue(
    const onestop::v1::StageTask& task,
    const google::protobuf::RepeatedPtrField<onestop::v1::ClockPause>& pauses, absl::Time now,
    const WorkingCalendar& calendar);

// The control slip of `dossier`, one row per hand-over, oldest first: for
// every stage entered, one row per task (from the agency that forwarded,
// to the task's agency, handed/received times, the stage's effective due
// time — as of `now` for an open task —, completion time and outcome once
// done); then, once forwarded back to the receiving desk, a row with
// stage_index 0 (from the agency that forwarded to the receiving agency,
// due = the dossier's due_time, outcome of finished_time against it once
// the result is ready). Empty for a dossier without stages.
std::vector<onestop::v1::SlipEntry> BuildControlSlip(const onestop::v1::Dossier& dossier,
                                                     const WorkingCalendar& calendar,
                                                     absl::Time now);

// "Trước hạn", "Đúng hạn", "Quá hạn"; "" for UNSPECIFIED. And the English
// snake names "early", "on_time", "late", "" for the CLI's JSON.
std::string StageOutcomeLabelVi(onestop::v1::StageOutcome outcome);
std::string StageOutcomeName(onestop::v1::StageOutcome outcome);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_ROUTE_H_
