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
  // top-level agencies lack a parent; parents exist and sit exactly one
  // level up, and their valid_from..valid_to contains the child's; real
  // dates (a partly set Date is an error), valid_from ≤ valid_to;
  // successors exist; procedure deadlines ≥ 0 with a unit; deciding
  // agencies exist; fees ≥ 0; names non-empty single-line valid UTF-8; the
  // calendar (see WorkingCalendar::FromConfig; reported at path
  // {{"calendar", -1}}). Problems come in config order.
  static std::variant<std::shared_ptr<const Catalogue>, std::vector<ConfigProblem>>
  Build(const onestop::config::v1::Config& config);

  // nullptr if unknown. Pointers live as long as the Catalogue.
  const onestop::v1::Agency* FindAgency(const std::string& code) const;
  const onestop::v1::Procedure* FindProcedure(const std::string& code) const;

  // True if `agency` exists on `day` (inside its valid_from..valid_to).
  bool AgencyValidOn(const onestop::v1::Agency& agency, absl::CivilDay day) const;

  // True if `code` is `ancestor` or lies in its subtree.
  bool IsInSubtree(const std::string& code, const std::string& ancestor) const;

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
  WorkingCalendar calendar_;
};

// Converts between the config's Date message and civil days. An unset Date
// (all zero) means "unbounded" and converts to nullopt.
std::optional<absl::CivilDay> ToCivilDay(const onestop::v1::Date& date);
onestop::v1::Date ToDateProto(absl::CivilDay day);

}  // namespace onestop::core

#endif  // ONESTOP_SERVER_CORE_CATALOGUE_H_
