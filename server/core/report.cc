#include "server/core/report.h"

#include <algorithm>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/core/deadline.h"
#include "server/util/proto_time.h"

namespace onestop::core {
namespace {

namespace v1 = ::onestop::v1;

// ---- Per-dossier facts shared by the counter and the reference paths ----

enum class Ending { kOpen, kResolved, kWithdrawn, kStopped, kRefused };

struct Pause {
  absl::CivilDay start;
  std::optional<absl::CivilDay> end;  // exclusive; nullopt while open
  bool supplement = true;             // else financial obligation
};

struct StageResult {
  std::string agency;
  absl::CivilDay day;
  v1::StageOutcome outcome;
};

// Everything the report needs to know about one dossier, as local dates.
struct Facts {
  bool received = false;
  absl::CivilDay received_day;
  Ending ending = Ending::kOpen;
  absl::CivilDay end_day;  // valid unless kOpen (≥ received_day when received)
  std::optional<absl::CivilDay> due_day;
  std::optional<absl::CivilDay> returned_day;
  v1::Timeliness resolution = v1::TIMELINESS_UNSPECIFIED;  // EARLY/ON_TIME/LATE
  int64_t resolution_working_days = 0;
  std::vector<Pause> pauses;  // clipped to [received_day, end_day), non-empty
  std::vector<StageResult> stages;
  // Digitisation (766): received with every applicant component digitised
  // at reception; resolved with a result document attached.
  bool digitised_at_reception = false;
  bool electronic_result = false;
};

absl::CivilDay Day(const google::protobuf::Timestamp& ts, const WorkingCalendar& calendar) {
  return calendar.ToLocalDay(FromProtoTime(ts));
}

// Whether the dossier's RECEPTION components cover every applicant
// component type (result = false) its procedure lists; when the procedure
// lists none (or is unknown), whether there is at least one. Dossiers
// without components (all those written before components existed) are
// never digitised.
bool DigitisedAtReception(const v1::Dossier& d, const Catalogue& catalogue) {
  std::set<std::string> present;
  for (const v1::DossierComponent& c : d.components()) {
    if (c.stage() == v1::COMPONENT_STAGE_RECEPTION) present.insert(c.component_type());
  }
  if (present.empty()) return false;
  const v1::Procedure* procedure = catalogue.FindProcedure(d.procedure_code());
  if (procedure == nullptr) return true;
  for (const v1::ComponentType& type : procedure->components()) {
    if (!type.result() && present.count(type.code()) == 0) return false;
  }
  return true;
}

bool HasResultComponent(const v1::Dossier& d) {
  for (const v1::DossierComponent& c : d.components()) {
    if (c.stage() == v1::COMPONENT_STAGE_RESULT) return true;
  }
  return false;
}

Facts FactsOf(const v1::Dossier& d, const Catalogue& catalogue) {
  const WorkingCalendar& calendar = catalogue.calendar();
  Facts f;
  if (!d.has_received_time()) {
    if (d.status() == v1::DOSSIER_STATUS_REFUSED && d.has_closed_time()) {
      f.ending = Ending::kRefused;
      f.end_day = Day(d.closed_time(), calendar);
    }
    return f;
  }
  f.received = true;
  f.received_day = Day(d.received_time(), calendar);
  f.digitised_at_reception = DigitisedAtReception(d, catalogue);
  switch (d.status()) {
    case v1::DOSSIER_STATUS_RESULT_READY:
    case v1::DOSSIER_STATUS_RETURNED: {
      const google::protobuf::Timestamp* finish =
          d.has_finished_time() ? &d.finished_time()
                                : (d.has_returned_time() ? &d.returned_time() : nullptr);
      if (finish != nullptr) {
        f.ending = Ending::kResolved;
        f.end_day = Day(*finish, calendar);
      }
      if (d.status() == v1::DOSSIER_STATUS_RETURNED && d.has_returned_time()) {
        f.returned_day = Day(d.returned_time(), calendar);
      }
      break;
    }
    case v1::DOSSIER_STATUS_WITHDRAWN:
    case v1::DOSSIER_STATUS_STOPPED:
    case v1::DOSSIER_STATUS_REFUSED:
      if (d.has_closed_time()) {
        f.ending = d.status() == v1::DOSSIER_STATUS_WITHDRAWN ? Ending::kWithdrawn
                   : d.status() == v1::DOSSIER_STATUS_STOPPED ? Ending::kStopped
                                                                : Ending::kRefused;
        f.end_day = Day(d.closed_time(), calendar);
      }
      break;
    default:
      break;
  }
  if (f.ending != Ending::kOpen) f.end_day = std::max(f.end_day, f.received_day);

  // The due date: with an open pause, the due time before it began (the
  // stored one may include paused time up to the last write).
  const v1::ClockPause* open_pause = nullptr;
  for (const v1::ClockPause& p : d.pauses()) {
    if (p.has_start_time() && !p.has_end_time()) open_pause = &p;
  }
  if (open_pause != nullptr && d.has_original_due_time()) {
    f.due_day = calendar.ToLocalDay(EffectiveDueTime(FromProtoTime(d.original_due_time()),
                                                     d.pauses(),
                                                     FromProtoTime(open_pause->start_time()),
                                                     calendar));
  } else if (d.has_due_time()) {
    f.due_day = Day(d.due_time(), calendar);
  }

  if (f.ending == Ending::kResolved) {
    if (!f.due_day.has_value() || f.end_day == *f.due_day) {
      f.resolution = v1::TIMELINESS_ON_TIME;
    } else {
      f.resolution = f.end_day < *f.due_day ? v1::TIMELINESS_EARLY : v1::TIMELINESS_LATE;
    }
    f.resolution_working_days = calendar.WorkingDaysBetween(f.received_day, f.end_day);
    f.electronic_result = HasResultComponent(d);
  }

  for (const v1::ClockPause& p : d.pauses()) {
    if (!p.has_start_time()) continue;
    Pause pause;
    pause.start = std::max(Day(p.start_time(), calendar), f.received_day);
    if (p.has_end_time()) pause.end = Day(p.end_time(), calendar);
    if (f.ending != Ending::kOpen && (!pause.end.has_value() || *pause.end > f.end_day)) {
      pause.end = f.end_day;
    }
    pause.supplement = p.reason() != v1::ACTION_KIND_REQUEST_PAYMENT;
    if (pause.end.has_value() && *pause.end <= pause.start) continue;
    f.pauses.push_back(pause);
  }
  std::sort(f.pauses.begin(), f.pauses.end(),
            [](const Pause& a, const Pause& b) { return a.start < b.start; });

  for (const v1::Stage& stage : d.stages()) {
    for (const v1::StageTask& task : stage.tasks()) {
      if (task.status() != v1::STAGE_TASK_STATUS_DONE || !task.has_completed_time() ||
          task.outcome() == v1::STAGE_OUTCOME_UNSPECIFIED) {
        continue;
      }
      f.stages.push_back({task.agency_code(), Day(task.completed_time(), calendar),
                          task.outcome()});
    }
  }
  return f;
}

// True if `t` lies in a pause; sets `supplement` to its kind.
bool PausedAt(const Facts& f, absl::CivilDay t, bool* supplement) {
  for (const Pause& p : f.pauses) {
    if (p.start <= t && (!p.end.has_value() || t < *p.end)) {
      *supplement = p.supplement;
      return true;
    }
  }
  return false;
}

int ReceivedSlot(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_DIRECT: return kSlotReceivedDirect;
    case v1::CHANNEL_ONLINE: return kSlotReceivedOnline;
    case v1::CHANNEL_POSTAL: return kSlotReceivedPostal;
    default: return kSlotReceivedUnspecified;
  }
}

int ResolvedSlot(v1::Timeliness t) {
  return t == v1::TIMELINESS_EARLY ? kSlotResolvedEarly
         : t == v1::TIMELINESS_LATE ? kSlotResolvedLate
                                     : kSlotResolvedOnTime;
}

int StageSlot(v1::StageOutcome o) {
  return o == v1::STAGE_OUTCOME_EARLY ? kSlotStageEarly
         : o == v1::STAGE_OUTCOME_LATE ? kSlotStageLate
                                        : kSlotStageOnTime;
}

// ---- Series names ----

std::string ScopeToken(const ReportQuery& q) {
  return q.scope_kind == ReportQuery::ScopeKind::kAgency ? absl::StrCat("t:", q.scope_code)
                                                         : absl::StrCat("l:", q.scope_code);
}

struct Dimensions {
  std::vector<std::string> scopes;  // "t:X" for the chain, "l:L"
  std::string own;                  // "o:A"
  std::string procedure;
  int channel = 0;
};

Dimensions DimensionsOf(const v1::Dossier& d, const Catalogue& catalogue) {
  Dimensions dims;
  const std::string& a = d.receiving_agency_code();
  dims.own = absl::StrCat("o:", a);
  std::string code = a;
  std::set<std::string> seen;  // guards against a cyclic tree
  while (!code.empty() && seen.insert(code).second) {
    dims.scopes.push_back(absl::StrCat("t:", code));
    const v1::Agency* agency = catalogue.FindAgency(code);
    if (agency == nullptr) break;
    code = agency->parent_code();
  }
  if (const v1::Agency* agency = catalogue.FindAgency(a); agency != nullptr) {
    dims.scopes.push_back(absl::StrCat("l:", agency->level()));
  }
  dims.procedure = d.procedure_code();
  dims.channel = static_cast<int>(d.channel());
  return dims;
}

// Per-dossier (day, slot, value) flows, before fan-out to series.
struct Flow {
  absl::CivilDay day;
  int slot;
  int64_t value;
};

std::vector<Flow> FlowsOf(const Facts& f, v1::Channel channel) {
  std::vector<Flow> flows;
  if (!f.received) {
    if (f.ending == Ending::kRefused) flows.push_back({f.end_day, kSlotRefused, 1});
    return flows;
  }
  const bool closed = f.ending != Ending::kOpen;
  flows.push_back({f.received_day, ReceivedSlot(channel), 1});
  if (f.digitised_at_reception) flows.push_back({f.received_day, kSlotReceivedDigitised, 1});
  flows.push_back({f.received_day, kSlotInProgress, 1});
  if (closed) flows.push_back({f.end_day, kSlotInProgress, -1});
  switch (f.ending) {
    case Ending::kResolved:
      flows.push_back({f.end_day, ResolvedSlot(f.resolution), 1});
      flows.push_back({f.end_day, kSlotResolutionWorkingDays, f.resolution_working_days});
      if (f.electronic_result) flows.push_back({f.end_day, kSlotResolvedElectronicResult, 1});
      break;
    case Ending::kWithdrawn: flows.push_back({f.end_day, kSlotWithdrawn, 1}); break;
    case Ending::kStopped: flows.push_back({f.end_day, kSlotStopped, 1}); break;
    case Ending::kRefused:
      flows.push_back({f.end_day, kSlotRefused, 1});
      flows.push_back({f.end_day, kSlotRefusedAfterReception, 1});
      break;
    case Ending::kOpen: break;
  }
  if (f.returned_day.has_value()) flows.push_back({*f.returned_day, kSlotReturned, 1});
  for (const Pause& p : f.pauses) {
    const int slot = p.supplement ? kSlotAwaitingSupplement : kSlotAwaitingFinancial;
    flows.push_back({p.start, slot, 1});
    if (p.end.has_value()) flows.push_back({*p.end, slot, -1});
  }
  // Overdue days: [due + 1, end) minus the pauses (sorted, disjoint).
  if (f.due_day.has_value()) {
    absl::CivilDay cur = std::max(*f.due_day + 1, f.received_day);
    const std::optional<absl::CivilDay> end =
        closed ? std::optional<absl::CivilDay>(f.end_day) : std::nullopt;
    auto emit = [&flows](absl::CivilDay a, std::optional<absl::CivilDay> b) {
      if (b.has_value() && *b <= a) return;
      flows.push_back({a, kSlotOverdue, 1});
      if (b.has_value()) flows.push_back({*b, kSlotOverdue, -1});
    };
    bool open_ended = false;
    for (const Pause& p : f.pauses) {
      if (end.has_value() && cur >= *end) break;
      if (p.end.has_value() && *p.end <= cur) continue;
      if (p.start > cur) {
        std::optional<absl::CivilDay> stop = p.start;
        if (end.has_value() && *end < p.start) stop = end;
        emit(cur, stop);
      }
      if (!p.end.has_value()) {
        open_ended = true;
        break;
      }
      cur = std::max(cur, *p.end);
    }
    if (!open_ended && (!end.has_value() || cur < *end)) emit(cur, end);
  }
  return flows;
}

// Facts and dimensions are everything a contribution depends on.
bool SameFacts(const Facts& a, const Facts& b) {
  auto pause = [](const Pause& p) { return std::tie(p.start, p.end, p.supplement); };
  auto stage = [](const StageResult& r) { return std::tie(r.agency, r.day, r.outcome); };
  if (a.pauses.size() != b.pauses.size() || a.stages.size() != b.stages.size()) return false;
  for (size_t i = 0; i < a.pauses.size(); ++i) {
    if (pause(a.pauses[i]) != pause(b.pauses[i])) return false;
  }
  for (size_t i = 0; i < a.stages.size(); ++i) {
    if (stage(a.stages[i]) != stage(b.stages[i])) return false;
  }
  return std::tie(a.received, a.received_day, a.ending, a.end_day, a.due_day, a.returned_day,
                  a.resolution, a.resolution_working_days, a.digitised_at_reception,
                  a.electronic_result) ==
         std::tie(b.received, b.received_day, b.ending, b.end_day, b.due_day, b.returned_day,
                  b.resolution, b.resolution_working_days, b.digitised_at_reception,
                  b.electronic_result);
}

bool AllZeroValues(const SlotValues& values) {
  return std::all_of(values.begin(), values.end(), [](int64_t v) { return v == 0; });
}
bool AllZero(const SeriesDelta& d) { return AllZeroValues(d.values); }

// Orders `deltas` by (series, day), adds up entries with the same key and
// drops all-zero ones. Sorts indexes, not the entries: an entry is a string
// plus 24 counters, and this runs for every write (profiled).
void Merge(std::vector<SeriesDelta>& deltas) {
  std::vector<uint32_t> order(deltas.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&deltas](uint32_t a, uint32_t b) {
    return std::tie(deltas[a].series, deltas[a].day) < std::tie(deltas[b].series, deltas[b].day);
  });
  std::vector<SeriesDelta> merged;
  merged.reserve(deltas.size());
  for (uint32_t i : order) {
    SeriesDelta& d = deltas[i];
    if (!merged.empty() && merged.back().series == d.series && merged.back().day == d.day) {
      for (int k = 0; k < kReportSlots; ++k) merged.back().values[k] += d.values[k];
    } else {
      merged.push_back(std::move(d));
    }
  }
  merged.erase(std::remove_if(merged.begin(), merged.end(), AllZero), merged.end());
  deltas = std::move(merged);
}

