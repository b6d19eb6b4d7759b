#include "server/core/route.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/core/deadline.h"
#include "server/util/proto_time.h"

namespace onestop::core {
namespace {

namespace v1 = onestop::v1;

}  // namespace

absl::StatusOr<std::vector<v1::Stage>> ResolveRoute(const v1::Procedure& procedure,
                                                    const v1::Agency& receiving,
                                                    absl::CivilDay day,
                                                    const Catalogue& catalogue) {
  std::vector<v1::Stage> stages;
  for (int s = 0; s < procedure.route_size(); ++s) {
    const v1::RouteStage& route_stage = procedure.route(s);
    v1::Stage& stage = stages.emplace_back();
    stage.set_index(s + 1);
    stage.set_name(route_stage.name());
    *stage.mutable_budget() = route_stage.budget();
    for (const v1::AgencyRef& ref : route_stage.agencies()) {
      absl::StatusOr<const v1::Agency*> agency =
          catalogue.ResolveAgencyRef(ref, receiving, day);
      if (!agency.ok()) {
        return absl::Status(
            agency.status().code(),
            absl::StrCat("cannot route procedure ", procedure.code(), " received by ",
                         DescribeAgency(catalogue, receiving.code()), " on ",
                         FormatCivilDay(day), ": stage ", s + 1, ": ",
                         agency.status().message()));
      }
      v1::StageTask* task = stage.add_tasks();
      task->set_agency_code((*agency)->code());
      task->set_status(v1::STAGE_TASK_STATUS_PENDING);
    }
  }
  return stages;
}

v1::StageOutcome ClassifyStageOutcome(absl::Time completed, absl::Time due,
                                      const WorkingCalendar& calendar) {
  const absl::CivilDay done = calendar.ToLocalDay(completed);
  const absl::CivilDay due_day = calendar.ToLocalDay(due);
  if (done < due_day) return v1::STAGE_OUTCOME_EARLY;
  if (done == due_day) return v1::STAGE_OUTCOME_ON_TIME;
  return v1::STAGE_OUTCOME_LATE;
}

absl::Time StageTaskEffectiveDue(const v1::StageTask& task,
                                 const google::protobuf::RepeatedPtrField<v1::ClockPause>& pauses,
                                 absl::Time now, const WorkingCalendar& calendar) {
  const absl::Time due = FromProtoTime(task.due_time());
  if (!task.has_handed_time()) return due;
  const absl::Time start = FromProtoTime(task.handed_time());
  const absl::Time end =
      task.has_completed_time() ? FromProtoTime(task.completed_time()) : now;
  google::protobuf::RepeatedPtrField<v1::ClockPause> during;
  for (const v1::ClockPause& pause : pauses) {
    if (!pause.has_start_time()) continue;
    const absl::Time pause_start = FromProtoTime(pause.start_time());
    if (pause_start >= start && pause_start < end) *during.Add() = pause;
  }
  return EffectiveDueTime(due, during, end, calendar);
}

std::vector<v1::SlipEntry> BuildControlSlip(const v1::Dossier& dossier,
                                            const WorkingCalendar& calendar, absl::Time now) {
  std::vector<v1::SlipEntry> slip;
  for (const v1::Stage& stage : dossier.stages()) {
    for (const v1::StageTask& task : stage.tasks()) {
      if (task.status() == v1::STAGE_TASK_STATUS_PENDING ||
          task.status() == v1::STAGE_TASK_STATUS_UNSPECIFIED) {
        continue;
      }
      v1::SlipEntry& row = slip.emplace_back();
      row.set_stage_index(stage.index());
      row.set_from_agency_code(task.handed_by_agency_code());
      row.set_to_agency_code(task.agency_code());
      *row.mutable_handed_time() = task.handed_time();
      *row.mutable_received_time() = task.received_time();
      if (task.status() == v1::STAGE_TASK_STATUS_DONE) {
        *row.mutable_due_time() = task.effective_due_time();
        *row.mutable_completed_time() = task.completed_time();
        row.set_outcome(task.outcome());
      } else {
        *row.mutable_due_time() = ToProtoTime(
            StageTaskEffectiveDue(task, dossier.pauses(), now, calendar));
      }
    }
  }
  if (dossier.stages_size() > 0 && dossier.current_stage() > dossier.stages_size()) {
    v1::SlipEntry& row = slip.emplace_back();
    row.set_stage_index(0);
    row.set_from_agency_code(dossier.returned_to_desk_by_agency_code());
    row.set_to_agency_code(dossier.receiving_agency_code());
    *row.mutable_handed_time() = dossier.returned_to_desk_time();
    *row.mutable_received_time() = dossier.returned_to_desk_time();
    *row.mutable_due_time() = dossier.due_time();
    if (dossier.has_finished_time() && dossier.has_due_time()) {
      *row.mutable_completed_time() = dossier.finished_time();
      row.set_outcome(ClassifyStageOutcome(FromProtoTime(dossier.finished_time()),
                                           FromProtoTime(dossier.due_time()), calendar));
    }
  }
  return slip;
}

std::string StageOutcomeLabelVi(v1::StageOutcome outcome) {
  switch (outcome) {
    case v1::STAGE_OUTCOME_EARLY: return "Trước hạn";
    case v1::STAGE_OUTCOME_ON_TIME: return "Đúng hạn";
    case v1::STAGE_OUTCOME_LATE: return "Quá hạn";
    default: return "";
  }
}

std::string StageOutcomeName(v1::StageOutcome outcome) {
  switch (outcome) {
    case v1::STAGE_OUTCOME_EARLY: return "early";
    case v1::STAGE_OUTCOME_ON_TIME: return "on_time";
    case v1::STAGE_OUTCOME_LATE: return "late";
    default: return "";
  }
}

}  // namespace onestop::core
