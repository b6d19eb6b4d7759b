#include "client/output/format.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"

namespace onestop::client {
namespace {

// Strips `prefix` from an enum value's generated name; falls back to the
// number for values this build does not know.
std::string EnumName(const std::string& generated, absl::string_view prefix,
                     int number) {
  if (generated.empty()) return absl::StrCat(number);
  absl::string_view name = generated;
  absl::ConsumePrefix(&name, prefix);
  return std::string(name);
}

std::string Kebab(std::string upper_snake) {
  absl::AsciiStrToLower(&upper_snake);
  return absl::StrReplaceAll(upper_snake, {{"_", "-"}});
}

}  // namespace

absl::TimeZone DeskTimeZone() {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone("Asia/Ho_Chi_Minh", &tz)) {
    tz = absl::FixedTimeZone(7 * 60 * 60);
  }
  return tz;
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return absl::InfinitePast();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

std::string FormatDeskTime(const google::protobuf::Timestamp& ts,
                           absl::TimeZone tz) {
  const absl::Time t = ToTime(ts);
  if (t == absl::InfinitePast()) return "-";
  return absl::FormatTime("%H:%M %d/%m/%Y", t, tz);
}

std::string FormatRfc3339(absl::Time t, absl::TimeZone tz) {
  return absl::FormatTime(absl::RFC3339_sec, t, tz);
}

int DisplayWidth(absl::string_view text) {
  int width = 0;
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    size_t len = 1;
    uint32_t cp = lead;
    if (lead >= 0xF0 && lead <= 0xF4) {
      len = 4;
      cp = lead & 0x07;
    } else if (lead >= 0xE0) {
      len = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      len = 2;
      cp = lead & 0x1F;
    }
    bool valid = i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const unsigned char c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) {
        valid = false;
      } else {
        cp = (cp << 6) | (c & 0x3F);
      }
    }
    if (!valid) {
      len = 1;  // count the stray byte as one column and resynchronise
      cp = lead;
    }
    if (!(cp >= 0x0300 && cp <= 0x036F)) ++width;
    i += len;
  }
  return width;
}

std::string StatusName(v1::DossierStatus status) {
  return EnumName(v1::DossierStatus_Name(status), "DOSSIER_STATUS_",
                  static_cast<int>(status));
}

std::string StatusLabelVi(v1::DossierStatus status) {
  switch (status) {
    case v1::DOSSIER_STATUS_NEW: return "Mới đăng ký";
    case v1::DOSSIER_STATUS_RECEIVED: return "Được tiếp nhận";
    case v1::DOSSIER_STATUS_REFUSED: return "Không được tiếp nhận";
    case v1::DOSSIER_STATUS_PROCESSING: return "Đang xử lý";
    case v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED: return "Yêu cầu bổ sung giấy tờ";
    case v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION:
      return "Yêu cầu thực hiện nghĩa vụ tài chính";
    case v1::DOSSIER_STATUS_WITHDRAWN: return "Công dân yêu cầu rút hồ sơ";
    case v1::DOSSIER_STATUS_STOPPED: return "Dừng xử lý";
    case v1::DOSSIER_STATUS_RESULT_READY: return "Đã xử lý xong";
    case v1::DOSSIER_STATUS_RETURNED: return "Đã trả kết quả";
    default: return "";
  }
}

std::string StatusShort(v1::DossierStatus status) {
  if (status == v1::DOSSIER_STATUS_UNSPECIFIED) return "-";
  return absl::StrCat(StatusName(status), " (", static_cast<int>(status), ")");
}

std::string ActionName(v1::ActionKind action) {
  if (action == v1::ACTION_KIND_UNSPECIFIED) return "-";
  return Kebab(EnumName(v1::ActionKind_Name(action), "ACTION_KIND_",
                        static_cast<int>(action)));
}

std::string ChannelName(v1::Channel channel) {
  if (channel == v1::CHANNEL_UNSPECIFIED) return "-";
  return Kebab(EnumName(v1::Channel_Name(channel), "CHANNEL_",
                        static_cast<int>(channel)));
}

std::string ReturnModeName(v1::ReturnMode mode) {
  switch (mode) {
    case v1::RETURN_MODE_UNSPECIFIED: return "-";
    case v1::RETURN_MODE_AT_DESK: return "desk";
    default:
      return Kebab(EnumName(v1::ReturnMode_Name(mode), "RETURN_MODE_",
                            static_cast<int>(mode)));
  }
}

std::string TimelinessName(v1::Timeliness timeliness) {
  if (timeliness == v1::TIMELINESS_UNSPECIFIED) return "-";
  std::string name = EnumName(v1::Timeliness_Name(timeliness), "TIMELINESS_",
                              static_cast<int>(timeliness));
  absl::AsciiStrToLower(&name);
  return absl::StrReplaceAll(name, {{"_", " "}});
}

std::string TimelinessLabelVi(v1::Timeliness timeliness) {
  switch (timeliness) {
    case v1::TIMELINESS_WITHIN_DEADLINE: return "trong hạn";
    case v1::TIMELINESS_DUE_SOON: return "sắp đến hạn";
    case v1::TIMELINESS_OVERDUE: return "quá hạn";
    case v1::TIMELINESS_EARLY: return "trước hạn";
    case v1::TIMELINESS_ON_TIME: return "đúng hạn";
    case v1::TIMELINESS_LATE: return "trễ hạn";
    default: return "";
  }
}

