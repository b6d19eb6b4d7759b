#include "server/core/catalogue.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/core/validation.h"

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

}  // namespace

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
                   parent_rank->second != rank->second - 1) {
          const std::string expected =
              rank->second == 0 ? std::string("none (top level)")
                                : absl::StrCat("\"", config.levels(rank->second - 1).code(), "\"");
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
      }
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
    absl::Status field =
        ValidateText("field", procedure.field(), kMaxNameBytes, Requirement::kOptional);
    if (!field.ok()) {
      problems.Add({{"procedures", i}, {"field", -1}}, absl::StrCat(what, ": ", field.message()));
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
  // Build() guarantees parents sit one level up, so the walk ends after at
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
