// onestopctl report: the completion and on-time report
// (ReportService.GetCompletionReport) as an aligned Vietnamese table, JSON,
// CSV or an XLSX workbook (libxlsxwriter). Self-contained: registered from
// main with RegisterReportCommand(app, registry).
#include <xlsxwriter.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/commands/command_context.h"
#include "client/output/format.h"
#include "google/protobuf/util/json_util.h"
#include "onestop/v1/report_service.grpc.pb.h"

namespace onestop::client {
namespace {

struct ReportArgs {
  std::string agency;
  std::string level;
  std::string from;
  std::string to;
  std::string group_by = "none";
  std::string withdrawn = "default";
  std::string output;  // empty: the global --output
  std::string out;     // file; required for xlsx
};

absl::StatusOr<v1::Date> ParseDate(const std::string& flag, const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '-');
  v1::Date date;
  int y = 0, m = 0, d = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &y) || !absl::SimpleAtoi(parts[1], &m) ||
      !absl::SimpleAtoi(parts[2], &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", text, "\" is not a date YYYY-MM-DD (e.g. 2020-09-30)"));
  }
  date.set_year(y);
  date.set_month(m);
  date.set_day(d);
  return date;
}

// One column of the report: header group, header, value.
struct Column {
  std::string group;
  std::string header;
  std::string (*value)(const v1::CompletionColumns&);
  bool percent = false;
  double (*number)(const v1::CompletionColumns&) = nullptr;
};

std::string N(int64_t v) { return absl::StrCat(v); }
std::string P(const v1::Rate& r) {
  return r.denominator() == 0 ? "—" : absl::StrFormat("%.2f%%", r.percent());
}

#define ONESTOP_COUNT_COLUMN(group, header, field)                                            \
  Column {                                                                                    \
    group, header, [](const v1::CompletionColumns& c) { return N(c.field()); }, false,        \
        [](const v1::CompletionColumns& c) { return static_cast<double>(c.field()); }         \
  }
#define ONESTOP_RATE_COLUMN(group, header, field)                                             \
  Column {                                                                                    \
    group, header, [](const v1::CompletionColumns& c) { return P(c.field()); }, true,         \
        [](const v1::CompletionColumns& c) { return c.field().percent() / 100.0; }            \
  }

const std::vector<Column>& Columns() {
  static const std::vector<Column>* columns = new std::vector<Column>{
      ONESTOP_COUNT_COLUMN("", "Kỳ trước chuyển sang", carried_over),
      ONESTOP_COUNT_COLUMN("Tiếp nhận mới", "Trực tuyến", received_online),
      ONESTOP_COUNT_COLUMN("Tiếp nhận mới", "Trực tiếp", received_direct),
      ONESTOP_COUNT_COLUMN("Tiếp nhận mới", "Bưu chính", received_postal),
      ONESTOP_COUNT_COLUMN("", "Phải giải quyết", to_handle),
      ONESTOP_COUNT_COLUMN("Đã giải quyết", "Trước hạn", resolved_early),
      ONESTOP_COUNT_COLUMN("Đã giải quyết", "Đúng hạn", resolved_on_time),
      ONESTOP_COUNT_COLUMN("Đã giải quyết", "Quá hạn", resolved_late),
      ONESTOP_COUNT_COLUMN("Đang giải quyết", "Trong hạn", in_progress_within_deadline),
      ONESTOP_COUNT_COLUMN("Đang giải quyết", "Quá hạn", in_progress_overdue),
      ONESTOP_COUNT_COLUMN("Chờ", "Bổ sung", awaiting_supplement),
      ONESTOP_COUNT_COLUMN("Chờ", "NVTC", awaiting_financial_obligation),
      ONESTOP_COUNT_COLUMN("", "Rút", withdrawn),
      ONESTOP_COUNT_COLUMN("", "Từ chối", refused),
      ONESTOP_COUNT_COLUMN("", "Dừng", stopped),
      ONESTOP_COUNT_COLUMN("", "Đã trả", returned),
      ONESTOP_RATE_COLUMN("Tỷ lệ", "Hoàn thành", completion_rate),
      ONESTOP_RATE_COLUMN("Tỷ lệ", "Đúng hạn/đã GQ", on_time_rate_over_resolved),
      ONESTOP_RATE_COLUMN("Tỷ lệ", "Trễ hạn/phải GQ", late_rate_over_to_handle),
      // The 766 digitisation group (docs/REPORTS.md): received with every
      // component digitised at reception, results issued electronically.
      ONESTOP_COUNT_COLUMN("Số hóa", "TN đủ TPHS", received_digitised),
      ONESTOP_RATE_COLUMN("Số hóa", "Tỷ lệ TN", received_digitised_share),
      ONESTOP_COUNT_COLUMN("Số hóa", "KQ điện tử", resolved_with_electronic_result),
      ONESTOP_RATE_COLUMN("Số hóa", "Tỷ lệ KQĐT", electronic_result_share),
  };
  return *columns;
}