std::string DeadlineVi(const v1::LegalDeadline& deadline) {
  switch (deadline.unit()) {
    case v1::DEADLINE_UNIT_WORKING_DAYS:
      return absl::StrCat(deadline.amount(), " ngày làm việc");
    case v1::DEADLINE_UNIT_CALENDAR_DAYS:
      return absl::StrCat(deadline.amount(), " ngày");
    case v1::DEADLINE_UNIT_WORKING_HOURS:
      return absl::StrCat(deadline.amount(), " giờ làm việc");
    default: return "-";
  }
}

std::string DeadlineEn(const v1::LegalDeadline& deadline) {
  const char* noun = nullptr;
  switch (deadline.unit()) {
    case v1::DEADLINE_UNIT_WORKING_DAYS: noun = " working day"; break;
    case v1::DEADLINE_UNIT_CALENDAR_DAYS: noun = " calendar day"; break;
    case v1::DEADLINE_UNIT_WORKING_HOURS: noun = " working hour"; break;
    default: return "-";
  }
  return absl::StrCat(deadline.amount(), noun, deadline.amount() == 1 ? "" : "s");
}

std::string FormatVnd(int64_t amount) {
  if (amount == 0) return "0";
  std::string digits = absl::StrCat(amount < 0 ? -amount : amount);
  std::string grouped;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) grouped.push_back('.');
    grouped.push_back(digits[i]);
  }
  return absl::StrCat(amount < 0 ? "-" : "", grouped, " đ");
}

std::string FormatDate(const v1::Date& date) {
  if (date.year() == 0 && date.month() == 0 && date.day() == 0) return "";
  return absl::FormatCivilTime(
      absl::CivilDay(date.year(), date.month(), date.day()));
}

std::string FormatDateVi(const v1::Date& date) {
  if (date.year() == 0 && date.month() == 0 && date.day() == 0) return "";
  return absl::StrFormat("%02d/%02d/%04d", date.day(), date.month(), date.year());
}

std::string WeekdayVi(const v1::Date& date) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  if (day.year() != date.year() || day.month() != date.month() ||
      day.day() != date.day()) {
    return "";  // unset or normalised: not a real date
  }
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday: return "Thứ Hai";
    case absl::Weekday::tuesday: return "Thứ Ba";
    case absl::Weekday::wednesday: return "Thứ Tư";
    case absl::Weekday::thursday: return "Thứ Năm";
    case absl::Weekday::friday: return "Thứ Sáu";
    case absl::Weekday::saturday: return "Thứ Bảy";
    case absl::Weekday::sunday: return "Chủ Nhật";
  }
  return "";
}

std::string CalendarDayKindVi(v1::CalendarDayKind kind) {
  switch (kind) {
    case v1::CALENDAR_DAY_KIND_HOLIDAY: return "Nghỉ lễ";
    case v1::CALENDAR_DAY_KIND_COMPENSATORY: return "Nghỉ bù";
    case v1::CALENDAR_DAY_KIND_SWAPPED_DAY_OFF: return "Nghỉ hoán đổi";
    case v1::CALENDAR_DAY_KIND_SWAPPED_WORK_DAY: return "Làm bù";
    default: return "";
  }
}

std::string PauseReasonVi(v1::ActionKind reason) {
  switch (reason) {
    case v1::ACTION_KIND_REQUEST_PAYMENT:
      return "chờ thực hiện nghĩa vụ tài chính (request-payment)";
    case v1::ACTION_KIND_REQUEST_SUPPLEMENT:
      return "chờ bổ sung hồ sơ (request-supplement)";
    default: return ActionName(reason);
  }
}

std::string ComponentStageName(v1::ComponentStage stage) {
  if (stage == v1::COMPONENT_STAGE_UNSPECIFIED) return "-";
  return Kebab(EnumName(v1::ComponentStage_Name(stage), "COMPONENT_STAGE_",
                        static_cast<int>(stage)));
}

std::string FormatByteSize(int64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string RoleName(v1::Role role) {
  if (role == v1::ROLE_UNSPECIFIED) return "-";
  std::string name = EnumName(v1::Role_Name(role), "ROLE_", static_cast<int>(role));
  absl::AsciiStrToLower(&name);
  return name;
}

std::string GrantText(const v1::Grant& grant) {
  return absl::StrCat(RoleName(grant.role()), ":", grant.agency_code());
}

std::string RpcCodeName(int32_t code) {
  // absl::StatusCode mirrors google.rpc.Code number for number.
  if (code < 0 || code > 16) return absl::StrCat(code);
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::AddRow(std::vector<std::string> row) {
  rows_.push_back(std::move(row));
}

void Table::Print(std::ostream& out) const {
  size_t columns = header_.size();
  for (const auto& row : rows_) columns = std::max(columns, row.size());
  std::vector<int> widths(columns, 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);

  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      const std::string empty;
      const std::string& cell = c < row.size() ? row[c] : empty;
      if (c > 0) line.append("  ");
      line.append(cell);
      line.append(static_cast<size_t>(widths[c] - DisplayWidth(cell)), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print(header_);
  for (const auto& row : rows_) print(row);
}

}  // namespace onestop::client
