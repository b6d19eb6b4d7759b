// The --output=json printer: protobuf's canonical JSON mapping, so field
// names are the proto JSON names and scripts can parse with any proto
// library. Lists are JSON Lines (one object per line) so they stream and
// concatenate across pages; the next page token goes to `err`, keeping
// `out` pure JSON.
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/output/printer.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"

namespace onestop::client {
namespace {

enum class Layout { kPretty, kLine };

class JsonPrinter final : public Printer {
 public:
  JsonPrinter(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  absl::Status PrintDossier(const v1::Dossier& dossier) override {
    return Write(dossier, Layout::kPretty);
  }
  absl::Status PrintReceipt(const v1::Dossier& dossier) override {
    return Write(dossier, Layout::kPretty);
  }
  absl::Status PrintChange(const v1::Dossier& dossier) override {
    return Write(dossier, Layout::kPretty);
  }
  absl::Status PrintDossierList(
      const google::protobuf::RepeatedPtrField<v1::Dossier>& dossiers,
      const std::string& next_page_token) override {
    for (const v1::Dossier& dossier : dossiers) {
      absl::Status status = Write(dossier, Layout::kLine);
      if (!status.ok()) return status;
    }
    if (!next_page_token.empty()) {
      err_ << "next page token: " << next_page_token << '\n';
    }
    return absl::OkStatus();
  }
  absl::Status PrintAgencies(
      const google::protobuf::RepeatedPtrField<v1::Agency>& agencies) override {
    return WriteAll(agencies);
  }
  absl::Status PrintProcedures(
      const google::protobuf::RepeatedPtrField<v1::Procedure>& procedures)
      override {
    return WriteAll(procedures);
  }
  absl::Status PrintClock(const v1::ClockState& clock) override {
    return Write(clock, Layout::kPretty);
  }
  absl::Status PrintCalendar(const v1::GetCalendarResponse& calendar) override {
    return WriteAll(calendar.days());
  }

  absl::Status PrintControlSlip(const v1::Dossier& dossier) override {
    return WriteAll(dossier.slip());
  }
  absl::Status PrintNewToken(const v1::CreateTokenResponse& created) override {
    return Write(created, Layout::kPretty);
  }
  absl::Status PrintTokens(
      const google::protobuf::RepeatedPtrField<v1::TokenInfo>& tokens) override {
    return WriteAll(tokens);
  }
  absl::Status PrintAudit(const v1::ListAuditResponse& page) override {
    absl::Status status = WriteAll(page.records());
    if (status.ok() && page.next_after_sequence() != 0) {
      err_ << "next page: --after " << page.next_after_sequence() << '\n';
    }
    return status;
  }
  absl::Status PrintLookup(const v1::LookupDossierResponse& lookup) override {
    return Write(lookup, Layout::kPretty);
  }
  absl::Status PrintComponent(const v1::DossierComponent& component,
                              int64_t) override {
    return Write(component, Layout::kPretty);
  }

 private:
  template <typename T>
  absl::Status WriteAll(const google::protobuf::RepeatedPtrField<T>& items) {
    for (const T& item : items) {
      absl::Status status = Write(item, Layout::kLine);
      if (!status.ok()) return status;
    }
    return absl::OkStatus();
  }

  absl::Status Write(const google::protobuf::Message& message, Layout layout) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = layout == Layout::kPretty;
    std::string json;
    const auto status =
        google::protobuf::util::MessageToJsonString(message, &json, options);
    if (!status.ok()) {
      return absl::InternalError(
          absl::StrCat("cannot render JSON: ", status.ToString()));
    }
    // The pretty form already ends with a newline; the compact one does not.
    if (json.empty() || json.back() != '\n') json.push_back('\n');
    out_ << json;
    return absl::OkStatus();
  }

  std::ostream& out_;
  std::ostream& err_;
};

}  // namespace

std::unique_ptr<Printer> NewJsonPrinter(std::ostream& out, std::ostream& err) {
  return std::make_unique<JsonPrinter>(out, err);
}

}  // namespace onestop::client
