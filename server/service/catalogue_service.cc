#include "server/service/catalogue_service.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/service/unary_call.h"
#include "server/util/status_macros.h"

namespace onestop::service {

grpc::ServerUnaryReactor* CatalogueServiceImpl::ListAgencies(
    grpc::CallbackServerContext* context, const onestop::v1::ListAgenciesRequest* request,
    onestop::v1::ListAgenciesResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_RETURN_IF_ERROR(guard_->Check(*context, core::Permission::kReadCatalogue, {},
                                          {.rpc = "ListAgencies"})
                                .status());
    const auto catalogue = manager_->catalogue();
    std::optional<absl::CivilDay> valid_on;
    if (request->has_valid_on()) {
      const onestop::v1::Date& d = request->valid_on();
      valid_on = core::ToCivilDay(d);
      if (!valid_on || valid_on->year() != d.year() || valid_on->month() != d.month() ||
          valid_on->day() != d.day()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "valid_on: ", d.year(), "-", d.month(), "-", d.day(), " is not a calendar date"));
      }
    }
    for (const onestop::v1::Agency& agency : catalogue->agencies()) {
      if (valid_on && !catalogue->AgencyValidOn(agency, *valid_on)) continue;
      *response->add_agencies() = agency;
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CatalogueServiceImpl::ListProcedures(
    grpc::CallbackServerContext* context, const onestop::v1::ListProceduresRequest* request,
    onestop::v1::ListProceduresResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_RETURN_IF_ERROR(guard_->Check(*context, core::Permission::kReadCatalogue, {},
                                          {.rpc = "ListProcedures"})
                                .status());
    for (const onestop::v1::Procedure& procedure : manager_->catalogue()->procedures()) {
      if (!request->level().empty() && procedure.level() != request->level()) continue;
      *response->add_procedures() = procedure;
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CatalogueServiceImpl::GetCalendar(
    grpc::CallbackServerContext* context, const onestop::v1::GetCalendarRequest* request,
    onestop::v1::GetCalendarResponse* response) {
  return RunUnary(context, executor_, [=]() -> absl::Status {
    ONESTOP_RETURN_IF_ERROR(guard_->Check(*context, core::Permission::kReadCatalogue, {},
                                          {.rpc = "GetCalendar"})
                                .status());
    ONESTOP_ASSIGN_OR_RETURN(*response, manager_->Calendar(*request));
    return absl::OkStatus();
  });
}

}  // namespace onestop::service
