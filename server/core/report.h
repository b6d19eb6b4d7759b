// Completion and on-time reports (issue #5; DOMAIN.md §9, docs/REPORTS.md):
// the ONE place where report arithmetic lives. Pure: values in, values out;
// no clock, no I/O, no SQL.
//
// How a report stays cheap. Every dossier contributes a fixed set of
// signed counter deltas that depends only on its current state (and the
// catalogue): Contributions(). A write adds Contributions(after) −
// Contributions(before) to named counter series in the same transaction
// (server/service/aggregating_dossier_store.h), so the counters always
// equal the sum over all dossiers of their contributions. Flows (received,
// resolved, withdrawn, …) are +1 on the day they happen; stocks (in
// progress, overdue, awaiting the applicant) are +1 on the day they start
// and −1 on the day they end, so a stock at the end of day T is the sum of
// its deltas up to T. A report over [from, to] then needs, per series, two
// sums: everything up to from − 1 (the carried-over stock) and the period.
//
// Series (opaque to the store), for a dossier received by agency A at
// level L, procedure P, channel C, and every X in {A and its ancestors}:
//   o:A|*        A's own desk                  (rows of group_by agency/level)
//   t:X|*        X's subtree                   (the scope total)
//   t:X|p|P      X's subtree by procedure      (group_by procedure/field, 766)
//   t:X|c|C      X's subtree by channel        (group_by channel)
//   t:X|s|G      stage tasks of agency G on X's subtree's dossiers
//   l:L|*, l:L|p|P, l:L|c|C, l:L|s|G           the same for the level scope
// A district's report reads t:district|*, never its communes' rows.
//
// Day semantics: every instant becomes a local date through the
// catalogue's calendar. "At the end of day T". A dossier is received on the
// date of received_time; resolved on the date of finished_time (result
// ready; returned_time if finished_time is unset); closed (withdrawn,
// stopped, refused) on the date of closed_time. Early / on time / late
// compare the resolution date with the date of the effective due time.
// Digitised at reception / electronic result: see kSlotReceivedDigitised
// and kSlotResolvedElectronicResult (the procedure's component list comes
// from the catalogue). Overdue at T: in progress at T, not awaiting the applicant at T, and T
// after the due date. Awaiting at T: a clock pause (supplement: reason
// REQUEST_SUPPLEMENT; financial obligation: REQUEST_PAYMENT) whose start
// date ≤ T < its end date.
//
// Thread safety: stateless functions over immutable inputs.
#ifndef ONESTOP_SERVER_CORE_REPORT_H_
#define ONESTOP_SERVER_CORE_REPORT_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "onestop/v1/dossier.pb.h"
#include "onestop/v1/report_service.pb.h"
#include "server/core/catalogue.h"

