#include "server/service/admin_service.h"

#include "server/service/status_mapping.h"
#include "server/util/proto_time.h"

namespace onestop::service {
namespace {

template <typename Response>
grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context,
                                     const absl::Status& status,
                                     const onestop::v1::ClockState& state, Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (status.ok()) *response->mutable_clock() = state;
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

onestop::v1::ClockState AdminServiceImpl::State() const {
  onestop::v1::ClockState state;
  *state.mutable_now() = ToProtoTime(clock_->Now());
  state.set_mode(controlled_ ? onestop::v1::CLOCK_MODE_CONTROLLED
                             : onestop::v1::CLOCK_MODE_SYSTEM);
  state.set_pinned(controlled_ && controlled_->pinned());
  return state;
}

absl::Status AdminServiceImpl::RequireControlled() const {
  if (controlled_ == nullptr) {
    return absl::FailedPreconditionError(
        "the clock is the system clock; start onestopd with --clock=controlled "
        "to set or advance it");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetClock(grpc::CallbackServerContext* context,
                                                     const onestop::v1::GetClockRequest*,
                                                     onestop::v1::GetClockResponse* response) {
  return FinishWith(context, absl::OkStatus(), State(), response);
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetClock(grpc::CallbackServerContext* context,
                                                     const onestop::v1::SetClockRequest* request,
                                                     onestop::v1::SetClockResponse* response) {
  absl::Status status = RequireControlled();
  if (status.ok() && !request->has_time()) {
    status = absl::InvalidArgumentError("time: the instant to set is required");
  }
  if (status.ok()) status = controlled_->SetTime(FromProtoTime(request->time()));
  return FinishWith(context, status, State(), response);
}

grpc::ServerUnaryReactor* AdminServiceImpl::AdvanceClock(
    grpc::CallbackServerContext* context, const onestop::v1::AdvanceClockRequest* request,
    onestop::v1::AdvanceClockResponse* response) {
  absl::Status status = RequireControlled();
  if (status.ok()) status = controlled_->Advance(absl::Seconds(request->seconds()));
  return FinishWith(context, status, State(), response);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ResetClock(grpc::CallbackServerContext* context,
                                                       const onestop::v1::ResetClockRequest*,
                                                       onestop::v1::ResetClockResponse* response) {
  absl::Status status = RequireControlled();
  if (status.ok()) status = controlled_->ResumeRealTime();
  return FinishWith(context, status, State(), response);
}

}  // namespace onestop::service
