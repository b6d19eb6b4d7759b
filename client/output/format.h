// Pure formatting helpers shared by the printers: times in the desk's zone,
// labels for the proto enums, display width of UTF-8 text and a small
// aligned-table writer. No I/O except Table::Print; thread-compatible.
#ifndef ONESTOP_CLIENT_OUTPUT_FORMAT_H_
#define ONESTOP_CLIENT_OUTPUT_FORMAT_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "onestop/v1/catalogue.pb.h"
#include "onestop/v1/dossier.pb.h"
#include "onestop/v1/dossier_service.pb.h"
#include "onestop/v1/security_service.pb.h"

namespace onestop::client {

// Returns Asia/Ho_Chi_Minh, or a fixed UTC+7 zone when the tz database is
// missing (Vietnam has kept UTC+7 all year since 1975).
absl::TimeZone DeskTimeZone();

// Converts a proto timestamp to an instant; an unset (all-zero) timestamp is
// absl::InfinitePast().
absl::Time ToTime(const google::protobuf::Timestamp& ts);
// Converts an instant to a proto timestamp.
google::protobuf::Timestamp ToTimestamp(absl::Time t);

// Formats `ts` as "HH:MM dd/MM/yyyy" in `tz` (the official forms' style);
// returns "-" for an unset timestamp.
std::string FormatDeskTime(const google::protobuf::Timestamp& ts,
                           absl::TimeZone tz);
// Formats `t` as RFC3339 with the zone's offset, e.g.
// "2020-01-06T08:00:00+07:00".
std::string FormatRfc3339(absl::Time t, absl::TimeZone tz);

// Returns the number of terminal columns `text` takes: one per code point,
// none for combining marks (U+0300–U+036F) so NFD Vietnamese aligns too.
// Invalid UTF-8 bytes count one column each.
int DisplayWidth(absl::string_view text);

// Enum labels. `*Name` returns the enum value's name without its prefix
// ("RECEIVED", "REQUEST_SUPPLEMENT"); unknown numbers print as the number.
std::string StatusName(v1::DossierStatus status);
// Returns the official Vietnamese label, e.g. "Được tiếp nhận"; "" if unknown.
std::string StatusLabelVi(v1::DossierStatus status);
// Returns "RECEIVED (2)": the name and the portal code.
std::string StatusShort(v1::DossierStatus status);
// Returns the action as the CLI spells verbs: "request-supplement".
std::string ActionName(v1::ActionKind action);
// Returns "direct", "online", "postal" (or "-").
std::string ChannelName(v1::Channel channel);
// Returns "desk", "postal", "electronic" (or "-").
std::string ReturnModeName(v1::ReturnMode mode);
// Returns "within deadline", "due soon", "overdue", "early", "on time",
// "late", or "-" when there is no deadline.
std::string TimelinessName(v1::Timeliness timeliness);
// Returns the Vietnamese term ("trong hạn", "quá hạn", …) or "".
std::string TimelinessLabelVi(v1::Timeliness timeliness);
// Returns the statutory time as the catalogue reads, in Vietnamese:
// "3 ngày làm việc", "15 ngày", "8 giờ làm việc"; "-" when unset.
std::string DeadlineVi(const v1::LegalDeadline& deadline);
// Returns the same in English: "3 working days", "1 calendar day",
// "8 working hours"; "-" when unset.
std::string DeadlineEn(const v1::LegalDeadline& deadline);
// Returns the fee with Vietnamese thousands separators: "30.000 đ"; "0" when
// free.
std::string FormatVnd(int64_t amount);
// Returns "YYYY-MM-DD", or "" when the date is unset (all zero).
std::string FormatDate(const v1::Date& date);
// Returns "dd/MM/yyyy" (the forms' style), or "" when unset.
std::string FormatDateVi(const v1::Date& date);
// Returns the Vietnamese weekday of `date`: "Thứ Hai" … "Thứ Bảy",
// "Chủ Nhật"; "" when unset or not a real date.
std::string WeekdayVi(const v1::Date& date);
// Returns the Vietnamese term for a special day: "Nghỉ lễ", "Nghỉ bù",
// "Nghỉ hoán đổi", "Làm bù"; "" for UNSPECIFIED or unknown values.
std::string CalendarDayKindVi(v1::CalendarDayKind kind);
// Returns why a clock pause was opened, in Vietnamese with the CLI verb:
// "chờ thực hiện nghĩa vụ tài chính (request-payment)", "chờ bổ sung hồ sơ
// (request-supplement)"; other actions print as ActionName.
std::string PauseReasonVi(v1::ActionKind reason);

// Returns when a component was attached: "reception", "supplement",
// "result"; "-" for UNSPECIFIED, the number for unknown values.
std::string ComponentStageName(v1::ComponentStage stage);
// Returns a byte count for people: "0 B", "999 B", "1.5 KiB", "3.0 MiB",
// "1.2 GiB" (binary units, one decimal from KiB up).
std::string FormatByteSize(int64_t bytes);

// Returns the role as the CLI spells it: "clerk", "officer", "supervisor",
// "service", "admin"; "-" for UNSPECIFIED, the number for unknown values.
std::string RoleName(v1::Role role);
// Returns a grant as --grant takes it: "clerk:000.00.31.H15".
std::string GrantText(const v1::Grant& grant);
// Returns the name of a google.rpc.Code number ("OK", "PERMISSION_DENIED");
// the number for unknown codes.
std::string RpcCodeName(int32_t code);

// A table whose columns are aligned by display width, separated by two
// spaces, with trailing blanks trimmed. Cells must not contain newlines.
class Table {
 public:
  explicit Table(std::vector<std::string> header);

  // Appends a row; missing cells print empty, extra cells are kept.
  void AddRow(std::vector<std::string> row);
  size_t size() const { return rows_.size(); }

  // Writes the header and the rows to `out`.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace onestop::client

#endif  // ONESTOP_CLIENT_OUTPUT_FORMAT_H_