// The contribution of a dossier with these facts, channel and dimensions
// (Contributions). Flows are first summed per day (most fall on the
// received day) and each series name is built once: this runs for every
// write, twice for an update that changes what reports count (profiled).
std::vector<SeriesDelta> ContributionsOf(const Facts& facts, v1::Channel channel,
                                         const Dimensions& dims) {
  std::vector<std::pair<absl::CivilDay, SlotValues>> days;
  for (const Flow& flow : FlowsOf(facts, channel)) {
    auto day = std::find_if(days.begin(), days.end(),
                            [&flow](const auto& d) { return d.first == flow.day; });
    if (day == days.end()) day = days.insert(days.end(), {flow.day, SlotValues{}});
    day->second[flow.slot] += flow.value;
  }
  std::vector<std::string> flow_series;
  flow_series.reserve(1 + 3 * dims.scopes.size());
  flow_series.push_back(absl::StrCat(dims.own, "|*"));
  for (const std::string& scope : dims.scopes) {
    flow_series.push_back(absl::StrCat(scope, "|*"));
    flow_series.push_back(absl::StrCat(scope, "|p|", dims.procedure));
    flow_series.push_back(absl::StrCat(scope, "|c|", dims.channel));
  }
  std::vector<SeriesDelta> deltas;
  deltas.reserve(days.size() * flow_series.size() + facts.stages.size() * dims.scopes.size());
  for (const auto& [day, values] : days) {
    if (AllZeroValues(values)) continue;
    for (const std::string& series : flow_series) deltas.push_back({series, day, values});
  }
  for (const StageResult& stage : facts.stages) {
    for (const std::string& scope : dims.scopes) {
      SeriesDelta& d = deltas.emplace_back();
      d.series = absl::StrCat(scope, "|s|", stage.agency);
      d.day = stage.day;
      d.values[StageSlot(stage.outcome)] = 1;
    }
  }
  Merge(deltas);
  return deltas;
}

