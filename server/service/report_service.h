// The completion report (issue #5): CompletionReporter answers
// GetCompletionReport from the store's report counters (never by scanning
// dossiers); ReportServiceImpl is its gRPC handler.
#ifndef ONESTOP_SERVER_SERVICE_REPORT_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_REPORT_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "onestop/v1/report_service.grpc.pb.h"
#include "server/core/catalogue.h"
#include "server/service/auth/access_guard.h"
#include "server/service/executor.h"
#include "storage/dossier_store.h"

namespace onestop::service {

struct ReportOptions {
  // Applied when a request leaves withdrawn_policy UNSPECIFIED (onestopd
  // --withdrawn_counts_on_time). Never UNSPECIFIED itself.
  onestop::v1::WithdrawnPolicy default_withdrawn_policy = onestop::v1::WITHDRAWN_POLICY_NOT_RESOLVED;
};

// Thread-safe; blocks on the store (call from executor threads).
class CompletionReporter {
 public:
  // `store` is not owned and must outlive the reporter; `catalogue`
  // returns the catalogue in force.
  CompletionReporter(storage::DossierStore* store,
                     std::function<std::shared_ptr<const core::Catalogue>()> catalogue,
                     ReportOptions options = {})
      : store_(store), catalogue_(std::move(catalogue)), options_(options) {}

  // The report for `request` (core::ParseReportRequest validates it:
  // INVALID_ARGUMENT for no scope, bad or reversed dates; NOT_FOUND for an
  // unknown agency or level), plus the store's errors (UNAVAILABLE when
  // busy).
  absl::StatusOr<onestop::v1::GetCompletionReportResponse> GetCompletionReport(
      const onestop::v1::GetCompletionReportRequest& request) const;

 private:
  storage::DossierStore* const store_;
  const std::function<std::shared_ptr<const core::Catalogue>()> catalogue_;
  const ReportOptions options_;
};

// The caller needs get_completion_report (supervisors) on the report's
// agency, or — for a report over a level — on every agency of that level.
class ReportServiceImpl final : public onestop::v1::ReportService::CallbackService {
 public:
  // None owned; all must outlive the server.
  ReportServiceImpl(const CompletionReporter* reporter, Executor* executor,
                    const auth::AccessGuard* guard, auth::CatalogueSource catalogue)
      : reporter_(reporter), executor_(executor), guard_(guard), catalogue_(std::move(catalogue)) {}

  grpc::ServerUnaryReactor* GetCompletionReport(
      grpc::CallbackServerContext* context,
      const onestop::v1::GetCompletionReportRequest* request,
      onestop::v1::GetCompletionReportResponse* response) override;

 private:
  const CompletionReporter* const reporter_;
  Executor* const executor_;
  const auth::AccessGuard* const guard_;
  const auth::CatalogueSource catalogue_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_REPORT_SERVICE_H_
