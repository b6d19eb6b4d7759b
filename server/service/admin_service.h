// gRPC handlers for onestop.v1.AdminService: the controllable clock.
#ifndef ONESTOP_SERVER_SERVICE_ADMIN_SERVICE_H_
#define ONESTOP_SERVER_SERVICE_ADMIN_SERVICE_H_

#include "onestop/v1/dossier_service.grpc.pb.h"
#include "server/util/clock.h"

namespace onestop::service {

// Clock operations finish inline (they only take a mutex).
class AdminServiceImpl final : public onestop::v1::AdminService::CallbackService {
 public:
  // `clock` is the daemon's clock; `controlled` is the same object when the
  // daemon runs with --clock=controlled, else null (the clock RPCs that
  // change time then answer FAILED_PRECONDITION). Neither is owned.
  AdminServiceImpl(const Clock* clock, ControlledClock* controlled)
      : clock_(clock), controlled_(controlled) {}

  grpc::ServerUnaryReactor* GetClock(grpc::CallbackServerContext* context,
                                     const onestop::v1::GetClockRequest* request,
                                     onestop::v1::GetClockResponse* response) override;
  grpc::ServerUnaryReactor* SetClock(grpc::CallbackServerContext* context,
                                     const onestop::v1::SetClockRequest* request,
                                     onestop::v1::SetClockResponse* response) override;
  grpc::ServerUnaryReactor* AdvanceClock(grpc::CallbackServerContext* context,
                                         const onestop::v1::AdvanceClockRequest* request,
                                         onestop::v1::AdvanceClockResponse* response) override;
  grpc::ServerUnaryReactor* ResetClock(grpc::CallbackServerContext* context,
                                       const onestop::v1::ResetClockRequest* request,
                                       onestop::v1::ResetClockResponse* response) override;

 private:
  onestop::v1::ClockState State() const;
  absl::Status RequireControlled() const;

  const Clock* const clock_;
  ControlledClock* const controlled_;
};

}  // namespace onestop::service

#endif  // ONESTOP_SERVER_SERVICE_ADMIN_SERVICE_H_