// ---- Tallies: what both paths compute per row ----

struct Tally {
  int64_t carried = 0;
  int64_t received[4] = {0, 0, 0, 0};  // direct, online, postal, unspecified
  int64_t early = 0, on_time = 0, late = 0;
  int64_t working_days = 0;
  int64_t in_progress = 0, overdue = 0, awaiting_supplement = 0, awaiting_financial = 0;
  int64_t withdrawn = 0, refused = 0, refused_received = 0, stopped = 0, returned = 0;
  int64_t received_digitised = 0, electronic_result = 0;  // parts of received / resolved

  bool Empty() const {
    return carried == 0 && received[0] == 0 && received[1] == 0 && received[2] == 0 &&
           received[3] == 0 && early == 0 && on_time == 0 && late == 0 && in_progress == 0 &&
           withdrawn == 0 && refused == 0 && stopped == 0 && returned == 0;
  }
  void Add(const Tally& o) {
    carried += o.carried;
    for (int i = 0; i < 4; ++i) received[i] += o.received[i];
    early += o.early;
    on_time += o.on_time;
    late += o.late;
    working_days += o.working_days;
    in_progress += o.in_progress;
    overdue += o.overdue;
    awaiting_supplement += o.awaiting_supplement;
    awaiting_financial += o.awaiting_financial;
    withdrawn += o.withdrawn;
    refused += o.refused;
    refused_received += o.refused_received;
    stopped += o.stopped;
    returned += o.returned;
    received_digitised += o.received_digitised;
    electronic_result += o.electronic_result;
  }
};

