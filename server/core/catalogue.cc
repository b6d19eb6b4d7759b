#include "server/core/catalogue.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/core/validation.h"
#include "server/util/error_info.h"

namespace onestop::core {
namespace {

using onestop::config::v1::Config;
using onestop::v1::Agency;
using onestop::v1::Date;
using onestop::v1::Procedure;

class ProblemList {
 public:
  void Add(std::vector<std::pair<std::string, int>> steps, std::string message) {
    problems_.push_back(ConfigProblem{ConfigFieldPath{std::move(steps)}, std::move(message)});
  }
  bool empty() const { return problems_.empty(); }
  std::vector<ConfigProblem> Take() { return std::move(problems_); }

 private:
  std::vector<ConfigProblem> problems_;
};

std::string FormatDay(absl::CivilDay day) {
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

bool IsUnset(const Date& date) {
  return date.year() == 0 && date.month() == 0 && date.day() == 0;
}

// A set Date must name a real day: CivilDay normalises 2021-02-30 to
// 2021-03-02, so a round trip exposes impossible dates.
bool IsRealDate(const Date& date) {
  if (date.month() < 1 || date.month() > 12 || date.day() < 1 || date.day() > 31 ||
      date.year() < 1 || date.year() > 9999) {
    return false;
  }
  const absl::CivilDay day(date.year(), date.month(), date.day());
  return day.year() == date.year() && day.month() == date.month() && day.day() == date.day();
}

// Agency and procedure codes appear in dossier codes and on the command
// line: printable ASCII without spaces keeps them unambiguous.
bool IsWellFormedCode(const std::string& code) {
  if (code.empty() || code.size() > kMaxCodeBytes) return false;
  for (char c : code) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// Checks a name field: required, single-line, valid UTF-8.
void CheckName(ProblemList& problems, const std::string& list, int index,
               const std::string& what, const std::string& name) {
  absl::Status status = ValidateText("name", name, kMaxNameBytes, Requirement::kRequired);
  if (!status.ok()) {
    problems.Add({{list, index}, {"name", -1}},
                 absl::StrCat(what, ": ", status.message()));
  }
}

// The interval [from, to] of an agency; nullopt ends are unbounded.
struct Interval {
  std::optional<absl::CivilDay> from;
  std::optional<absl::CivilDay> to;
};

// True if `inner` lies within `outer`.
bool Contains(const Interval& outer, const Interval& inner) {
  if (outer.from && (!inner.from || *inner.from < *outer.from)) return false;
  if (outer.to && (!inner.to || *inner.to > *outer.to)) return false;
  return true;
}

std::string DescribeInterval(const Interval& interval) {
  return absl::StrCat(interval.from ? FormatDay(*interval.from) : "the beginning", " to ",
                      interval.to ? FormatDay(*interval.to) : "no end date");
}

Interval IntervalOf(const Date& from, const Date& to) {
  return Interval{ToCivilDay(from), ToCivilDay(to)};
}

// The overlap of two intervals, or nullopt if they do not meet.
std::optional<Interval> Intersect(const Interval& a, const Interval& b) {
  Interval out;
  out.from = !a.from ? b.from : !b.from ? a.from : std::max(*a.from, *b.from);
  out.to = !a.to ? b.to : !b.to ? a.to : std::min(*a.to, *b.to);
  if (out.from && out.to && *out.to < *out.from) return std::nullopt;
  return out;
}

bool IntervalContains(const Interval& interval, absl::CivilDay day) {
  return (!interval.from || day >= *interval.from) && (!interval.to || day <= *interval.to);
}

std::string RefDescription(const onestop::v1::AgencyRef& ref) {
  if (!ref.agency_code().empty()) return absl::StrCat("agency ", ref.agency_code());
  std::string unit;
  switch (ref.unit()) {
    case onestop::v1::RELATIVE_UNIT_RECEIVING: unit = "the receiving unit"; break;
    case onestop::v1::RELATIVE_UNIT_PARENT: unit = "the parent of the receiving unit"; break;
    case onestop::v1::RELATIVE_UNIT_ROOT: unit = "the province of the receiving unit"; break;
    case onestop::v1::RELATIVE_UNIT_AT_LEVEL:
      unit = absl::StrCat("the ", ref.level(), " of the receiving unit");
      break;
    default: unit = "an unspecified unit"; break;
  }
  return absl::StrCat("the ", ref.kind(), " agency of ", unit);
}

// Validates procedure `p`'s route (see Catalogue::Build) against the
// otherwise valid catalogue.
void CheckRoute(const Catalogue& catalogue, int p, ProblemList& problems) {
  const Procedure& procedure = catalogue.procedures()[p];
  if (procedure.route().empty()) return;
  const std::string what = absl::StrCat("procedure ", procedure.code());
  const onestop::v1::LegalDeadline& deadline = procedure.deadline();

  // Budgets.
  int64_t total = 0;
  bool units_ok = true;
  for (int s = 0; s < procedure.route_size(); ++s) {
    const onestop::v1::RouteStage& stage = procedure.route(s);
    const std::string stage_what = absl::StrCat(what, " route stage ", s + 1);
    if (stage.budget().unit() != deadline.unit()) {
      problems.Add({{"procedures", p}, {"route", s}, {"budget", -1}, {"unit", -1}},
                   absl::StrCat(stage_what, ": budget unit ",
                                onestop::v1::DeadlineUnit_Name(stage.budget().unit()),
                                " differs from the deadline's ",
                                onestop::v1::DeadlineUnit_Name(deadline.unit())));
      units_ok = false;
    }
    if (stage.budget().amount() < 0) {
      problems.Add({{"procedures", p}, {"route", s}, {"budget", -1}, {"amount", -1}},
                   absl::StrCat(stage_what, ": budget amount ", stage.budget().amount(),
                                " is negative"));
      units_ok = false;
    }
    total += stage.budget().amount();
    absl::Status name = ValidateText("name", stage.name(), kMaxNameBytes, Requirement::kOptional);
    if (!name.ok()) {
      problems.Add({{"procedures", p}, {"route", s}, {"name", -1}},
                   absl::StrCat(stage_what, ": ", name.message()));
    }
    if (stage.agencies().empty()) {
      problems.Add({{"procedures", p}, {"route", s}, {"agencies", -1}},
                   absl::StrCat(stage_what, ": at least one agency is required"));
    }
  }
  if (units_ok && total != deadline.amount()) {
    problems.Add({{"procedures", p}, {"route", -1}},
                 absl::StrCat(what, ": stage budgets add up to ", total, ", but the deadline is ",
                              deadline.amount(), " (",
                              onestop::v1::DeadlineUnit_Name(deadline.unit()),
                              "); they must be equal"));
  }

  // The desks that may receive it, and when.
  const Interval offered = IntervalOf(procedure.valid_from(), procedure.valid_to());
  std::vector<std::pair<const Agency*, Interval>> desks;
  std::vector<absl::CivilDay> breakpoints;
  for (const Agency& agency : catalogue.agencies()) {
    const Interval own = IntervalOf(agency.valid_from(), agency.valid_to());
    if (own.from) breakpoints.push_back(*own.from);
    if (own.to) breakpoints.push_back(*own.to + 1);
    if (!catalogue.ReceivedAtLevel(procedure, agency.level())) continue;
    if (std::optional<Interval> both = Intersect(own, offered)) desks.emplace_back(&agency, *both);
  }
  if (offered.from) breakpoints.push_back(*offered.from);
  if (offered.to) breakpoints.push_back(*offered.to + 1);
  std::sort(breakpoints.begin(), breakpoints.end());
  breakpoints.erase(std::unique(breakpoints.begin(), breakpoints.end()), breakpoints.end());
  // A representative day of an interval with no start: before every change.
  const absl::CivilDay earliest =
      breakpoints.empty() ? absl::CivilDay(2000, 1, 1) : breakpoints.front() - 1;

  for (int s = 0; s < procedure.route_size(); ++s) {
    const onestop::v1::RouteStage& stage = procedure.route(s);
    for (int a = 0; a < stage.agencies_size(); ++a) {
      const onestop::v1::AgencyRef& ref = stage.agencies(a);
      const std::vector<std::pair<std::string, int>> path = {
          {"procedures", p}, {"route", s}, {"agencies", a}};
      const std::string ref_what = absl::StrCat(what, " route stage ", s + 1);
      const bool direct = !ref.agency_code().empty();
      const bool relative = !ref.kind().empty() ||
                            ref.unit() != onestop::v1::RELATIVE_UNIT_UNSPECIFIED ||
                            !ref.level().empty();
      if (direct == relative) {
        problems.Add(path, absl::StrCat(ref_what, ": name an agency either by agency_code or by "
                                                  "kind and unit, not ",
                                        direct ? "both" : "neither"));
        continue;
      }
      if (direct) {
        const Agency* agency = catalogue.FindAgency(ref.agency_code());
        auto code_path = path;
        code_path.emplace_back("agency_code", -1);
        if (agency == nullptr) {
          problems.Add(code_path, absl::StrCat(ref_what, ": unknown agency \"", ref.agency_code(),
                                               "\""));
          continue;
        }
        const Interval own = IntervalOf(agency->valid_from(), agency->valid_to());
        bool overlaps = false;
        for (const auto& [desk, when] : desks) overlaps = overlaps || Intersect(own, when);
        if (!overlaps) {
          problems.Add(code_path,
                       absl::StrCat(ref_what, " names agency ", agency->code(), " (",
                                    agency->name(), "), which exists only from ",
                                    DescribeInterval(own),
                                    ": no desk receiving the procedure is open then (the "
                                    "agency no longer exists, or not yet)"));
        }
        continue;
      }
      if (ref.kind().empty() || ref.unit() == onestop::v1::RELATIVE_UNIT_UNSPECIFIED ||
          !onestop::v1::RelativeUnit_IsValid(ref.unit())) {
        problems.Add(path, absl::StrCat(ref_what, ": a relative reference needs both kind and "
                                                  "unit"));
        continue;
      }
      if (ref.unit() == onestop::v1::RELATIVE_UNIT_AT_LEVEL) {
        bool known = false;
        for (const auto& level : catalogue.levels()) known = known || level.code() == ref.level();
        if (!known) {
          problems.Add(path, absl::StrCat(ref_what, ": unknown level \"", ref.level(),
                                          "\" for RELATIVE_UNIT_AT_LEVEL"));
          continue;
        }
      } else if (!ref.level().empty()) {
        problems.Add(path, absl::StrCat(ref_what, ": level is only used with "
                                                  "RELATIVE_UNIT_AT_LEVEL"));
        continue;
      }
      // Every distinct day of each desk's validity: its first day and each
      // breakpoint inside it.
      std::optional<std::string> failure;
      for (const auto& [desk, when] : desks) {
        std::vector<absl::CivilDay> days = {when.from ? *when.from : earliest};
        for (absl::CivilDay day : breakpoints) {
          if (IntervalContains(when, day)) days.push_back(day);
        }
        for (absl::CivilDay day : days) {
          absl::StatusOr<const Agency*> resolved = catalogue.ResolveAgencyRef(ref, *desk, day);
          if (!resolved.ok()) {
            failure = absl::StrCat(ref_what, ": cannot find ", RefDescription(ref), " for desk ",
                                   desk->code(), " (", desk->name(), ") on ", FormatDay(day),
                                   ": ", resolved.status().message());
            break;
          }
        }
        if (failure) break;
      }
      if (failure) problems.Add(path, *failure);
    }
  }
}

}  // namespace

std::string FormatCivilDay(absl::CivilDay day) { return FormatDay(day); }

std::string DescribeAgency(const Catalogue& catalogue, const std::string& code) {
  const Agency* agency = catalogue.FindAgency(code);
  if (agency == nullptr) return code;
  return absl::StrCat(agency->name(), " (", code, ")");
}

std::optional<absl::CivilDay> ToCivilDay(const Date& date) {
  if (IsUnset(date)) return std::nullopt;
  return absl::CivilDay(date.year(), date.month(), date.day());
}

Date ToDateProto(absl::CivilDay day) {
  Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

std::variant<std::shared_ptr<const Catalogue>, std::vector<ConfigProblem>> Catalogue::Build(
    const Config& config) {
  ProblemList problems;

  // Levels, top first.
  std::map<std::string, int> level_rank;
  if (config.levels().empty()) {
    problems.Add({{"levels", -1}}, "at least one level is required, e.g. code: \"commune\"");
  }
  for (int i = 0; i < config.levels_size(); ++i) {
    const auto& level = config.levels(i);
    if (!IsWellFormedCode(level.code())) {
      problems.Add({{"levels", i}, {"code", -1}},
                   absl::StrCat("level code \"", level.code(),
                                "\" must be 1-", kMaxCodeBytes,
                                " printable ASCII characters without spaces"));
      continue;
    }
    if (!level_rank.emplace(level.code(), i).second) {
      problems.Add({{"levels", i}, {"code", -1}},
                   absl::StrCat("duplicate level code \"", level.code(), "\""));
    }
    absl::Status name = ValidateText("name", level.name(), kMaxNameBytes, Requirement::kOptional);
    if (!name.ok()) {
      problems.Add({{"levels", i}, {"name", -1}},
                   absl::StrCat("level ", level.code(), ": ", name.message()));
    }
  }

  // Agencies: first pass for codes, dates and levels, so the second pass
  // can check references in any order.
  std::map<std::string, int> agency_at;
  std::vector<Interval> intervals(config.agencies_size());
  std::vector<bool> dates_ok(config.agencies_size(), true);
  for (int i = 0; i < config.agencies_size(); ++i) {
    const Agency& agency = config.agencies(i);
    const std::string what = absl::StrCat("agency ", agency.code().empty() ? "#" : "",
                                          agency.code().empty() ? absl::StrCat(i) : agency.code());
    if (agency.code().empty()) {
      problems.Add({{"agencies", i}, {"code", -1}}, absl::StrCat(what, ": code is required"));
    } else if (!IsWellFormedCode(agency.code())) {
      problems.Add({{"agencies", i}, {"code", -1}},
                   absl::StrCat("agency code \"", agency.code(), "\" must be 1-", kMaxCodeBytes,
                                " printable ASCII characters without spaces"));
    } else if (!agency_at.emplace(agency.code(), i).second) {
      problems.Add({{"agencies", i}, {"code", -1}},
                   absl::StrCat("duplicate agency code \"", agency.code(), "\""));
    }
    CheckName(problems, "agencies", i, what, agency.name());
    if (level_rank.count(agency.level()) == 0) {
      problems.Add({{"agencies", i}, {"level", -1}},
                   absl::StrCat(what, ": unknown level \"", agency.level(),
                                "\"; declare it under levels"));
    }
    for (const auto& [field, date] :
         {std::pair<const char*, const Date*>{"valid_from", &agency.valid_from()},
          std::pair<const char*, const Date*>{"valid_to", &agency.valid_to()}}) {
      if (!IsUnset(*date) && !IsRealDate(*date)) {
        problems.Add({{"agencies", i}, {field, -1}},
                     absl::StrFormat("%s: %s %04d-%02d-%02d is not a real date", what, field,
                                     date->year(), date->month(), date->day()));
        dates_ok[i] = false;
      }
    }
    if (dates_ok[i]) {
      intervals[i] = Interval{ToCivilDay(agency.valid_from()), ToCivilDay(agency.valid_to())};
      if (intervals[i].from && intervals[i].to && *intervals[i].to < *intervals[i].from) {
        problems.Add({{"agencies", i}, {"valid_to", -1}},
                     absl::StrCat(what, ": valid_to ", FormatDay(*intervals[i].to),
                                  " is before valid_from ", FormatDay(*intervals[i].from)));
        dates_ok[i] = false;
      }
    }
  }
  for (int i = 0; i < config.agencies_size(); ++i) {
    const Agency& agency = config.agencies(i);
    const std::string what = absl::StrCat("agency ", agency.code());
    const auto rank = level_rank.find(agency.level());
    if (agency.parent_code().empty()) {
      // Only the top level may have no parent.
      if (rank != level_rank.end() && rank->second != 0) {
        problems.Add({{"agencies", i}, {"parent_code", -1}},
                     absl::StrCat(what, ": parent_code is required at level \"",
                                  agency.level(), "\""));
      }
    } else {
      const auto parent_it = agency_at.find(agency.parent_code());
      if (parent_it == agency_at.end()) {
        problems.Add({{"agencies", i}, {"parent_code", -1}},
                     absl::StrCat(what, ": unknown parent agency \"", agency.parent_code(), "\""));
      } else {
        const Agency& parent = config.agencies(parent_it->second);
        const auto parent_rank = level_rank.find(parent.level());
        if (parent.code() == agency.code()) {
          problems.Add({{"agencies", i}, {"parent_code", -1}},
                       absl::StrCat(what, ": an agency cannot be its own parent"));
        } else if (rank != level_rank.end() && parent_rank != level_rank.end() &&
                   parent_rank->second >= rank->second) {
          // Any level above: from 1/7/2025 communes sit directly under the
          // province.
          const std::string expected =
              rank->second == 0 ? std::string("none (top level)")
                                : absl::StrCat("a level above \"", agency.level(), "\"");
          problems.Add({{"agencies", i}, {"parent_code", -1}},
                       absl::StrCat(what, " at level \"", agency.level(), "\": parent ",
                                    parent.code(), " is at level \"", parent.level(),
                                    "\", expected ", expected));
        } else if (dates_ok[i] && dates_ok[parent_it->second] &&
                   !Contains(intervals[parent_it->second], intervals[i])) {
          problems.Add({{"agencies", i}, {"parent_code", -1}},
                       absl::StrCat(what, " exists from ", DescribeInterval(intervals[i]),
                                    " but its parent ", parent.code(), " only from ",
                                    DescribeInterval(intervals[parent_it->second])));
        }
      }
    }
    for (int s = 0; s < agency.successor_codes_size(); ++s) {
      const std::string& successor = agency.successor_codes(s);
      if (successor == agency.code()) {
        problems.Add({{"agencies", i}, {"successor_codes", s}},
                     absl::StrCat(what, ": an agency cannot succeed itself"));
      } else if (agency_at.count(successor) == 0) {
        problems.Add({{"agencies", i}, {"successor_codes", s}},
                     absl::StrCat(what, ": unknown successor agency \"", successor, "\""));
      } else if (dates_ok[i] && dates_ok[agency_at[successor]]) {
        // Successors take over the next day: no gap, no overlap.
        const Interval& mine = intervals[i];
        const Interval& theirs = intervals[agency_at[successor]];
        if (!mine.to) {
          problems.Add({{"agencies", i}, {"successor_codes", s}},
                       absl::StrCat(what, " has successor ", successor,
                                    " but no valid_to: set the last day it existed"));
        } else if (!theirs.from || *theirs.from != *mine.to + 1) {
          problems.Add({{"agencies", i}, {"successor_codes", s}},
                       absl::StrCat(what, " ends on ", FormatDay(*mine.to), ", so its successor ",
                                    successor, " must start on ", FormatDay(*mine.to + 1),
                                    ", not ",
                                    theirs.from ? FormatDay(*theirs.from) : "the beginning"));
        }
      }
    }
    if (!agency.kind().empty() && !IsWellFormedCode(agency.kind())) {
      problems.Add({{"agencies", i}, {"kind", -1}},
                   absl::StrCat(what, ": kind \"", agency.kind(), "\" must be 1-", kMaxCodeBytes,
                                " printable ASCII characters without spaces"));
    }
    if (!agency.serves_unit_code().empty() && agency_at.count(agency.serves_unit_code()) == 0) {
      problems.Add({{"agencies", i}, {"serves_unit_code", -1}},
                   absl::StrCat(what, ": unknown served unit \"", agency.serves_unit_code(),
                                "\""));
    }
  }

  // Procedures.
  std::set<std::string> procedure_codes;
  for (int i = 0; i < config.procedures_size(); ++i) {
    const Procedure& procedure = config.procedures(i);
    const std::string what =
        absl::StrCat("procedure ", procedure.code().empty() ? "#" : "",
                     procedure.code().empty() ? absl::StrCat(i) : procedure.code());
    if (procedure.code().empty()) {
      problems.Add({{"procedures", i}, {"code", -1}}, absl::StrCat(what, ": code is required"));
    } else if (!IsWellFormedCode(procedure.code())) {
      problems.Add({{"procedures", i}, {"code", -1}},
                   absl::StrCat("procedure code \"", procedure.code(), "\" must be 1-",
                                kMaxCodeBytes, " printable ASCII characters without spaces"));
    } else if (!procedure_codes.insert(procedure.code()).second) {
      problems.Add({{"procedures", i}, {"code", -1}},
                   absl::StrCat("duplicate procedure code \"", procedure.code(), "\""));
    }
    CheckName(problems, "procedures", i, what, procedure.name());
    if (level_rank.count(procedure.level()) == 0) {
      problems.Add({{"procedures", i}, {"level", -1}},
                   absl::StrCat(what, ": unknown level \"", procedure.level(),
                                "\"; declare it under levels"));
    }
    if (procedure.deadline().unit() == onestop::v1::DEADLINE_UNIT_UNSPECIFIED ||
        !onestop::v1::DeadlineUnit_IsValid(procedure.deadline().unit())) {
      problems.Add({{"procedures", i}, {"deadline", -1}, {"unit", -1}},
                   absl::StrCat(what, ": deadline unit is required (WORKING_DAYS, "
                                      "CALENDAR_DAYS or WORKING_HOURS)"));
    }
    if (procedure.deadline().amount() < 0) {
      problems.Add({{"procedures", i}, {"deadline", -1}, {"amount", -1}},
                   absl::StrCat(what, ": deadline amount ", procedure.deadline().amount(),
                                " is negative"));
    }
    if (!procedure.deciding_agency_code().empty() &&
        agency_at.count(procedure.deciding_agency_code()) == 0) {
      problems.Add({{"procedures", i}, {"deciding_agency_code", -1}},
                   absl::StrCat(what, ": unknown deciding agency \"",
                                procedure.deciding_agency_code(), "\""));
    }
    if (procedure.fee_vnd() < 0) {
      problems.Add({{"procedures", i}, {"fee_vnd", -1}},
                   absl::StrCat(what, ": fee ", procedure.fee_vnd(), " VND is negative"));
    }
    for (int l = 0; l < procedure.also_received_at_levels_size(); ++l) {
      if (level_rank.count(procedure.also_received_at_levels(l)) == 0) {
        problems.Add({{"procedures", i}, {"also_received_at_levels", l}},
                     absl::StrCat(what, ": unknown level \"", procedure.also_received_at_levels(l),
                                  "\"; declare it under levels"));
      }
    }
    bool procedure_dates_ok = true;
    for (const auto& [field, date] :
         {std::pair<const char*, const Date*>{"valid_from", &procedure.valid_from()},
          std::pair<const char*, const Date*>{"valid_to", &procedure.valid_to()}}) {
      if (!IsUnset(*date) && !IsRealDate(*date)) {
        problems.Add({{"procedures", i}, {field, -1}},
                     absl::StrFormat("%s: %s %04d-%02d-%02d is not a real date", what, field,
                                     date->year(), date->month(), date->day()));
        procedure_dates_ok = false;
      }
    }
    if (procedure_dates_ok) {
      const Interval interval{ToCivilDay(procedure.valid_from()), ToCivilDay(procedure.valid_to())};
      if (interval.from && interval.to && *interval.to < *interval.from) {
        problems.Add({{"procedures", i}, {"valid_to", -1}},
                     absl::StrCat(what, ": valid_to ", FormatDay(*interval.to),
                                  " is before valid_from ", FormatDay(*interval.from)));
      }
    }
    absl::Status field =
        ValidateText("field", procedure.field(), kMaxNameBytes, Requirement::kOptional);
    if (!field.ok()) {
      problems.Add({{"procedures", i}, {"field", -1}}, absl::StrCat(what, ": ", field.message()));
    }
    // Component types (issue #13): codes unique within the procedure.
    std::set<std::string> component_codes;
    for (int c = 0; c < procedure.components_size(); ++c) {
      const onestop::v1::ComponentType& type = procedure.components(c);
      if (!IsWellFormedCode(type.code())) {
        problems.Add({{"procedures", i}, {"components", c}, {"code", -1}},
                     absl::StrCat(what, ": component code \"", type.code(), "\" must be 1-",
                                  kMaxCodeBytes, " printable ASCII characters without spaces"));
      } else if (!component_codes.insert(type.code()).second) {
        problems.Add({{"procedures", i}, {"components", c}, {"code", -1}},
                     absl::StrCat(what, ": duplicate component code \"", type.code(), "\""));
      }
      absl::Status name = ValidateText("name", type.name(), kMaxNameBytes, Requirement::kRequired);
      if (!name.ok()) {
        problems.Add({{"procedures", i}, {"components", c}, {"name", -1}},
                     absl::StrCat(what, ": component ", type.code(), ": ", name.message()));
      }
    }
  }

  absl::StatusOr<WorkingCalendar> calendar = WorkingCalendar::FromConfig(config.calendar());
  if (!calendar.ok()) {
    problems.Add({{"calendar", -1}}, std::string(calendar.status().message()));
  }

  if (!problems.empty()) return problems.Take();

  // Private constructor: make_shared cannot reach it.
  std::shared_ptr<Catalogue> catalogue(new Catalogue(*std::move(calendar)));
  catalogue->config_ = config;
  catalogue->levels_.assign(config.levels().begin(), config.levels().end());
  catalogue->agencies_.assign(config.agencies().begin(), config.agencies().end());
  catalogue->procedures_.assign(config.procedures().begin(), config.procedures().end());
  for (size_t i = 0; i < catalogue->agencies_.size(); ++i) {
    catalogue->agency_index_.emplace(catalogue->agencies_[i].code(), i);
  }
  for (size_t i = 0; i < catalogue->procedures_.size(); ++i) {
    catalogue->procedure_index_.emplace(catalogue->procedures_[i].code(), i);
  }
  for (size_t i = 0; i < catalogue->agencies_.size(); ++i) {
    const std::string& parent = catalogue->agencies_[i].parent_code();
    if (!parent.empty()) catalogue->children_[parent].push_back(i);
  }
  for (int i = 0; i < config.procedures_size(); ++i) {
    CheckRoute(*catalogue, i, problems);
  }
  if (!problems.empty()) return problems.Take();
  return std::shared_ptr<const Catalogue>(std::move(catalogue));
}

const Agency* Catalogue::FindAgency(const std::string& code) const {
  const auto it = agency_index_.find(code);
  return it == agency_index_.end() ? nullptr : &agencies_[it->second];
}

const Procedure* Catalogue::FindProcedure(const std::string& code) const {
  const auto it = procedure_index_.find(code);
  return it == procedure_index_.end() ? nullptr : &procedures_[it->second];
}

bool Catalogue::AgencyValidOn(const Agency& agency, absl::CivilDay day) const {
  const std::optional<absl::CivilDay> from = ToCivilDay(agency.valid_from());
  const std::optional<absl::CivilDay> to = ToCivilDay(agency.valid_to());
  if (from && day < *from) return false;
  if (to && day > *to) return false;
  return true;
}

bool Catalogue::IsInSubtree(const std::string& code, const std::string& ancestor) const {
  // Build() guarantees parents sit at a higher level, so the walk ends after at
  // most levels_.size() steps; the bound is a guard, not a rule.
  const Agency* agency = FindAgency(code);
  for (size_t steps = 0; agency != nullptr && steps <= levels_.size(); ++steps) {
    if (agency->code() == ancestor) return true;
    if (agency->parent_code().empty()) return false;
    agency = FindAgency(agency->parent_code());
  }
  return false;
}

}  // namespace onestop::core

namespace onestop::core {

std::vector<std::string> Catalogue::SubtreeCodes(const std::string& code) const {
  std::vector<std::string> out;
  if (FindAgency(code) == nullptr) return out;
  std::vector<std::string> stack = {code};
  while (!stack.empty()) {
    std::string next = std::move(stack.back());
    stack.pop_back();
    const auto children = children_.find(next);
    out.push_back(std::move(next));
    if (children == children_.end()) continue;
    // Reverse, so the depth-first walk visits children in config order.
    for (auto it = children->second.rbegin(); it != children->second.rend(); ++it) {
      stack.push_back(agencies_[*it].code());
    }
  }
  return out;
}

bool Catalogue::ProcedureValidOn(const Procedure& procedure, absl::CivilDay day) const {
  return IntervalContains(IntervalOf(procedure.valid_from(), procedure.valid_to()), day);
}

bool Catalogue::ReceivedAtLevel(const Procedure& procedure, const std::string& level) const {
  if (procedure.level() == level) return true;
  for (const auto& also : procedure.also_received_at_levels()) {
    if (also == level) return true;
  }
  return false;
}

std::string Catalogue::ServedUnitCode(const Agency& agency) const {
  if (!agency.serves_unit_code().empty()) return agency.serves_unit_code();
  if (agency.kind().empty() || agency.kind() == "people_committee") return agency.code();
  return agency.parent_code().empty() ? agency.code() : agency.parent_code();
}

absl::StatusOr<const Agency*> Catalogue::ResolveAgencyRef(const onestop::v1::AgencyRef& ref,
                                                          const Agency& receiving,
                                                          absl::CivilDay day) const {
  // Every failure here means the route configuration does not fit the
  // receiving agency: reason ROUTE_UNRESOLVED, codes and messages as before.
  const auto unresolved = [&receiving](absl::Status status) {
    const std::string description(status.message());
    return WithPreconditionViolation(WithReason(std::move(status), kReasonRouteUnresolved),
                                     kPreconditionCatalogue, AgencySubject(receiving.code()),
                                     description);
  };
  if (!ref.agency_code().empty()) {
    const Agency* agency = FindAgency(ref.agency_code());
    if (agency == nullptr) {
      return unresolved(
          absl::NotFoundError(absl::StrCat("no agency with code \"", ref.agency_code(), "\"")));
    }
    return agency;
  }
  if (ref.kind().empty() || ref.unit() == onestop::v1::RELATIVE_UNIT_UNSPECIFIED) {
    return unresolved(absl::InvalidArgumentError(
        "a route agency needs an agency_code, or a kind and a unit"));
  }
  const Agency* base = FindAgency(ServedUnitCode(receiving));
  if (base == nullptr) {
    return unresolved(absl::FailedPreconditionError(absl::StrCat(
        "agency ", receiving.code(), " serves unknown unit ", ServedUnitCode(receiving))));
  }
  const Agency* unit = base;
  // Parents sit strictly higher (Build), so walks end within levels_.size().
  switch (ref.unit()) {
    case onestop::v1::RELATIVE_UNIT_RECEIVING:
      break;
    case onestop::v1::RELATIVE_UNIT_PARENT:
      unit = base->parent_code().empty() ? nullptr : FindAgency(base->parent_code());
      if (unit == nullptr) {
        return unresolved(absl::FailedPreconditionError(absl::StrCat(
            DescribeAgency(*this, base->code()), " has no parent unit")));
      }
      break;
    case onestop::v1::RELATIVE_UNIT_ROOT:
      for (size_t steps = 0; !unit->parent_code().empty() && steps <= levels_.size(); ++steps) {
        const Agency* parent = FindAgency(unit->parent_code());
        if (parent == nullptr) break;
        unit = parent;
      }
      break;
    case onestop::v1::RELATIVE_UNIT_AT_LEVEL:
      for (size_t steps = 0; unit != nullptr && unit->level() != ref.level(); ++steps) {
        unit = (unit->parent_code().empty() || steps > levels_.size())
                   ? nullptr
                   : FindAgency(unit->parent_code());
      }
      if (unit == nullptr) {
        return unresolved(absl::FailedPreconditionError(absl::StrCat(
            DescribeAgency(*this, base->code()), " has no unit at level \"", ref.level(),
            "\" above it")));
      }
      break;
    default:
      return unresolved(absl::InvalidArgumentError("unknown relative unit in a route agency"));
  }
  std::vector<const Agency*> found;
  for (const Agency& agency : agencies_) {
    if (agency.kind() == ref.kind() && ServedUnitCode(agency) == unit->code() &&
        AgencyValidOn(agency, day)) {
      found.push_back(&agency);
    }
  }
  if (found.empty()) {
    return unresolved(absl::FailedPreconditionError(
        absl::StrCat("no agency of kind \"", ref.kind(), "\" serves ",
                     DescribeAgency(*this, unit->code()), " on ", FormatDay(day))));
  }
  if (found.size() > 1) {
    return unresolved(absl::FailedPreconditionError(absl::StrCat(
        "more than one agency of kind \"", ref.kind(), "\" serves ",
        DescribeAgency(*this, unit->code()), " on ", FormatDay(day), ": ", found[0]->code(),
        ", ", found[1]->code())));
  }
  return found.front();
}

}  // namespace onestop::core
