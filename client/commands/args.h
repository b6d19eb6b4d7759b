// Parsers for onestopctl's argument values, pure and testable, plus CLI11
// validators built from them so a malformed value is a usage error (exit 2)
// caught while parsing, before any RPC.
#ifndef ONESTOP_CLIENT_COMMANDS_ARGS_H_
#define ONESTOP_CLIENT_COMMANDS_ARGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "onestop/v1/catalogue.pb.h"
#include "onestop/v1/dossier.pb.h"
#include "onestop/v1/security_service.pb.h"

namespace onestop::client {

// Parses "Tờ khai:2" (name, a colon, copies ≥ 1; the last colon counts) or a
// bare name (1 copy). INVALID_ARGUMENT for an empty name or bad copies.
absl::StatusOr<v1::SubmittedDocument> ParseDocument(absl::string_view text);

// Parses a status by portal code ("2"), name ("received", "RECEIVED",
// "supplement-requested", "DOSSIER_STATUS_RECEIVED"). INVALID_ARGUMENT
// otherwise.
absl::StatusOr<v1::DossierStatus> ParseStatus(absl::string_view text);

// Parses a non-negative duration: absl::ParseDuration's syntax ("90m",
// "1h30m", "2.5h") plus a day unit d = 24h ("3d", "1d12h").
absl::StatusOr<absl::Duration> ParseDurationArg(absl::string_view text);

// Parses an RFC3339 instant ("2020-01-06T08:00:00+07:00"), or a civil time
// without offset ("2020-01-06T08:00", "2020-01-06 08:00") read in `tz`.
absl::StatusOr<absl::Time> ParseTimeArg(absl::string_view text,
                                        absl::TimeZone tz);

// Parses "YYYY-MM-DD".
absl::StatusOr<v1::Date> ParseDateArg(absl::string_view text);

// Parses "direct", "online" or "postal".
absl::StatusOr<v1::Channel> ParseChannel(absl::string_view text);
// Parses "desk", "postal" or "electronic".
absl::StatusOr<v1::ReturnMode> ParseReturnMode(absl::string_view text);

// Parses a role name: clerk, officer, supervisor, service or admin (any
// case). INVALID_ARGUMENT otherwise, listing the names.
absl::StatusOr<v1::Role> ParseRole(absl::string_view text);

// Parses a grant "ROLE:AGENCY", e.g. "clerk:000.00.31.H15" (the first colon
// splits; agency codes have none). INVALID_ARGUMENT for a missing colon, an
// unknown role or an empty agency.
absl::StatusOr<v1::Grant> ParseGrant(absl::string_view text);

// Parses a token lifetime ("90d", "12h", "30m", ParseDurationArg's syntax)
// into whole seconds. INVALID_ARGUMENT unless at least one second.
absl::StatusOr<int64_t> ParseTtlSeconds(absl::string_view text);

// Accepts exactly four ASCII digits (the citizens' lookup); returns them.
absl::StatusOr<std::string> ParseLastFour(absl::string_view text);

// Returns a CLI11 validator that accepts what `parse` accepts and reports
// its error message otherwise. `description` shows in --help.
template <typename T>
CLI::Validator ValidatorFrom(
    std::function<absl::StatusOr<T>(absl::string_view)> parse,
    std::string description) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        absl::StatusOr<T> parsed = parse(value);
        return parsed.ok() ? std::string()
                           : std::string(parsed.status().message());
      },
      std::move(description));
}

// Returns a validator for gRPC metadata values: printable ASCII.
CLI::Validator PrintableAscii();

}  // namespace onestop::client

#endif  // ONESTOP_CLIENT_COMMANDS_ARGS_H_