Tally TallyFromSums(const SeriesSums& s) {
  Tally t;
  const SlotValues& b = s.before;
  const SlotValues& p = s.period;
  t.carried = b[kSlotInProgress];
  t.received[0] = p[kSlotReceivedDirect];
  t.received[1] = p[kSlotReceivedOnline];
  t.received[2] = p[kSlotReceivedPostal];
  t.received[3] = p[kSlotReceivedUnspecified];
  t.early = p[kSlotResolvedEarly];
  t.on_time = p[kSlotResolvedOnTime];
  t.late = p[kSlotResolvedLate];
  t.working_days = p[kSlotResolutionWorkingDays];
  t.in_progress = b[kSlotInProgress] + p[kSlotInProgress];
  t.overdue = b[kSlotOverdue] + p[kSlotOverdue];
  t.awaiting_supplement = b[kSlotAwaitingSupplement] + p[kSlotAwaitingSupplement];
  t.awaiting_financial = b[kSlotAwaitingFinancial] + p[kSlotAwaitingFinancial];
  t.withdrawn = p[kSlotWithdrawn];
  t.refused = p[kSlotRefused];
  t.refused_received = p[kSlotRefusedAfterReception];
  t.stopped = p[kSlotStopped];
  t.returned = p[kSlotReturned];
  t.received_digitised = p[kSlotReceivedDigitised];
  t.electronic_result = p[kSlotResolvedElectronicResult];
  return t;
}

// The reference predicates for one dossier and [from, to].
Tally TallyOfDossier(const Facts& f, v1::Channel channel, absl::CivilDay from,
                     absl::CivilDay to) {
  Tally t;
  auto in_period = [&](absl::CivilDay d) { return from <= d && d <= to; };
  if (!f.received) {
    if (f.ending == Ending::kRefused && in_period(f.end_day)) t.refused = 1;
    return t;
  }
  const bool closed = f.ending != Ending::kOpen;
  if (f.received_day < from && (!closed || f.end_day >= from)) t.carried = 1;
  if (in_period(f.received_day)) {
    const int slot = ReceivedSlot(channel);
    t.received[slot == kSlotReceivedDirect   ? 0
               : slot == kSlotReceivedOnline ? 1
               : slot == kSlotReceivedPostal ? 2
                                             : 3] = 1;
    if (f.digitised_at_reception) t.received_digitised = 1;
  }
  if (closed && in_period(f.end_day)) {
    switch (f.ending) {
      case Ending::kResolved:
        if (f.resolution == v1::TIMELINESS_EARLY) t.early = 1;
        else if (f.resolution == v1::TIMELINESS_LATE) t.late = 1;
        else t.on_time = 1;
        t.working_days = f.resolution_working_days;
        if (f.electronic_result) t.electronic_result = 1;
        break;
      case Ending::kWithdrawn: t.withdrawn = 1; break;
      case Ending::kStopped: t.stopped = 1; break;
      case Ending::kRefused: t.refused = 1; t.refused_received = 1; break;
      case Ending::kOpen: break;
    }
  }
  if (f.returned_day.has_value() && in_period(*f.returned_day)) t.returned = 1;
  if (f.received_day <= to && (!closed || f.end_day > to)) {
    t.in_progress = 1;
    bool supplement = false;
    if (PausedAt(f, to, &supplement)) {
      (supplement ? t.awaiting_supplement : t.awaiting_financial) = 1;
    } else if (f.due_day.has_value() && *f.due_day < to) {
      t.overdue = 1;
    }
  }
  return t;
}