std::string PadLeft(const std::string& s, int width) {
  return std::string(std::max(0, width - DisplayWidth(s)), ' ') + s;
}
std::string PadRight(const std::string& s, int width) {
  return s + std::string(std::max(0, width - DisplayWidth(s)), ' ');
}

std::vector<const v1::CompletionReportRow*> AllRows(const v1::GetCompletionReportResponse& r) {
  std::vector<const v1::CompletionReportRow*> rows;
  if (r.group_by() != v1::REPORT_GROUP_BY_NONE) {
    for (const auto& row : r.rows()) rows.push_back(&row);
  }
  rows.push_back(&r.total());
  return rows;
}

std::string RowName(const v1::CompletionReportRow& row) {
  return row.key().empty() || row.key() == row.label()
             ? row.label()
             : absl::StrCat(row.label(), " (", row.key(), ")");
}

void PrintTable(const v1::GetCompletionReportResponse& r, std::ostream& out) {
  out << "BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ — " << r.scope_label() << "\n"
      << "Kỳ báo cáo: " << FormatDateVi(r.from()) << " – " << FormatDateVi(r.to())
      << (r.withdrawn_policy() == v1::WITHDRAWN_POLICY_ON_TIME
              ? "   (hồ sơ rút được tính là đúng hạn)"
              : "")
      << "\n\n";
  const std::vector<const v1::CompletionReportRow*> rows = AllRows(r);
  int name_width = DisplayWidth("Đơn vị / nhóm");
  for (const auto* row : rows) name_width = std::max(name_width, DisplayWidth(RowName(*row)));
  name_width = std::min(name_width, 48);
  std::vector<int> widths;
  for (const Column& c : Columns()) {
    int w = std::max(DisplayWidth(c.header), 5);
    for (const auto* row : rows) w = std::max(w, DisplayWidth(c.value(row->columns())));
    widths.push_back(w);
  }
  // Two header lines: the group over its columns, then the columns.
  std::string groups = PadRight("", name_width), headers = PadRight("Đơn vị / nhóm", name_width);
  for (size_t i = 0; i < Columns().size(); ++i) {
    const Column& c = Columns()[i];
    const bool first_of_group = i == 0 || Columns()[i - 1].group != c.group;
    groups += "  " + PadRight(first_of_group ? c.group : "", widths[i]);
    headers += "  " + PadLeft(c.header, widths[i]);
  }
  out << groups << "\n" << headers << "\n";
  for (const auto* row : rows) {
    std::string name = RowName(*row);
    if (DisplayWidth(name) > name_width) name = row->key().empty() ? row->label() : row->key();
    std::string line = PadRight(name, name_width);
    for (size_t i = 0; i < Columns().size(); ++i) {
      line += "  " + PadLeft(Columns()[i].value(row->columns()), widths[i]);
    }
    out << line << "\n";
  }
  const v1::CompletionColumns& t = r.total().columns();
  out << "\nTỷ lệ đúng hạn trên hồ sơ đã giải quyết (trước hạn + đúng hạn) / đã giải quyết: "
      << P(t.on_time_rate_over_resolved()) << " ("
      << t.on_time_rate_over_resolved().numerator() << "/"
      << t.on_time_rate_over_resolved().denominator() << ")\n"
      << "Tỷ lệ trễ hạn trên hồ sơ phải giải quyết (quá hạn đã và đang giải quyết) / phải giải "
         "quyết: "
      << P(t.late_rate_over_to_handle()) << " (" << t.late_rate_over_to_handle().numerator()
      << "/" << t.late_rate_over_to_handle().denominator() << ")\n"
      << "Tỷ lệ tiếp nhận trực tuyến: " << P(t.online_share())
      << "; thời gian giải quyết trung bình: "
      << absl::StrFormat("%.1f", t.average_resolution_working_days()) << " ngày làm việc\n"
      << "Số hóa: hồ sơ tiếp nhận có đủ thành phần số hóa / đã tiếp nhận: "
      << P(t.received_digitised_share()) << " (" << t.received_digitised_share().numerator()
      << "/" << t.received_digitised_share().denominator()
      << "); kết quả điện tử / đã giải quyết: " << P(t.electronic_result_share()) << " ("
      << t.electronic_result_share().numerator() << "/"
      << t.electronic_result_share().denominator() << ")\n";
  if (r.late_stages_size() > 0) {
    out << "\nLiên thông — kết quả từng bước theo đơn vị (phiếu kiểm soát):\n";
    for (const auto& s : r.late_stages()) {
      out << absl::StrFormat("  %s  trước hạn %d, đúng hạn %d, quá hạn %d (%s)\n",
                             PadRight(absl::StrCat(s.agency_name(), " (", s.agency_code(), ")"), 60),
                             s.early(), s.on_time(), s.late(), P(s.late_share()));
    }
  }
  if (r.indicators().resolution_time_size() > 0) {
    out << "\nThời gian giải quyết trung bình theo thủ tục (ngày làm việc):\n";
    for (const auto& p : r.indicators().resolution_time()) {
      out << absl::StrFormat("  %-12s %6.1f  (%d hồ sơ)  %s\n", p.procedure_code(),
                             p.average_working_days(), p.resolved(), p.procedure_name());
    }
  }
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
}

