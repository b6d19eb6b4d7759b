// The printer interface of onestopctl: one method per view, two
// implementations chosen by --output. Commands fetch; printers only render.
// A printer writes results to `out` and side notes (e.g. the JSON list's
// next page token) to `err`; both streams are borrowed and must outlive it.
// Printers are not thread-safe.
#ifndef ONESTOP_CLIENT_OUTPUT_PRINTER_H_
#define ONESTOP_CLIENT_OUTPUT_PRINTER_H_

#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "onestop/v1/catalogue.pb.h"
#include "onestop/v1/dossier.pb.h"
#include "onestop/v1/dossier_service.pb.h"

namespace onestop::client {

class Printer {
 public:
  virtual ~Printer() = default;

  // `show`: the whole dossier with its history.
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