v1::Rate MakeRate(int64_t numerator, int64_t denominator) {
  v1::Rate rate;
  rate.set_numerator(numerator);
  rate.set_denominator(denominator);
  rate.set_percent(denominator == 0 ? 0.0
                                    : 100.0 * static_cast<double>(numerator) /
                                          static_cast<double>(denominator));
  return rate;
}

v1::CompletionColumns Columns(const Tally& t, v1::WithdrawnPolicy policy) {
  v1::CompletionColumns c;
  const bool withdrawn_on_time = policy == v1::WITHDRAWN_POLICY_ON_TIME;
  c.set_carried_over(t.carried);
  c.set_received_direct(t.received[0] + t.received[3]);
  c.set_received_online(t.received[1]);
  c.set_received_postal(t.received[2]);
  const int64_t received = t.received[0] + t.received[1] + t.received[2] + t.received[3];
  c.set_received_total(received);
  const int64_t to_handle = t.carried + received;
  c.set_to_handle(to_handle);
  c.set_resolved_early(t.early);
  c.set_resolved_on_time(t.on_time + (withdrawn_on_time ? t.withdrawn : 0));
  c.set_resolved_late(t.late);
  c.set_resolved_total(c.resolved_early() + c.resolved_on_time() + c.resolved_late());
  c.set_in_progress_overdue(t.overdue);
  c.set_awaiting_supplement(t.awaiting_supplement);
  c.set_awaiting_financial_obligation(t.awaiting_financial);
  c.set_in_progress_within_deadline(t.in_progress - t.overdue - t.awaiting_supplement -
                                    t.awaiting_financial);
  c.set_in_progress_total(t.in_progress);
  c.set_withdrawn(t.withdrawn);
  c.set_refused(t.refused);
  c.set_stopped(t.stopped);
  c.set_returned(t.returned);
  *c.mutable_completion_rate() = MakeRate(c.resolved_total(), to_handle);
  *c.mutable_on_time_rate_over_resolved() =
      MakeRate(c.resolved_early() + c.resolved_on_time(), c.resolved_total());
  *c.mutable_late_rate_over_to_handle() = MakeRate(t.late + t.overdue, to_handle);
  const int64_t really_resolved = t.early + t.on_time + t.late;
  c.set_average_resolution_working_days(
      really_resolved == 0 ? 0.0
                           : static_cast<double>(t.working_days) /
                                 static_cast<double>(really_resolved));
  *c.mutable_online_share() = MakeRate(t.received[1], received);
  c.set_received_digitised(t.received_digitised);
  *c.mutable_received_digitised_share() = MakeRate(t.received_digitised, received);
  c.set_resolved_with_electronic_result(t.electronic_result);
  *c.mutable_electronic_result_share() = MakeRate(t.electronic_result, really_resolved);
  return c;
}

// ---- Shared assembly ----

struct StageTally {
  int64_t early = 0, on_time = 0, late = 0;
};

struct Accumulator {
  std::map<std::string, Tally> rows;
  Tally total;
  std::map<std::string, StageTally> stages;
  std::map<std::string, Tally> procedures;  // for the 766 resolution times
};

std::string LevelName(const Catalogue& catalogue, const std::string& level) {
  for (const auto& l : catalogue.levels()) {
    if (l.code() == level) return l.name().empty() ? level : l.name();
  }
  return level;
}

std::string ChannelKey(int channel) {
  switch (channel) {
    case v1::CHANNEL_DIRECT: return "direct";
    case v1::CHANNEL_ONLINE: return "online";
    case v1::CHANNEL_POSTAL: return "postal";
    default: return "unspecified";
  }
}

std::string FieldOf(const Catalogue& catalogue, const std::string& procedure) {
  const v1::Procedure* p = catalogue.FindProcedure(procedure);
  return p == nullptr || p->field().empty() ? "(không rõ lĩnh vực)" : p->field();
}

std::string RowLabel(const ReportQuery& q, const Catalogue& catalogue, const std::string& key) {
  switch (q.group_by) {
    case v1::REPORT_GROUP_BY_AGENCY: {
      const v1::Agency* a = catalogue.FindAgency(key);
      return a == nullptr ? key : a->name();
    }
    case v1::REPORT_GROUP_BY_LEVEL: return LevelName(catalogue, key);
    case v1::REPORT_GROUP_BY_PROCEDURE: {
      const v1::Procedure* p = catalogue.FindProcedure(key);
      return p == nullptr ? key : p->name();
    }
    case v1::REPORT_GROUP_BY_CHANNEL:
      if (key == "direct") return ChannelLabelVi(v1::CHANNEL_DIRECT);
      if (key == "online") return ChannelLabelVi(v1::CHANNEL_ONLINE);
      if (key == "postal") return ChannelLabelVi(v1::CHANNEL_POSTAL);
      return ChannelLabelVi(v1::CHANNEL_UNSPECIFIED);
    case v1::REPORT_GROUP_BY_FIELD: return key;
    default: return "Tổng cộng";
  }
}

