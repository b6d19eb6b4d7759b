// The --output=table printer: what a clerk reads at the desk. Times are in
// the desk's zone in the official forms' "HH:MM dd/MM/yyyy" style; columns
// align by display width so Vietnamese names line up.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/output/format.h"
#include "client/output/printer.h"

namespace onestop::client {
namespace {

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

// "RECEIVED — Được tiếp nhận (portal 2)"
std::string StatusLong(v1::DossierStatus status) {
  const std::string vi = StatusLabelVi(status);
  return absl::StrCat(StatusName(status), vi.empty() ? "" : " — ", vi,
                      " (portal ", static_cast<int>(status), ")");
}

std::string TimelinessLong(v1::Timeliness timeliness) {
  const std::string vi = TimelinessLabelVi(timeliness);
  return vi.empty() ? TimelinessName(timeliness)
                    : absl::StrCat(TimelinessName(timeliness), " (", vi, ")");
}

std::string Documents(
    const google::protobuf::RepeatedPtrField<v1::SubmittedDocument>& docs) {
  std::vector<std::string> parts;
  for (const auto& doc : docs) {
    parts.push_back(absl::StrCat(doc.name(), " ×", doc.copies()));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, "; ");
}

std::string ApplicantLine(const v1::Applicant& a) {
  std::vector<std::string> parts = {OrDash(a.full_name())};
  if (!a.personal_id().empty()) parts.push_back("ID " + a.personal_id());
  if (!a.phone().empty()) parts.push_back("tel " + a.phone());
  if (!a.email().empty()) parts.push_back(a.email());
  if (!a.address().empty()) parts.push_back(a.address());
  return absl::StrJoin(parts, ", ");
}

// Key–value lines with the keys padded to one width.
class Fields {
 public:
  void Add(std::string key, std::string value) {
    rows_.emplace_back(std::move(key), std::move(value));
  }
  void Print(std::ostream& out) const {
    int width = 0;
    for (const auto& [key, value] : rows_) {
      width = std::max(width, DisplayWidth(key));
    }
    for (const auto& [key, value] : rows_) {
      out << key << ':'
          << std::string(static_cast<size_t>(width - DisplayWidth(key)) + 2,
                         ' ')
          << value << '\n';
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> rows_;
};

class TablePrinter final : public Printer {
 public:
  TablePrinter(std::ostream& out, absl::TimeZone tz)
      : out_(out), tz_(tz) {}

  absl::Status PrintDossier(const v1::Dossier& d) override {
    Fields f;
    f.Add("Dossier", d.code());
    f.Add("Etag", absl::StrCat(d.etag()));
    f.Add("Status", StatusLong(d.status()));
    f.Add("Procedure", OrDash(d.procedure_code()));
    f.Add("Receiving agency", OrDash(d.receiving_agency_code()));
    f.Add("Holder", OrDash(d.holder_agency_code()));
    f.Add("Deciding agency", OrDash(d.deciding_agency_code()));
    f.Add("Applicant", ApplicantLine(d.applicant()));
    f.Add("Channel", ChannelName(d.channel()));
    f.Add("Summary", OrDash(d.summary()));
    f.Add("Documents", Documents(d.documents()));
    f.Add("Submitted", Time(d.submitted_time()));
    f.Add("Received", Time(d.received_time()));
    f.Add("Due", Time(d.due_time()));
    f.Add("Original due", Time(d.original_due_time()));
    if (d.has_rescheduled_due_time()) {
      // What the citizen was told; timeliness still follows "Due".
      const std::string reason = RescheduleReason(d);
      f.Add("Hẹn lại (Form 04)",
            absl::StrCat(Time(d.rescheduled_due_time()),
                         reason.empty() ? "" : " — ", reason));
    }
    f.Add("Finished", Time(d.finished_time()));
    f.Add("Returned", d.has_returned_time()
                          ? absl::StrCat(Time(d.returned_time()), " (",
                                         ReturnModeName(d.return_mode()), ")")
                          : "-");
    if (d.has_closed_time()) f.Add("Closed", Time(d.closed_time()));
    f.Add("Timeliness", TimelinessLong(d.timeliness()));
    f.Add("Decision", DecisionLine(d));
    if (!d.closing_reason().empty()) f.Add("Closing reason", d.closing_reason());
    f.Print(out_);

    if (d.supplements_size() > 0) {
      out_ << "\nSupplements\n";
      Table t({"PHASE", "AGENCY", "REQUESTED", "SUPPLIED", "MISSING ITEMS",
               "NOTE"});
      for (const auto& s : d.supplements()) {
        std::string phase =
            s.phase() == v1::SUPPLEMENT_PHASE_RECEPTION    ? "reception"
            : s.phase() == v1::SUPPLEMENT_PHASE_PROCESSING ? "processing"
                                                           : "-";
        t.AddRow({phase, OrDash(s.agency_code()), Time(s.requested_time()),
                  s.has_supplied_time() ? Time(s.supplied_time()) : "awaited",
                  OrDash(absl::StrJoin(s.missing_items(), "; ")),
                  OrDash(s.note())});
      }
      t.Print(out_);
    }
    if (d.pauses_size() > 0) {
      out_ << "\nClock pauses (dừng tính thời gian; Due moves by the working "
              "time paused)\n";
      Table t({"FROM", "TO", "REASON"});
      for (const auto& p : d.pauses()) {
        t.AddRow({Time(p.start_time()),
                  p.has_end_time() ? Time(p.end_time()) : "ongoing",
                  PauseReasonVi(p.reason())});
      }
      t.Print(out_);
    }
    if (d.components_size() > 0) {
      out_ << "\nComponents (digitised; onestopctl fetch " << d.code()
           << " ID --out FILE)\n";
      Table t({"ID", "TYPE", "FILE NAME", "SIZE", "SHA-256", "STAGE",
               "ATTACHED BY", "ATTACHED"});
      for (const auto& c : d.components()) {
        t.AddRow({c.id(), OrDash(c.component_type()),
                  OrDash(OneLine(c.file_name())), FormatByteSize(c.size_bytes()),
                  ShaPrefix(c.sha256()), ComponentStageName(c.stage()),
                  OrDash(c.attached_by()), Time(c.attached_time())});
      }
      t.Print(out_);
    }
    out_ << "\nHistory\n";
    Table t({"#", "TIME", "ACTOR", "ACTION", "FROM → TO", "HOLDER", "NOTE"});
    for (const auto& h : d.history()) {
      t.AddRow({absl::StrCat(h.sequence()), Time(h.time()), OrDash(h.actor()),
                ActionName(h.action()),
                absl::StrCat(h.from_status() == v1::DOSSIER_STATUS_UNSPECIFIED
                                 ? "-"
                                 : StatusName(h.from_status()),
                             " → ", StatusName(h.to_status())),
                OrDash(h.holder_agency_code()), h.note()});
    }
    t.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintReceipt(const v1::Dossier& d) override {
    Fields f;
    f.Add("Dossier code", d.code());
    f.Add("Status", StatusLong(d.status()));
    f.Add("Applicant", OrDash(d.applicant().full_name()));
    f.Add("Procedure", OrDash(d.procedure_code()));
    if (d.has_received_time()) {
      f.Add("Received", Time(d.received_time()));
      f.Add("Appointment", Time(d.due_time()));
    } else {
      f.Add("Appointment",
            absl::StrCat("- (not received yet: onestopctl accept ", d.code(),
                         ")"));
    }
    f.Add("Etag", absl::StrCat(d.etag()));
    f.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintComponent(const v1::DossierComponent& c,
                              int64_t dossier_etag) override {
    Table t({"ID", "TYPE", "FILE NAME", "SIZE", "SHA-256", "STAGE"});
    t.AddRow({c.id(), OrDash(c.component_type()), OrDash(OneLine(c.file_name())),
              absl::StrCat(c.size_bytes(), " (", FormatByteSize(c.size_bytes()),
                           ")"),
              OrDash(c.sha256()), ComponentStageName(c.stage())});
    t.Print(out_);
    if (dossier_etag > 0) out_ << "Dossier etag: " << dossier_etag << '\n';
    return absl::OkStatus();
  }

  absl::Status PrintChange(const v1::Dossier& d) override {
    if (d.has_rescheduled_due_time()) {
      Table t({"CODE", "STATUS", "HOLDER", "DUE", "HẸN LẠI (FORM 04)", "ETAG"});
      t.AddRow({d.code(), StatusShort(d.status()), OrDash(d.holder_agency_code()),
                Time(d.due_time()), Time(d.rescheduled_due_time()),
                absl::StrCat(d.etag())});
      t.Print(out_);
      return absl::OkStatus();
    }
    Table t({"CODE", "STATUS", "HOLDER", "DUE", "ETAG"});
    t.AddRow({d.code(), StatusShort(d.status()), OrDash(d.holder_agency_code()),
              Time(d.due_time()), absl::StrCat(d.etag())});
    t.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintDossierList(
      const google::protobuf::RepeatedPtrField<v1::Dossier>& dossiers,
      const std::string& next_page_token) override {
    Table t({"CODE", "STATUS", "PROCEDURE", "HOLDER", "RECEIVED", "DUE",
             "TIMELINESS"});
    for (const auto& d : dossiers) {
      t.AddRow({d.code(), StatusShort(d.status()), OrDash(d.procedure_code()),
                OrDash(d.holder_agency_code()), Time(d.received_time()),
                Time(d.due_time()), TimelinessName(d.timeliness())});
    }
    t.Print(out_);
    if (!next_page_token.empty()) {
      out_ << "next page token: " << next_page_token << '\n';
    }
    return absl::OkStatus();
  }

  absl::Status PrintAgencies(
      const google::protobuf::RepeatedPtrField<v1::Agency>& agencies) override {
    Table t({"CODE", "NAME", "LEVEL", "PARENT", "VALID"});
    for (const auto& a : agencies) {
      std::string valid;
      const std::string from = FormatDate(a.valid_from());
      const std::string to = FormatDate(a.valid_to());
      if (!from.empty() || !to.empty()) {
        valid = absl::StrCat(from.empty() ? "…" : from, " – ",
                             to.empty() ? "…" : to);
      }
      t.AddRow({a.code(), a.name(), OrDash(a.level()), OrDash(a.parent_code()),
                OrDash(valid)});
    }
    t.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintProcedures(
      const google::protobuf::RepeatedPtrField<v1::Procedure>& procedures)
      override {
    Table t({"CODE", "NAME", "LEVEL", "DEADLINE", "DECIDED BY", "FEE",
             "FIELD"});
    for (const auto& p : procedures) {
      t.AddRow({p.code(), p.name(), OrDash(p.level()), DeadlineVi(p.deadline()),
                p.deciding_agency_code().empty() ? "(receiving agency)"
                                                 : p.deciding_agency_code(),
                FormatVnd(p.fee_vnd()), OrDash(p.field())});
    }
    t.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintCalendar(const v1::GetCalendarResponse& c) override {
    Fields f;
    f.Add("Time zone", OrDash(c.time_zone()));
    std::vector<std::string> rest;
    for (int32_t weekday : c.weekly_rest_days()) rest.push_back(IsoWeekdayVi(weekday));
    f.Add("Rest days", rest.empty() ? "-" : absl::StrJoin(rest, ", "));
    std::vector<std::string> sessions;
    for (const auto& s : c.sessions()) {
      sessions.push_back(absl::StrCat(s.start(), "–", s.end()));
    }
    f.Add("Sessions", sessions.empty() ? "-" : absl::StrJoin(sessions, ", "));
    f.Add("Cut-off", c.cutoff().empty()
                         ? "-"
                         : absl::StrCat(c.cutoff(),
                                        " (received later: counting starts the "
                                        "next working day)"));
    f.Print(out_);
    out_ << '\n';
    Table t({"DATE", "WEEKDAY", "KIND", "NAME"});
    for (const auto& day : c.days()) {
      t.AddRow({FormatDateVi(day.date()), OrDash(WeekdayVi(day.date())),
                OrDash(CalendarDayKindVi(day.kind())), OrDash(day.name())});
    }
    t.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintControlSlip(const v1::Dossier& d) override {
    out_ << "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ\n";
    Fields f;
    f.Add("Mã hồ sơ", d.code());
    f.Add("Cơ quan tiếp nhận", d.receiving_agency_code());
    f.Add("Ngày nhận", Time(d.received_time()));
    f.Add("Hẹn trả", Time(d.due_time()));
    f.Print(out_);
    out_ << '\n';
    if (d.slip_size() == 0) {
      out_ << "(no hand-overs: not an interlinked dossier, or not yet forwarded)\n";
      return absl::OkStatus();
    }
    Table t({"BƯỚC", "BÊN GIAO", "BÊN NHẬN", "GIAO LÚC", "NHẬN LÚC", "HẠN XỬ LÝ",
             "HOÀN THÀNH", "KẾT QUẢ"});
    for (const v1::SlipEntry& row : d.slip()) {
      t.AddRow({row.stage_index() == 0 ? "trả" : absl::StrCat(row.stage_index()),
                row.from_agency_code(), row.to_agency_code(), Time(row.handed_time()),
                Time(row.received_time()), Time(row.due_time()), Time(row.completed_time()),
                SlipOutcomeVi(row.outcome())});
    }
    t.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintNewToken(const v1::CreateTokenResponse& created) override {
    const v1::TokenInfo& token = created.token();
    out_ << "The secret below is shown once and cannot be shown again: store it "
            "now (e.g. in a file only you can read, for --token-file).\n";
    Fields f;
    f.Add("Secret", created.secret());
    f.Add("Token id", token.id());
    f.Add("Principal", token.principal().id());
    f.Add("Grants", Grants(token.principal()));
    if (token.principal().service_writes_size() > 0) {
      f.Add("Service writes", absl::StrJoin(token.principal().service_writes(), ", "));
    }
    if (!token.label().empty()) f.Add("Label", token.label());
    f.Add("Expires", Time(token.expire_time()));
    f.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintTokens(
      const google::protobuf::RepeatedPtrField<v1::TokenInfo>& tokens) override {
    Table t({"ID", "PRINCIPAL", "GRANTS", "LABEL", "CREATED", "EXPIRES", "REVOKED"});
    for (const v1::TokenInfo& token : tokens) {
      std::string grants = Grants(token.principal());
      if (token.principal().service_writes_size() > 0) {
        absl::StrAppend(&grants, " (writes: ",
                        absl::StrJoin(token.principal().service_writes(), ", "), ")");
      }
      t.AddRow({token.id(), OrDash(token.principal().id()), grants,
                OrDash(OneLine(token.label())), Time(token.create_time()),
                Time(token.expire_time()), Time(token.revoke_time())});
    }
    t.Print(out_);
    return absl::OkStatus();
  }

  absl::Status PrintAudit(const v1::ListAuditResponse& page) override {
    Table t({"SEQ", "TIME", "PRINCIPAL", "RPC", "DOSSIER", "AGENCY", "RESULT", "MESSAGE"});
    for (const v1::AuditRecord& r : page.records()) {
      // An empty principal is a caller without valid credentials.
      t.AddRow({absl::StrCat(r.sequence()), SecondsTime(r.time()),
                r.principal_id().empty() ? "(none)" : r.principal_id(), OrDash(r.rpc()),
                OrDash(r.dossier_code()), OrDash(r.agency_code()),
                RpcCodeName(r.result_code()), OneLine(r.message())});
    }
    t.Print(out_);
    if (page.next_after_sequence() != 0) {
      out_ << "next page: --after " << page.next_after_sequence() << '\n';
    }
    return absl::OkStatus();
  }

  absl::Status PrintLookup(const v1::LookupDossierResponse& lookup) override {
    Fields f;
    f.Add("Dossier", lookup.code());
    f.Add("Status", StatusLong(lookup.status()));
    f.Add("Appointment", Time(lookup.due_time()));
    if (lookup.has_rescheduled_due_time()) {
      f.Add("Hẹn lại (Form 04)", Time(lookup.rescheduled_due_time()));
    }
    f.Print(out_);
    return absl::OkStatus();
  }

  static std::string SlipOutcomeVi(v1::StageOutcome outcome) {
    switch (outcome) {
      case v1::STAGE_OUTCOME_EARLY: return "Trước hạn";
      case v1::STAGE_OUTCOME_ON_TIME: return "Đúng hạn";
      case v1::STAGE_OUTCOME_LATE: return "Quá hạn";
      default: return "-";
    }
  }

  absl::Status PrintClock(const v1::ClockState& clock) override {
    Fields f;
    const absl::Time now = ToTime(clock.now());
    f.Add("Now", absl::StrCat(Time(clock.now()), " (",
                              absl::FormatTime("%a ", now, tz_),
                              FormatRfc3339(now, tz_), ")"));
    f.Add("Mode", clock.mode() == v1::CLOCK_MODE_CONTROLLED ? "controlled"
                  : clock.mode() == v1::CLOCK_MODE_SYSTEM   ? "system"
                                                            : "-");
    f.Add("Pinned", clock.pinned() ? "yes" : "no");
    f.Print(out_);
    return absl::OkStatus();
  }

 private:
  std::string Time(const google::protobuf::Timestamp& ts) const {
    return FormatDeskTime(ts, tz_);
  }

  // Audit records are seconds apart; minutes would merge them.
  std::string SecondsTime(const google::protobuf::Timestamp& ts) const {
    const absl::Time t = ToTime(ts);
    return t == absl::InfinitePast() ? "-" : absl::FormatTime("%H:%M:%S %d/%m/%Y", t, tz_);
  }

  static std::string Grants(const v1::Principal& principal) {
    std::vector<std::string> grants;
    for (const v1::Grant& grant : principal.grants()) grants.push_back(GrantText(grant));
    return grants.empty() ? "-" : absl::StrJoin(grants, ", ");
  }

  // Table cells must not contain newlines.
  static std::string OneLine(const std::string& text) {
    return absl::StrReplaceAll(text, {{"\r\n", " "}, {"\n", " "}, {"\r", " "}, {"\t", " "}});
  }

  // Enough of a SHA-256 to tell components apart at a glance; `fetch` and
  // --output=json give the whole.
  static std::string ShaPrefix(const std::string& sha256) {
    if (sha256.empty()) return "-";
    return sha256.size() > 12 ? sha256.substr(0, 12) + "…" : sha256;
  }

  // The reason of the (one) reschedule: its history entry's note.
  static std::string RescheduleReason(const v1::Dossier& d) {
    for (const auto& h : d.history()) {
      if (h.action() == v1::ACTION_KIND_RESCHEDULE) return h.note();
    }
    return "";
  }

  static std::string IsoWeekdayVi(int32_t weekday) {
    static const char* const kNames[] = {"Thứ Hai", "Thứ Ba",  "Thứ Tư",  "Thứ Năm",
                                         "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"};
    return weekday >= 1 && weekday <= 7 ? kNames[weekday - 1] : absl::StrCat(weekday);
  }

  std::string DecisionLine(const v1::Dossier& d) const {
    if (!d.has_decision() ||
        d.decision().outcome() == v1::DECISION_OUTCOME_UNSPECIFIED) {
      return "-";
    }
    const v1::Decision& dec = d.decision();
    std::string line = dec.outcome() == v1::DECISION_OUTCOME_APPROVED
                           ? "approved"
                           : "denied";
    if (!dec.agency_code().empty()) absl::StrAppend(&line, " by ", dec.agency_code());
    if (dec.has_decided_time()) {
      absl::StrAppend(&line, " at ", Time(dec.decided_time()));
    }
    if (!dec.reason().empty()) absl::StrAppend(&line, ": ", dec.reason());
    return line;
  }

  std::ostream& out_;
  absl::TimeZone tz_;
};

}  // namespace

std::unique_ptr<Printer> NewTablePrinter(std::ostream& out, std::ostream& err,
                                         absl::TimeZone tz) {
  return std::make_unique<TablePrinter>(out, tz);
}

}  // namespace onestop::client