void PrintCsv(const v1::GetCompletionReportResponse& r, std::ostream& out) {
  out << "Mã,Đơn vị / nhóm";
  for (const Column& c : Columns()) {
    out << "," << CsvField(c.group.empty() ? c.header : absl::StrCat(c.group, ": ", c.header));
  }
  out << "\n";
  for (const auto* row : AllRows(r)) {
    out << CsvField(row->key()) << "," << CsvField(row->label());
    for (const Column& c : Columns()) {
      out << ",";
      if (c.percent) {
        out << absl::StrFormat("%.4f", c.number(row->columns()) * 100);
      } else {
        out << c.value(row->columns());
      }
    }
    out << "\n";
  }
}

absl::Status WriteXlsx(const v1::GetCompletionReportResponse& r, const std::string& path) {
  lxw_workbook* workbook = workbook_new(path.c_str());
  if (workbook == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", path));
  }
  lxw_format* bold = workbook_add_format(workbook);
  format_set_bold(bold);
  lxw_format* header = workbook_add_format(workbook);
  format_set_bold(header);
  format_set_text_wrap(header);
  format_set_align(header, LXW_ALIGN_CENTER);
  format_set_border(header, LXW_BORDER_THIN);
  lxw_format* percent = workbook_add_format(workbook);
  format_set_num_format(percent, "0.00%");
  lxw_worksheet* sheet = workbook_add_worksheet(workbook, "Báo cáo");
  const std::string title = absl::StrCat("BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ — ", r.scope_label());
  worksheet_write_string(sheet, 0, 0, title.c_str(), bold);
  const std::string period =
      absl::StrCat("Kỳ báo cáo: ", FormatDateVi(r.from()), " – ", FormatDateVi(r.to()));
  worksheet_write_string(sheet, 1, 0, period.c_str(), nullptr);
  worksheet_write_string(sheet, 3, 0, "Mã", header);
  worksheet_write_string(sheet, 3, 1, "Đơn vị / nhóm", header);
  worksheet_write_string(sheet, 4, 0, "", header);
  worksheet_write_string(sheet, 4, 1, "", header);
  for (size_t i = 0; i < Columns().size(); ++i) {
    const Column& c = Columns()[i];
    const lxw_col_t col = static_cast<lxw_col_t>(2 + i);
    worksheet_write_string(sheet, 3, col, c.group.c_str(), header);
    worksheet_write_string(sheet, 4, col, c.header.c_str(), header);
  }
  lxw_row_t line = 5;
  for (const auto* row : AllRows(r)) {
    const bool total = row == &r.total();
    worksheet_write_string(sheet, line, 0, row->key().c_str(), total ? bold : nullptr);
    worksheet_write_string(sheet, line, 1, row->label().c_str(), total ? bold : nullptr);
    for (size_t i = 0; i < Columns().size(); ++i) {
      const Column& c = Columns()[i];
      worksheet_write_number(sheet, line, static_cast<lxw_col_t>(2 + i), c.number(row->columns()),
                             c.percent ? percent : nullptr);
    }
    ++line;
  }
  worksheet_set_column(sheet, 1, 1, 40, nullptr);
  worksheet_set_column(sheet, 2, static_cast<lxw_col_t>(1 + Columns().size()), 12, nullptr);

  lxw_worksheet* stages = workbook_add_worksheet(workbook, "Liên thông");
  const char* stage_headers[] = {"Mã đơn vị", "Đơn vị", "Trước hạn", "Đúng hạn", "Quá hạn",
                                 "Tỷ lệ quá hạn"};
  for (lxw_col_t i = 0; i < 6; ++i) worksheet_write_string(stages, 0, i, stage_headers[i], header);
  line = 1;
  for (const auto& s : r.late_stages()) {
    worksheet_write_string(stages, line, 0, s.agency_code().c_str(), nullptr);
    worksheet_write_string(stages, line, 1, s.agency_name().c_str(), nullptr);
    worksheet_write_number(stages, line, 2, static_cast<double>(s.early()), nullptr);
    worksheet_write_number(stages, line, 3, static_cast<double>(s.on_time()), nullptr);
    worksheet_write_number(stages, line, 4, static_cast<double>(s.late()), nullptr);
    worksheet_write_number(stages, line, 5, s.late_share().percent() / 100.0, percent);
    ++line;
  }
  lxw_worksheet* indicators = workbook_add_worksheet(workbook, "Chỉ số 766");
  worksheet_write_string(indicators, 0, 0, "Tỷ lệ giải quyết trước hạn, đúng hạn", bold);
  worksheet_write_number(indicators, 0, 1,
                         r.indicators().early_or_on_time_share().percent() / 100.0, percent);
  worksheet_write_string(indicators, 1, 0, "Tỷ lệ tiếp nhận trực tuyến", bold);
  worksheet_write_number(indicators, 1, 1, r.indicators().online_share().percent() / 100.0,
                         percent);
  worksheet_write_string(indicators, 2, 0, "Tỷ lệ hồ sơ số hóa đủ thành phần khi tiếp nhận", bold);
  worksheet_write_number(indicators, 2, 1,
                         r.indicators().received_digitised_share().percent() / 100.0, percent);
  worksheet_write_string(indicators, 3, 0, "Tỷ lệ kết quả điện tử", bold);
  worksheet_write_number(indicators, 3, 1,
                         r.indicators().electronic_result_share().percent() / 100.0, percent);
  worksheet_write_string(indicators, 5, 0, "Thủ tục", header);
  worksheet_write_string(indicators, 5, 1, "Tên thủ tục", header);
  worksheet_write_string(indicators, 5, 2, "Số hồ sơ đã giải quyết", header);
  worksheet_write_string(indicators, 5, 3, "Thời gian TB (ngày làm việc)", header);
  line = 6;
  for (const auto& p : r.indicators().resolution_time()) {
    worksheet_write_string(indicators, line, 0, p.procedure_code().c_str(), nullptr);
    worksheet_write_string(indicators, line, 1, p.procedure_name().c_str(), nullptr);
    worksheet_write_number(indicators, line, 2, static_cast<double>(p.resolved()), nullptr);
    worksheet_write_number(indicators, line, 3, p.average_working_days(), nullptr);
    ++line;
  }
  const lxw_error error = workbook_close(workbook);
  if (error != LXW_NO_ERROR) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", path, ": ", lxw_strerror(error)));
  }
  return absl::OkStatus();
}

