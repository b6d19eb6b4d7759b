#include "server/service/catalogue_service.h"

#include "absl/strings/str_cat.h"
#include "server/service/status_mapping.h"

namespace onestop::service {

grpc::ServerUnaryReactor* CatalogueServiceImpl::ListAgencies(
    grpc::CallbackServerContext* context, const onestop::v1::ListAgenciesRequest* request,
    onestop::v1::ListAgenciesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto catalogue = manager_->catalogue();
  std::optional<absl::CivilDay> valid_on;
  if (request->has_valid_on()) {
    const onestop::v1::Date& d = request->valid_on();
    valid_on = core::ToCivilDay(d);
    if (!valid_on || valid_on->year() != d.year() || valid_on->month() != d.month() ||
        valid_on->day() != d.day()) {
      reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("valid_on: ", d.year(), "-", d.month(), "-", d.day(),
                       " is not a calendar date"))));
      return reactor;
    }
  }
  for (const onestop::v1::Agency& agency : catalogue->agencies()) {
    if (valid_on && !catalogue->AgencyValidOn(agency, *valid_on)) continue;
    *response->add_agencies() = agency;
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CatalogueServiceImpl::ListProcedures(
    grpc::CallbackServerContext* context, const onestop::v1::ListProceduresRequest* request,
    onestop::v1::ListProceduresResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  for (const onestop::v1::Procedure& procedure : manager_->catalogue()->procedures()) {
    if (!request->level().empty() && procedure.level() != request->level()) continue;
    *response->add_procedures() = procedure;
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* CatalogueServiceImpl::GetCalendar(
    grpc::CallbackServerContext* context, const onestop::v1::GetCalendarRequest* request,
    onestop::v1::GetCalendarResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // At most 20 years of special days from memory: cheap enough to answer
  // inline.
  absl::StatusOr<onestop::v1::GetCalendarResponse> calendar = manager_->Calendar(*request);
  if (calendar.ok()) *response = *std::move(calendar);
  reactor->Finish(ToGrpcStatus(calendar.status()));
  return reactor;
}

}  // namespace onestop::service
