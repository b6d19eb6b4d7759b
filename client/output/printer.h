// The printer interface of onestopctl: one method per view, two
// implementations chosen by --output. Commands fetch; printers only render.
// A printer writes results to `out` and side notes (e.g. the JSON list's
// next page token) to `err`; both streams are borrowed and must outlive it.
// Printers are not thread-safe.
#ifndef ONESTOP_CLIENT_OUTPUT_PRINTER_H_
#define ONESTOP_CLIENT_OUTPUT_PRINTER_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "onestop/v1/catalogue.pb.h"
#include "onestop/v1/dossier.pb.h"
#include "onestop/v1/dossier_service.pb.h"
#include "onestop/v1/security_service.pb.h"

namespace onestop::client {

class Printer {
 public:
  virtual ~Printer() = default;

  // `show`: the whole dossier with its history (tables also list the
  // digitised components: size, SHA-256 prefix, stage, who attached them
  // and when).
  virtual absl::Status PrintDossier(const v1::Dossier& dossier) = 0;
  // `submit`: the receipt — code, status and the appointment time.
  virtual absl::Status PrintReceipt(const v1::Dossier& dossier) = 0;
  // Lifecycle verbs: the dossier after the change (short form in tables:
  // code, status, holder, due, etag).
  virtual absl::Status PrintChange(const v1::Dossier& dossier) = 0;
  // `list`: one line per dossier; an empty `next_page_token` means the last
  // page.
  virtual absl::Status PrintDossierList(
      const google::protobuf::RepeatedPtrField<v1::Dossier>& dossiers,
      const std::string& next_page_token) = 0;
  // `agencies`.
  virtual absl::Status PrintAgencies(
      const google::protobuf::RepeatedPtrField<v1::Agency>& agencies) = 0;
  // `procedures`.
  virtual absl::Status PrintProcedures(
      const google::protobuf::RepeatedPtrField<v1::Procedure>& procedures) = 0;
  // `admin clock …`.
  virtual absl::Status PrintClock(const v1::ClockState& clock) = 0;
  // `calendar`: the working rules, then one line per special day (tables:
  // dd/MM/yyyy, Vietnamese weekday and kind, name; JSON: one SpecialDay
  // object per line).
  virtual absl::Status PrintCalendar(const v1::GetCalendarResponse& calendar) = 0;
  // `show --slip`: the control slip (phiếu kiểm soát quá trình giải quyết hồ
  // sơ) of an interlinked dossier — tables mimic the official form with
  // Vietnamese headers; JSON prints one SlipEntry per line.
  virtual absl::Status PrintControlSlip(const v1::Dossier& dossier) = 0;
  // `admin token create`: the new token and its secret, which exists only
  // in this answer (tables say so first; JSON prints the whole response).
  virtual absl::Status PrintNewToken(const v1::CreateTokenResponse& created) = 0;
  // `admin token list` and `revoke`: one line per token; never a secret.
  virtual absl::Status PrintTokens(
      const google::protobuf::RepeatedPtrField<v1::TokenInfo>& tokens) = 0;
  // `admin audit`: one line per record, oldest first, then where the next
  // page starts unless `page.next_after_sequence()` is 0 (tables: a line on
  // `out`; JSON: on `err`).
  virtual absl::Status PrintAudit(const v1::ListAuditResponse& page) = 0;
  // `lookup`: what a citizen may learn — status and appointment.
  virtual absl::Status PrintLookup(const v1::LookupDossierResponse& lookup) = 0;
  // `attach` and `fetch`: one digitised component (tables: id, type, file
  // name, size in bytes, full SHA-256, stage; then "Dossier etag: N" when
  // `dossier_etag` > 0, i.e. after an attach; JSON: the DossierComponent
  // object alone).
  virtual absl::Status PrintComponent(const v1::DossierComponent& component,
                                      int64_t dossier_etag) = 0;
};

// Returns the human printer: aligned tables, times as "HH:MM dd/MM/yyyy" in
// `tz`, Vietnamese labels next to the status names.
std::unique_ptr<Printer> NewTablePrinter(std::ostream& out, std::ostream& err,
                                         absl::TimeZone tz);

// Returns the machine printer: the proto JSON mapping (lowerCamelCase field
// names, enum names, RFC3339 UTC times, default values omitted). Single
// objects print pretty; lists print one compact object per line.
std::unique_ptr<Printer> NewJsonPrinter(std::ostream& out, std::ostream& err);

}  // namespace onestop::client

#endif  // ONESTOP_CLIENT_OUTPUT_PRINTER_H_