v1::GetCompletionReportResponse Finish(const ReportQuery& q, const Catalogue& catalogue,
                                       const Accumulator& acc) {
  v1::GetCompletionReportResponse r;
  r.set_scope_label(q.scope_kind == ReportQuery::ScopeKind::kAgency
                        ? DescribeAgency(catalogue, q.scope_code)
                        : absl::StrCat(LevelName(catalogue, q.scope_code), " (", q.scope_code,
                                       ")"));
  *r.mutable_from() = ToDateProto(q.from);
  *r.mutable_to() = ToDateProto(q.to);
  r.set_group_by(q.group_by);
  r.set_withdrawn_policy(q.withdrawn_policy);
  for (const auto& [key, tally] : acc.rows) {
    if (tally.Empty()) continue;
    v1::CompletionReportRow* row = r.add_rows();
    row->set_key(key);
    row->set_label(RowLabel(q, catalogue, key));
    *row->mutable_columns() = Columns(tally, q.withdrawn_policy);
  }
  r.mutable_total()->set_label("Tổng cộng");
  *r.mutable_total()->mutable_columns() = Columns(acc.total, q.withdrawn_policy);

  std::vector<std::pair<std::string, StageTally>> stages;
  for (const auto& [agency, s] : acc.stages) {
    if (s.early + s.on_time + s.late > 0) stages.emplace_back(agency, s);
  }
  std::stable_sort(stages.begin(), stages.end(), [](const auto& a, const auto& b) {
    return a.second.late > b.second.late;
  });
  for (const auto& [agency, s] : stages) {
    v1::StageLateness* out = r.add_late_stages();
    out->set_agency_code(agency);
    const v1::Agency* a = catalogue.FindAgency(agency);
    out->set_agency_name(a == nullptr ? agency : a->name());
    out->set_early(s.early);
    out->set_on_time(s.on_time);
    out->set_late(s.late);
    *out->mutable_late_share() = MakeRate(s.late, s.early + s.on_time + s.late);
  }

  v1::ProgressIndicators* ind = r.mutable_indicators();
  *ind->mutable_early_or_on_time_share() = r.total().columns().on_time_rate_over_resolved();
  *ind->mutable_online_share() = r.total().columns().online_share();
  *ind->mutable_received_digitised_share() = r.total().columns().received_digitised_share();
  *ind->mutable_electronic_result_share() = r.total().columns().electronic_result_share();
  for (const auto& [procedure, t] : acc.procedures) {
    const int64_t resolved = t.early + t.on_time + t.late;
    if (resolved == 0) continue;
    v1::ProcedureResolutionTime* out = ind->add_resolution_time();
    out->set_procedure_code(procedure);
    const v1::Procedure* p = catalogue.FindProcedure(procedure);
    out->set_procedure_name(p == nullptr ? procedure : p->name());
    out->set_resolved(resolved);
    out->set_average_working_days(static_cast<double>(t.working_days) /
                                  static_cast<double>(resolved));
  }
  return r;
}

// The agencies whose own rows make up a scope (group_by agency / level).
std::vector<std::string> OwnAgencies(const ReportQuery& q, const Catalogue& catalogue) {
  if (q.scope_kind == ReportQuery::ScopeKind::kAgency) return catalogue.SubtreeCodes(q.scope_code);
  std::vector<std::string> codes;
  for (const v1::Agency& a : catalogue.agencies()) {
    if (a.level() == q.scope_code) codes.push_back(a.code());
  }
  return codes;
}

bool InScope(const ReportQuery& q, const Catalogue& catalogue, const v1::Dossier& d) {
  if (q.scope_kind == ReportQuery::ScopeKind::kAgency) {
    return catalogue.IsInSubtree(d.receiving_agency_code(), q.scope_code);
  }
  const v1::Agency* a = catalogue.FindAgency(d.receiving_agency_code());
  return a != nullptr && a->level() == q.scope_code;
}

std::string GroupKeyOf(const ReportQuery& q, const Catalogue& catalogue, const v1::Dossier& d) {
  switch (q.group_by) {
    case v1::REPORT_GROUP_BY_AGENCY: return d.receiving_agency_code();
    case v1::REPORT_GROUP_BY_LEVEL: {
      const v1::Agency* a = catalogue.FindAgency(d.receiving_agency_code());
      return a == nullptr ? "" : a->level();
    }
    case v1::REPORT_GROUP_BY_PROCEDURE: return d.procedure_code();
    case v1::REPORT_GROUP_BY_CHANNEL: return ChannelKey(static_cast<int>(d.channel()));
    case v1::REPORT_GROUP_BY_FIELD: return FieldOf(catalogue, d.procedure_code());
    default: return "";
  }
}

}  // namespace

std::string ChannelLabelVi(v1::Channel channel) {
  switch (channel) {
    case v1::CHANNEL_ONLINE: return "Trực tuyến";
    case v1::CHANNEL_DIRECT: return "Trực tiếp";
    case v1::CHANNEL_POSTAL: return "Bưu chính";
    default: return "Không rõ";
  }
}