absl::Status Report(CommandContext& ctx, const ReportArgs& args) {
  v1::GetCompletionReportRequest request;
  if (!args.agency.empty() && !args.level.empty()) {
    return absl::InvalidArgumentError("give --agency or --level, not both");
  }
  if (!args.agency.empty()) request.set_agency_code(args.agency);
  if (!args.level.empty()) request.set_level(args.level);
  absl::StatusOr<v1::Date> from = ParseDate("--from", args.from);
  if (!from.ok()) return from.status();
  absl::StatusOr<v1::Date> to = ParseDate("--to", args.to);
  if (!to.ok()) return to.status();
  *request.mutable_from() = *from;
  *request.mutable_to() = *to;
  const std::string group = absl::AsciiStrToUpper(args.group_by);
  v1::ReportGroupBy group_by;
  if (!v1::ReportGroupBy_Parse(absl::StrCat("REPORT_GROUP_BY_", group), &group_by)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--group-by: \"", args.group_by, "\"; one of none, agency, level, procedure, channel, field"));
  }
  request.set_group_by(group_by);
  if (args.withdrawn == "on-time") request.set_withdrawn_policy(v1::WITHDRAWN_POLICY_ON_TIME);
  if (args.withdrawn == "not-resolved") {
    request.set_withdrawn_policy(v1::WITHDRAWN_POLICY_NOT_RESOLVED);
  }
  std::string output = args.output;
  if (output.empty()) output = ctx.options().output == OutputFormat::kJson ? "json" : "table";
  if (output == "xlsx" && args.out.empty()) {
    return absl::InvalidArgumentError("--output=xlsx needs --out FILE.xlsx");
  }

  std::unique_ptr<v1::ReportService::Stub> reports = v1::ReportService::NewStub(ctx.channel());
  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewRpc();
  v1::GetCompletionReportResponse response;
  const grpc::Status status = reports->GetCompletionReport(rpc.get(), request, &response);
  if (!status.ok()) return ctx.FromRpc(status);

  if (output == "xlsx") return WriteXlsx(response, args.out);
  std::ostringstream text;
  if (output == "json") {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(response, &json, options).ok()) {
      return absl::InternalError("cannot render the report as JSON");
    }
    text << json;
  } else if (output == "csv") {
    PrintCsv(response, text);
  } else {
    PrintTable(response, text);
  }
  if (args.out.empty()) {
    std::cout << text.str();
    return absl::OkStatus();
  }
  std::ofstream file(args.out, std::ios::binary);
  file << text.str();
  file.close();
  if (!file) return absl::FailedPreconditionError(absl::StrCat("cannot write ", args.out));
  return absl::OkStatus();
}

}  // namespace

