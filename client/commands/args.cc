#include "client/commands/args.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"

namespace onestop::client {

absl::StatusOr<v1::SubmittedDocument> ParseDocument(absl::string_view text) {
  v1::SubmittedDocument doc;
  absl::string_view name = text;
  int32_t copies = 1;
  const size_t colon = text.rfind(':');
  if (colon != absl::string_view::npos) {
    name = text.substr(0, colon);
    absl::string_view count = absl::StripAsciiWhitespace(text.substr(colon + 1));
    if (!absl::SimpleAtoi(count, &copies) || copies < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "document \"", text, "\": copies must be a whole number ≥ 1, as in "
          "\"Tờ khai:1\""));
    }
  }
  name = absl::StripAsciiWhitespace(name);
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "document \"", text, "\": the name is empty; use \"NAME:COPIES\""));
  }
  doc.set_name(std::string(name));
  doc.set_copies(copies);
  return doc;
}

absl::StatusOr<v1::DossierStatus> ParseStatus(absl::string_view text) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  int code = 0;
  if (absl::SimpleAtoi(trimmed, &code)) {
    if (code >= 1 && code <= 10 && v1::DossierStatus_IsValid(code)) {
      return static_cast<v1::DossierStatus>(code);
    }
  } else {
    std::string name = absl::AsciiStrToUpper(trimmed);
    name = absl::StrReplaceAll(name, {{"-", "_"}, {" ", "_"}});
    absl::string_view bare = name;
    absl::ConsumePrefix(&bare, "DOSSIER_STATUS_");
    v1::DossierStatus status;
    if (!bare.empty() && bare != "UNSPECIFIED" &&
        v1::DossierStatus_Parse(absl::StrCat("DOSSIER_STATUS_", bare),
                                &status)) {
      return status;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown status \"", text,
      "\": use a portal code 1–10 or a name such as received, processing, "
      "supplement-requested, result-ready, returned"));
}

absl::StatusOr<absl::Duration> ParseDurationArg(absl::string_view text) {
  const absl::string_view input = absl::StripAsciiWhitespace(text);
  auto bad = [&text](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration \"", text, "\": ", why,
        "; use e.g. 90m, 2h, 1h30m, 3d (a day is 24h)"));
  };
  if (input.empty()) return bad("empty");
  if (input[0] == '-') return bad("must not be negative");
  if (input == "0") return absl::ZeroDuration();
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < input.size()) {
    const size_t number_start = i;
    while (i < input.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(input[i])) ||
            input[i] == '.')) {
      ++i;
    }
    const size_t unit_start = i;
    while (i < input.size() &&
           absl::ascii_isalpha(static_cast<unsigned char>(input[i]))) {
      ++i;
    }
    const absl::string_view number =
        input.substr(number_start, unit_start - number_start);
    const absl::string_view unit = input.substr(unit_start, i - unit_start);
    if (number.empty() || unit.empty()) return bad("expected NUMBER UNIT");
    if (unit == "d") {
      double days = 0;
      if (!absl::SimpleAtod(number, &days)) return bad("bad number");
      total += absl::Hours(24) * days;
      continue;
    }
    absl::Duration part;
    if (!absl::ParseDuration(absl::StrCat(number, unit), &part)) {
      return bad(absl::StrCat("unknown unit \"", unit, "\""));
    }
    total += part;
  }
  return total;
}

absl::StatusOr<absl::Time> ParseTimeArg(absl::string_view text,
                                        absl::TimeZone tz) {
  const std::string input(absl::StripAsciiWhitespace(text));
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, input, &t, &error)) return t;
  std::string civil_text = input;
  if (civil_text.size() > 10 && civil_text[10] == ' ') civil_text[10] = 'T';
  absl::CivilSecond civil;
  if (!absl::StrContains(civil_text, "Z") &&
      absl::ParseLenientCivilTime(civil_text, &civil) &&
      absl::StrContains(civil_text, "T")) {
    return absl::FromCivil(civil, tz);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "time \"", text,
      "\": use RFC3339, e.g. 2020-01-06T08:00:00+07:00 (or 2020-01-06T08:00, "
      "read in Asia/Ho_Chi_Minh)"));
}

absl::StatusOr<v1::Date> ParseDateArg(absl::string_view text) {
  absl::CivilDay day;
  const absl::string_view input = absl::StripAsciiWhitespace(text);
  if (input.size() != 10 || !absl::ParseCivilTime(input, &day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("date \"", text, "\": use YYYY-MM-DD, e.g. 2020-01-06"));
  }
  v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

absl::StatusOr<v1::Channel> ParseChannel(absl::string_view text) {
  if (text == "direct") return v1::CHANNEL_DIRECT;
  if (text == "online") return v1::CHANNEL_ONLINE;
  if (text == "postal") return v1::CHANNEL_POSTAL;
  return absl::InvalidArgumentError(absl::StrCat(
      "channel \"", text, "\": use direct, online or postal"));
}

absl::StatusOr<v1::ReturnMode> ParseReturnMode(absl::string_view text) {
  if (text == "desk") return v1::RETURN_MODE_AT_DESK;
  if (text == "postal") return v1::RETURN_MODE_POSTAL;
  if (text == "electronic") return v1::RETURN_MODE_ELECTRONIC;
  return absl::InvalidArgumentError(absl::StrCat(
      "return mode \"", text, "\": use desk, postal or electronic"));
}

absl::StatusOr<v1::Role> ParseRole(absl::string_view text) {
  const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (name == "clerk") return v1::ROLE_CLERK;
  if (name == "officer") return v1::ROLE_OFFICER;
  if (name == "supervisor") return v1::ROLE_SUPERVISOR;
  if (name == "service") return v1::ROLE_SERVICE;
  if (name == "admin") return v1::ROLE_ADMIN;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown role \"", text,
      "\": use clerk, officer, supervisor, service or admin"));
}

absl::StatusOr<v1::Grant> ParseGrant(absl::string_view text) {
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grant \"", text, "\": use ROLE:AGENCY, e.g. clerk:000.00.31.H15"));
  }
  absl::StatusOr<v1::Role> role = ParseRole(text.substr(0, colon));
  if (!role.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("grant \"", text, "\": ", role.status().message()));
  }
  const absl::string_view agency = absl::StripAsciiWhitespace(text.substr(colon + 1));
  if (agency.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "grant \"", text, "\": the agency code is empty; use ROLE:AGENCY"));
  }
  v1::Grant grant;
  grant.set_role(*role);
  grant.set_agency_code(std::string(agency));
  return grant;
}

absl::StatusOr<int64_t> ParseTtlSeconds(absl::string_view text) {
  absl::StatusOr<absl::Duration> duration = ParseDurationArg(text);
  if (!duration.ok()) return duration.status();
  const int64_t seconds = absl::ToInt64Seconds(*duration);
  if (seconds < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ttl \"", text, "\": must be at least 1s; omit --ttl for the daemon's "
        "default (90d)"));
  }
  return seconds;
}

absl::StatusOr<std::string> ParseLastFour(absl::string_view text) {
  bool digits = text.size() == 4;
  for (const char c : text) digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  if (!digits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\": give the last four digits of the applicant's phone or "
        "ID number, e.g. 5678"));
  }
  return std::string(text);
}

CLI::Validator PrintableAscii() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        for (const char c : value) {
          if (c < 0x20 || c > 0x7E) {
            return "must be printable ASCII (it travels as a gRPC header)";
          }
        }
        return std::string();
      },
      "ASCII");
}

}  // namespace onestop::client
