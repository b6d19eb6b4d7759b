// The catalogue in memory: levels, agencies and procedures from the
// configuration, validated once and then read-only (safe to share).
#ifndef ONESTOP_SERVER_CORE_CATALOGUE_H_
#define ONESTOP_SERVER_CORE_CATALOGUE_H_

#include <map>
#include <optional>
#include <variant>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "onestop/config/v1/config.pb.h"
#include "onestop/v1/catalogue.pb.h"
#include "server/core/calendar.h"

namespace onestop::core {

// A field inside the configuration, as steps from the root message:
// {{"agencies", 3}, {"parent_code", -1}} is agencies[3].parent_code.
// Index -1 marks a singular field. The loader turns it into a line number.
struct ConfigFieldPath {
  std::vector<std::pair<std::string, int>> steps;
};

// One problem found while validating a configuration.
struct ConfigProblem {
  ConfigFieldPath path;
  std::string message;  // e.g. "unknown parent agency \"X\""
};

class Catalogue {
 public:
  // Validates `config` completely and builds the catalogue and calendar.
  // On failure returns every problem found (never an empty vector).
  // Checked: at least one level; unique level, agency and procedure codes of
  // 1–64 printable ASCII characters without spaces; known levels; only
  // top-level agencies lack a parent; parents exist and sit at any level
  // above (a commune may hang directly under the province, as from
  // 1/7/2025), and their valid_from..valid_to contains the child's; real
  // dates (a partly set Date is an error), valid_from ≤ valid_to;
  // successors exist and start the day after this agency's valid_to (which
  // must be set); kind is empty or a well-formed code; serves_unit_code
  // names an existing agency; procedure deadlines ≥ 0 with a unit; deciding
  // agencies exist; fees ≥ 0; names non-empty single-line valid UTF-8;
  // also_received_at_levels are known levels; procedure validity dates as
  // for agencies; component types (codes well-formed and unique within the
  // procedure, names as above); the calendar (see WorkingCalendar::FromConfig;
  // reported at path {{"calendar", -1}}). Problems come in config order.
  //
  // Routes (interlinked procedures) are checked only once everything above
  // is clean, since they resolve against the agency tree:
  // - every stage has a budget in the procedure's deadline unit with an
  //   amount ≥ 0, and the amounts add up to the deadline's amount;
  // - every stage names at least one agency; each AgencyRef is either an
  //   agency_code or a kind with a unit (and a known level for
  //   RELATIVE_UNIT_AT_LEVEL), not both;
  // - a direct agency_code exists and is valid on some day on which some
  //   desk that receives the procedure is valid (within the procedure's
  //   own validity): otherwise "no longer exists" (or "not yet");
  // - a relative reference resolves (ResolveAgencyRef) for every receiving
  //   unit (agencies at the procedure's level or also_received_at_levels)
  //   on every day that unit and the procedure are both valid: checked on
  //   each day where any agency's validity starts or ends, which covers
  //   every distinct day. One problem per reference, naming the first
  //   receiving unit and day that fail.
  static std::variant<std::shared_ptr<const Catalogue>, std::vector<ConfigProblem>>
  Build(const onestop::config::v1::Config& config);

  // nullptr if unknown. Pointers live as long as the Catalogue.
  const onestop::v1::Agency* FindAgency(const std::string& code) const;
  const onestop::v1::Procedure* FindProcedure(const std::string& code) const;

  // True if `agency` exists on `day` (inside its valid_from..valid_to).
  bool AgencyValidOn(const onestop::v1::Agency& agency, absl::CivilDay day) const;

  // True if `code` is `ancestor` or lies in its subtree.
  bool IsInSubtree(const std::string& code, const std::string& ancestor) const;

  // `code` and every agency below it through parent_code, whatever their
  // dates (a supervisor's query covers dossiers of units that have since
  // ceased), the agency first, then depth-first in config order. Empty for
  // an unknown code. Agencies that only *serve* a unit in the subtree (the
  // district land branch under the province department) are not included.
  std::vector<std::string> SubtreeCodes(const std::string& code) const;

  // True if `procedure` is offered on `day` (its valid_from..valid_to).
  bool ProcedureValidOn(const onestop::v1::Procedure& procedure, absl::CivilDay day) const;

  // True if desks at `level` receive `procedure` (its level or one of
  // also_received_at_levels).
  bool ReceivedAtLevel(const onestop::v1::Procedure& procedure, const std::string& level) const;

  // The code of the unit `agency` serves: serves_unit_code if set, else the
  // agency itself when its kind is "people_committee" or empty, else its
  // parent (itself for a root).
  std::string ServedUnitCode(const onestop::v1::Agency& agency) const;

  // Resolves a route stage's agency reference for a dossier received by
  // `receiving` on `day`. A direct agency_code resolves to that agency
  // (NOT_FOUND if unknown), whatever the day. A relative one starts from
  // the unit `receiving` serves, moves to the unit `ref.unit` names
  // (itself, its parent, its root, or itself-or-nearest-ancestor at
  // `ref.level`) and returns the one agency of kind `ref.kind` valid on
  // `day` that serves that unit. FAILED_PRECONDITION, naming the kind, the
  // unit (code and Vietnamese name) and the day, when there is no such
  // unit (no parent; no ancestor at that level), no such agency, or more
  // than one; INVALID_ARGUMENT for a reference with neither form.
  absl::StatusOr<const onestop::v1::Agency*> ResolveAgencyRef(
      const onestop::v1::AgencyRef& ref, const onestop::v1::Agency& receiving,
      absl::CivilDay day) const;

  const std::vector<onestop::v1::Agency>& agencies() const { return agencies_; }
  const std::vector<onestop::v1::Procedure>& procedures() const { return procedures_; }
  const std::vector<onestop::config::v1::Level>& levels() const { return levels_; }
  const WorkingCalendar& calendar() const { return calendar_; }
  const onestop::config::v1::Config& config() const { return config_; }

 private:
  explicit Catalogue(WorkingCalendar calendar) : calendar_(std::move(calendar)) {}

  onestop::config::v1::Config config_;
  std::vector<onestop::config::v1::Level> levels_;
  std::vector<onestop::v1::Agency> agencies_;
  std::vector<onestop::v1::Procedure> procedures_;
  std::map<std::string, size_t> agency_index_;
  std::map<std::string, size_t> procedure_index_;
  std::map<std::string, std::vector<size_t>> children_;  // parent code → child indexes
  WorkingCalendar calendar_;
};

// "2025-06-30".
std::string FormatCivilDay(absl::CivilDay day);

// "UBND huyện Lắk (000.00.31.H15)", or just the code if unknown: how
// messages name agencies.
std::string DescribeAgency(const Catalogue& catalogue, const std::string& code);

// Converts between the config's Date message and civil days. An unset Date
// (all zero) means "unbounded" and converts to nullopt.
std::optional<absl::CivilDay> ToCivilDay(const onestop::v1::Date& date);
onestop::v1::Date ToDateProto(absl::CivilDay day);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_CATALOGUE_H_