void RegisterReportCommand(CLI::App& app, CommandRegistry& registry) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Completion and on-time report (báo cáo tình hình giải quyết hồ sơ)");
  cmd->footer(
      "Scope: an agency with everything below it (--agency), or a level across the\n"
      "province (--level). Both rates are printed, labelled: on time over resolved\n"
      "(early + on time) / resolved, and late over to-handle.\n"
      "Examples:\n"
      "  onestopctl report --agency 000.00.31.H15 --from 2020-01-01 --to 2020-09-30\n"
      "  onestopctl report --level commune --from 2020-04-01 --to 2020-06-30 --group-by agency\n"
      "  onestopctl report --agency 000.00.00.H15 --from 2020-01-01 --to 2020-12-31 \\\n"
      "      --group-by field --output=xlsx --out bao-cao-2020.xlsx\n"
      "  onestopctl report --agency 000.00.31.H15 --from 2020-01-01 --to 2020-03-31 --output=csv");
  cmd->add_option("--agency", args->agency, "Agency code: the agency and every agency below it");
  cmd->add_option("--level", args->level, "Level code: every agency at this level");
  cmd->add_option("--from", args->from, "First day, YYYY-MM-DD")->required();
  cmd->add_option("--to", args->to, "Last day, YYYY-MM-DD (inclusive)")->required();
  cmd->add_option("--group-by", args->group_by,
                  "none, agency, level, procedure, channel or field")
      ->capture_default_str();
  cmd->add_option("--withdrawn", args->withdrawn,
                  "Withdrawals: default (the server's setting), on-time, not-resolved")
      ->check(CLI::IsMember({"default", "on-time", "not-resolved"}))
      ->capture_default_str();
  cmd->add_option("--output,-o", args->output, "table, json, csv or xlsx (default: the global --output)")
      ->check(CLI::IsMember({"table", "json", "csv", "xlsx"}));
  cmd->add_option("--out", args->out, "Write to this file instead of the terminal (required for xlsx)");
  registry.Add(cmd, [args](CommandContext& ctx) { return Report(ctx, *args); });
}

}  // namespace onestop::client