namespace onestop::core {

// Counter slots. The numbers are persisted: never renumber, only add.
enum ReportSlot : int {
  kSlotReceivedDirect = 0,
  kSlotReceivedOnline = 1,
  kSlotReceivedPostal = 2,
  kSlotReceivedUnspecified = 3,
  kSlotInProgress = 4,  // stock: +1 received, −1 closed
  kSlotResolvedEarly = 5,
  kSlotResolvedOnTime = 6,
  kSlotResolvedLate = 7,
  kSlotOverdue = 8,              // stock
  kSlotAwaitingSupplement = 9,   // stock
  kSlotAwaitingFinancial = 10,   // stock
  kSlotWithdrawn = 11,           // withdrawn after reception
  kSlotRefused = 12,             // every refusal (Form 03), received or not
  kSlotStopped = 13,
  kSlotReturned = 14,
  kSlotResolutionWorkingDays = 15,  // sum over resolved dossiers
  kSlotStageEarly = 16,             // t:X|s|G and l:L|s|G series only
  kSlotStageOnTime = 17,
  kSlotStageLate = 18,
  kSlotRefusedAfterReception = 19,  // the part of kSlotRefused that was received
  // Digitisation (the 766 "số hóa hồ sơ" group; docs/REPORTS.md). Flows.
  // Dossiers written before components existed have none, so their
  // contribution to these two slots is 0 both before and after any write:
  // counters stored before the slots were added stay equal to the sum of
  // the contributions without a rebuild.
  //   20: a received dossier whose reception components (stage RECEPTION)
  //       cover every applicant component type (result = false) its
  //       procedure lists, or, when it lists none, include at least one;
  //       +1 on the received day (a part of the received slots 0..3).
  //   21: a resolved dossier (result ready / returned) with at least one
  //       RESULT component; +1 on the resolution day (a part of 5..7).
  kSlotReceivedDigitised = 20,
  kSlotResolvedElectronicResult = 21,
};
// Slots per series; equals storage::kCounterSlots (checked where both meet).
inline constexpr int kReportSlots = 24;
using SlotValues = std::array<int64_t, kReportSlots>;

// The earliest day a counter carries (= storage::kEarliestCounterDay).
inline constexpr absl::CivilDay kEarliestReportDay = absl::CivilDay(1900, 1, 1);

// A signed change to one series on one day.
struct SeriesDelta {
  std::string series = "";
  absl::CivilDay day = absl::CivilDay(1970, 1, 1);
  SlotValues values = {};
};

// The whole contribution of `dossier` in its current state, merged by
// (series, day), without all-zero entries, ordered by (series, day). A
// dossier never received contributes only a refusal (if refused). An
// agency missing from the catalogue contributes to its own o:/t: series
// only.
std::vector<SeriesDelta> Contributions(const onestop::v1::Dossier& dossier,
                                       const Catalogue& catalogue);

// Contributions(after) − Contributions(before) (before null: a new
// dossier), merged, without all-zero entries, ordered by (series, day).
std::vector<SeriesDelta> ContributionChange(const onestop::v1::Dossier* before,
                                            const onestop::v1::Dossier& after,
                                            const Catalogue& catalogue);

// A validated report request.
struct ReportQuery {
  enum class ScopeKind { kAgency, kLevel };
  ScopeKind scope_kind = ScopeKind::kAgency;
  // Agency code or level code.
  std::string scope_code = "";
  absl::CivilDay from = absl::CivilDay(1970, 1, 1);
  absl::CivilDay to = absl::CivilDay(1970, 1, 1);
  onestop::v1::ReportGroupBy group_by = onestop::v1::REPORT_GROUP_BY_NONE;
  // Never UNSPECIFIED.
  onestop::v1::WithdrawnPolicy withdrawn_policy = onestop::v1::WITHDRAWN_POLICY_NOT_RESOLVED;
};

// Validates `request` against the catalogue. `default_policy` replaces an
// UNSPECIFIED withdrawn_policy (itself never UNSPECIFIED). Errors:
// INVALID_ARGUMENT for no scope (empty agency and level), a missing or
// impossible date, from > to, a date before 1901-01-01 or after
// 9999-12-31, an unknown group_by or policy value; NOT_FOUND for an
// unknown agency or level.
absl::StatusOr<ReportQuery> ParseReportRequest(const onestop::v1::GetCompletionReportRequest& request,
                                               const Catalogue& catalogue,
                                               onestop::v1::WithdrawnPolicy default_policy);

// What to read from the counters for `query`: exact series and prefixes,
// each summed over kEarliestReportDay..from−1 (index 0) and from..to
// (index 1).
struct CounterPlan {
  std::vector<std::string> series;
  std::vector<std::string> series_prefixes;
  absl::CivilDay before_first = kEarliestReportDay;
  absl::CivilDay before_last = kEarliestReportDay;  // from − 1
  absl::CivilDay period_first = kEarliestReportDay;
  absl::CivilDay period_last = kEarliestReportDay;
};
CounterPlan PlanReport(const ReportQuery& query, const Catalogue& catalogue);

// The sums of one series: before the period (up to from − 1) and in it.
struct SeriesSums {
  SlotValues before = {};
  SlotValues period = {};
};

// Builds the report from the sums of the series PlanReport named (series
// absent from `sums` are zero; series the plan does not know are ignored).
onestop::v1::GetCompletionReportResponse BuildReportFromCounters(
    const ReportQuery& query, const Catalogue& catalogue,
    const std::map<std::string, SeriesSums>& sums);

// The reference: the same report computed from the raw dossiers with the
// predicates above evaluated directly, for tests and for checking the
// counters (a from-scratch recomputation).
onestop::v1::GetCompletionReportResponse RecomputeReport(
    const std::vector<onestop::v1::Dossier>& dossiers, const ReportQuery& query,
    const Catalogue& catalogue);

// "Trực tuyến", "Trực tiếp", "Bưu chính", "Không rõ".
std::string ChannelLabelVi(onestop::v1::Channel channel);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_REPORT_H_