std::vector<SeriesDelta> Contributions(const v1::Dossier& dossier, const Catalogue& catalogue) {
  return ContributionsOf(FactsOf(dossier, catalogue), dossier.channel(),
                         DimensionsOf(dossier, catalogue));
}

std::vector<SeriesDelta> ContributionChange(const v1::Dossier* before, const v1::Dossier& after,
                                            const Catalogue& catalogue) {
  const Facts after_facts = FactsOf(after, catalogue);
  std::optional<Facts> before_facts;
  if (before != nullptr) {
    before_facts = FactsOf(*before, catalogue);
    // Most writes (a hand-over, a decision, a note) change nothing a
    // report counts: the same facts and dimensions give the same
    // contribution, so the change is empty without fanning either out.
    if (SameFacts(*before_facts, after_facts) &&
        before->receiving_agency_code() == after.receiving_agency_code() &&
        before->procedure_code() == after.procedure_code() &&
        before->channel() == after.channel()) {
      return {};
    }
  }
  std::vector<SeriesDelta> added =
      ContributionsOf(after_facts, after.channel(), DimensionsOf(after, catalogue));
  if (before == nullptr) return added;
  std::vector<SeriesDelta> removed =
      ContributionsOf(*before_facts, before->channel(), DimensionsOf(*before, catalogue));
  // Both are ordered by (series, day) and merged: one linear pass.
  std::vector<SeriesDelta> change;
  change.reserve(added.size() + removed.size());
  size_t i = 0, j = 0;
  while (i < added.size() || j < removed.size()) {
    const bool take_added =
        j == removed.size() ||
        (i < added.size() && std::tie(added[i].series, added[i].day) <
                                 std::tie(removed[j].series, removed[j].day));
    const bool take_removed =
        i == added.size() ||
        (j < removed.size() && std::tie(removed[j].series, removed[j].day) <
                                   std::tie(added[i].series, added[i].day));
    if (take_added) {
      change.push_back(std::move(added[i++]));
    } else if (take_removed) {
      SeriesDelta& d = change.emplace_back(std::move(removed[j++]));
      for (int64_t& v : d.values) v = -v;
    } else {  // the same key on both sides
      SeriesDelta& d = change.emplace_back(std::move(added[i++]));
      const SeriesDelta& r = removed[j++];
      for (int k = 0; k < kReportSlots; ++k) d.values[k] -= r.values[k];
      if (AllZero(d)) change.pop_back();
    }
  }
  return change;
}

absl::StatusOr<ReportQuery> ParseReportRequest(const v1::GetCompletionReportRequest& request,
                                               const Catalogue& catalogue,
                                               v1::WithdrawnPolicy default_policy) {
  ReportQuery q;
  switch (request.scope_case()) {
    case v1::GetCompletionReportRequest::kAgencyCode:
      if (request.agency_code().empty()) {
        return absl::InvalidArgumentError("scope: agency_code is empty; name an agency or a level");
      }
      if (catalogue.FindAgency(request.agency_code()) == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("no agency with code \"", request.agency_code(), "\""));
      }
      q.scope_kind = ReportQuery::ScopeKind::kAgency;
      q.scope_code = request.agency_code();
      break;
    case v1::GetCompletionReportRequest::kLevel: {
      if (request.level().empty()) {
        return absl::InvalidArgumentError("scope: level is empty; name an agency or a level");
      }
      bool known = false;
      for (const auto& l : catalogue.levels()) known = known || l.code() == request.level();
      if (!known) {
        return absl::NotFoundError(absl::StrCat("no level \"", request.level(), "\""));
      }
      q.scope_kind = ReportQuery::ScopeKind::kLevel;
      q.scope_code = request.level();
      break;
    }
    default:
      return absl::InvalidArgumentError(
          "scope is required: an agency (with everything below it) or a level");
  }
  auto date = [](const v1::Date& d, const char* name) -> absl::StatusOr<absl::CivilDay> {
    const absl::CivilDay day(d.year(), d.month(), d.day());
    if (d.year() == 0 || day.year() != d.year() || day.month() != d.month() ||
        day.day() != d.day()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: %04d-%02d-%02d is not a date", name, d.year(), d.month(), d.day()));
    }
    if (day < absl::CivilDay(1901, 1, 1) || day > absl::CivilDay(9999, 12, 31)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": dates must lie within 1901-01-01..9999-12-31"));
    }
    return day;
  };
  if (!request.has_from() || !request.has_to()) {
    return absl::InvalidArgumentError("the period needs both from and to dates");
  }
  absl::StatusOr<absl::CivilDay> from = date(request.from(), "from");
  if (!from.ok()) return from.status();
  absl::StatusOr<absl::CivilDay> to = date(request.to(), "to");
  if (!to.ok()) return to.status();
  if (*from > *to) {
    return absl::InvalidArgumentError(absl::StrCat("the period is reversed: from ",
                                                   FormatCivilDay(*from), " is after to ",
                                                   FormatCivilDay(*to)));
  }
  q.from = *from;
  q.to = *to;
  if (!v1::ReportGroupBy_IsValid(request.group_by())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown group_by ", request.group_by()));
  }
  q.group_by = request.group_by() == v1::REPORT_GROUP_BY_UNSPECIFIED ? v1::REPORT_GROUP_BY_NONE
                                                                     : request.group_by();
  if (!v1::WithdrawnPolicy_IsValid(request.withdrawn_policy())) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown withdrawn_policy ", request.withdrawn_policy()));
  }
  q.withdrawn_policy = request.withdrawn_policy() == v1::WITHDRAWN_POLICY_UNSPECIFIED
                           ? default_policy
                           : request.withdrawn_policy();
  if (q.withdrawn_policy == v1::WITHDRAWN_POLICY_UNSPECIFIED) {
    q.withdrawn_policy = v1::WITHDRAWN_POLICY_NOT_RESOLVED;
  }
  return q;
}

