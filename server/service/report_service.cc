#include "server/service/report_service.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "server/core/report.h"
#include "server/service/unary_call.h"
#include "server/util/status_macros.h"

namespace onestop::service {

absl::StatusOr<onestop::v1::GetCompletionReportResponse> CompletionReporter::GetCompletionReport(
    const onestop::v1::GetCompletionReportRequest& request) const {
  const std::shared_ptr<const core::Catalogue> catalogue = catalogue_();
  ONESTOP_ASSIGN_OR_RETURN(
      const core::ReportQuery query,
      core::ParseReportRequest(request, *catalogue, options_.default_withdrawn_policy));
  const core::CounterPlan plan = core::PlanReport(query, *catalogue);
  storage::CounterQuery counters;
  counters.series = plan.series;
  counters.series_prefixes = plan.series_prefixes;
  counters.ranges = {{plan.before_first, plan.before_last},
                     {plan.period_first, plan.period_last}};
  ONESTOP_ASSIGN_OR_RETURN(std::vector<storage::CounterSums> sums,
                           store_->SumCounters(counters));
  std::map<std::string, core::SeriesSums> by_series;
  for (storage::CounterSums& s : sums) {
    if (s.sums.size() != 2) return absl::InternalError("the store returned the wrong ranges");
    core::SeriesSums& out = by_series[std::move(s.series)];
    out.before = s.sums[0];
    out.period = s.sums[1];
  }
  return core::BuildReportFromCounters(query, *catalogue, by_series);
}

grpc::ServerUnaryReactor* ReportServiceImpl::GetCompletionReport(
    grpc::CallbackServerContext* context, const onestop::v1::GetCompletionReportRequest* request,
    onestop::v1::GetCompletionReportResponse* response) {
  return RunUnary(context, executor_, [this, context, request, response]() -> absl::Status {
    const auth::CallInfo call{.rpc = "GetCompletionReport", .agency_code = request->agency_code()};
    ONESTOP_ASSIGN_OR_RETURN(const auth::PrincipalPtr caller,
                             guard_->Authenticate(*context, call));
    const core::Principal& principal = *caller;
    ONESTOP_RETURN_IF_ERROR(guard_->AuthorizeNamedAgency(
        principal, core::Permission::kGetCompletionReport, request->agency_code(), call));
    if (request->agency_code().empty() && !request->level().empty()) {
      // A report over a level needs every agency of it, each on its own.
      for (const onestop::v1::Agency& agency : catalogue_()->agencies()) {
        if (agency.level() != request->level()) continue;
        ONESTOP_RETURN_IF_ERROR(guard_->Authorize(
            principal, core::Permission::kGetCompletionReport, {agency.code()}, call));
      }
    }
    ONESTOP_ASSIGN_OR_RETURN(*response, reporter_->GetCompletionReport(*request));
    return absl::OkStatus();
  });
}

}  // namespace onestop::service