CounterPlan PlanReport(const ReportQuery& q, const Catalogue& catalogue) {
  CounterPlan plan;
  const std::string scope = ScopeToken(q);
  plan.series.push_back(absl::StrCat(scope, "|*"));
  plan.series_prefixes.push_back(absl::StrCat(scope, "|p|"));
  plan.series_prefixes.push_back(absl::StrCat(scope, "|s|"));
  switch (q.group_by) {
    case v1::REPORT_GROUP_BY_AGENCY:
    case v1::REPORT_GROUP_BY_LEVEL:
      for (const std::string& code : OwnAgencies(q, catalogue)) {
        plan.series.push_back(absl::StrCat("o:", code, "|*"));
      }
      break;
    case v1::REPORT_GROUP_BY_CHANNEL:
      for (int c = 0; c <= 3; ++c) plan.series.push_back(absl::StrCat(scope, "|c|", c));
      break;
    default:
      break;
  }
  plan.before_first = kEarliestReportDay;
  plan.before_last = q.from - 1;
  plan.period_first = q.from;
  plan.period_last = q.to;
  return plan;
}

v1::GetCompletionReportResponse BuildReportFromCounters(
    const ReportQuery& q, const Catalogue& catalogue,
    const std::map<std::string, SeriesSums>& sums) {
  Accumulator acc;
  const std::string scope = ScopeToken(q);
  const std::string total = absl::StrCat(scope, "|*");
  const std::string procedure_prefix = absl::StrCat(scope, "|p|");
  const std::string stage_prefix = absl::StrCat(scope, "|s|");
  const std::string channel_prefix = absl::StrCat(scope, "|c|");
  std::set<std::string> own;
  if (q.group_by == v1::REPORT_GROUP_BY_AGENCY || q.group_by == v1::REPORT_GROUP_BY_LEVEL) {
    for (const std::string& code : OwnAgencies(q, catalogue)) own.insert(code);
  }
  for (const auto& [series, s] : sums) {
    if (series == total) {
      acc.total = TallyFromSums(s);
      if (q.group_by == v1::REPORT_GROUP_BY_NONE) acc.rows[""].Add(acc.total);
    } else if (absl::StartsWith(series, procedure_prefix)) {
      const std::string procedure = series.substr(procedure_prefix.size());
      const Tally t = TallyFromSums(s);
      acc.procedures[procedure].Add(t);
      if (q.group_by == v1::REPORT_GROUP_BY_PROCEDURE) acc.rows[procedure].Add(t);
      if (q.group_by == v1::REPORT_GROUP_BY_FIELD) acc.rows[FieldOf(catalogue, procedure)].Add(t);
    } else if (absl::StartsWith(series, stage_prefix)) {
      StageTally& st = acc.stages[series.substr(stage_prefix.size())];
      st.early += s.period[kSlotStageEarly];
      st.on_time += s.period[kSlotStageOnTime];
      st.late += s.period[kSlotStageLate];
    } else if (absl::StartsWith(series, channel_prefix) &&
               q.group_by == v1::REPORT_GROUP_BY_CHANNEL) {
      int channel = 0;
      const std::string n = series.substr(channel_prefix.size());
      channel = n.size() == 1 && n[0] >= '0' && n[0] <= '3' ? n[0] - '0' : 0;
      acc.rows[ChannelKey(channel)].Add(TallyFromSums(s));
    } else if (absl::StartsWith(series, "o:") && absl::EndsWith(series, "|*")) {
      const std::string code = series.substr(2, series.size() - 4);
      if (own.count(code) == 0) continue;
      if (q.group_by == v1::REPORT_GROUP_BY_AGENCY) {
        acc.rows[code].Add(TallyFromSums(s));
      } else {
        const v1::Agency* a = catalogue.FindAgency(code);
        acc.rows[a == nullptr ? "" : a->level()].Add(TallyFromSums(s));
      }
    }
  }
  return Finish(q, catalogue, acc);
}

v1::GetCompletionReportResponse RecomputeReport(const std::vector<v1::Dossier>& dossiers,
                                                const ReportQuery& q,
                                                const Catalogue& catalogue) {
  Accumulator acc;
  for (const v1::Dossier& d : dossiers) {
    if (!InScope(q, catalogue, d)) continue;
    const Facts f = FactsOf(d, catalogue);
    const Tally t = TallyOfDossier(f, d.channel(), q.from, q.to);
    acc.total.Add(t);
    acc.rows[GroupKeyOf(q, catalogue, d)].Add(t);
    acc.procedures[d.procedure_code()].Add(t);
    for (const StageResult& s : f.stages) {
      if (s.day < q.from || s.day > q.to) continue;
      StageTally& st = acc.stages[s.agency];
      (s.outcome == v1::STAGE_OUTCOME_EARLY  ? st.early
       : s.outcome == v1::STAGE_OUTCOME_LATE ? st.late
                                             : st.on_time) += 1;
    }
  }
  return Finish(q, catalogue, acc);
}

}  // namespace onestop::core
