// Calls the benchmark tools share (onestop_bench's phases, the soak): the
// bearer token every call sends, one asynchronous unary call, the submit
// request and the desk lifecycle chain, starting onestopd and issuing the
// benchmark's token, and /proc figures of the daemon.
#ifndef ONESTOP_BENCH_BENCH_RPC_H_
#define ONESTOP_BENCH_BENCH_RPC_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/security_service.grpc.pb.h"
#include "tests/testing/subprocess.h"

namespace onestop::bench {

using AsyncInterface = onestop::v1::DossierService::StubInterface::async_interface;
template <typename Request, typename Response>
using AsyncMethod = void (AsyncInterface::*)(grpc::ClientContext*, const Request*, Response*,
                                             std::function<void(grpc::Status)>);

// "Bearer <token>" sent with every DossierService call (the empty server
// ignores it). Set once before the load starts.
std::string& BearerHeader();

// Prints the first failure's status to stderr: a benchmark full of errors
// must say why, once.
void NoteError(const grpc::Status& status);

// One asynchronous unary call; `then` runs on a gRPC callback thread and
// may start the next call.
template <typename Request, typename Response>
void Invoke(onestop::v1::DossierService::Stub* stub, AsyncMethod<Request, Response> method,
            Request request, std::function<void(const grpc::Status&, const Response&)> then) {
  struct Call {
    grpc::ClientContext context;
    Request request;
    Response response;
  };
  auto* call = new Call;
  call->request = std::move(request);
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!BearerHeader().empty()) call->context.AddMetadata("authorization", BearerHeader());
  (stub->async()->*method)(&call->context, &call->request, &call->response,
                           [call, then = std::move(then)](grpc::Status status) {
                             if (!status.ok()) NoteError(status);
                             then(status, call->response);
                             delete call;
                           });
}

// A Form 01 submit at the desk (receive_now) of `procedure` at `agency`.
onestop::v1::SubmitDossierRequest SubmitRequest(const std::string& procedure,
                                                const std::string& agency);

// The full desk lifecycle of one dossier, one RPC after the other (each
// needs the previous etag): `submit` → hand over → decide → ready → return.
// `done` gets whether every call succeeded and the last dossier returned.
void RunLifecycle(onestop::v1::DossierService::Stub* stub,
                  onestop::v1::SubmitDossierRequest submit,
                  std::function<void(bool ok, const onestop::v1::Dossier&)> done);

// With the bootstrap admin token in `admin_token_file`, creates a token for
// principal `principal_id` holding `roles` at every root agency of the
// catalogue. Returns its secret, or "" (and why on stderr) on failure.
std::string IssueToken(const std::string& address, const std::string& admin_token_file,
                       const std::string& principal_id,
                       const std::vector<onestop::v1::Role>& roles);

// IssueToken for a clerk+officer "bench" principal, made the token every
// DossierService call sends. False on failure.
bool IssueBenchToken(const std::string& address, const std::string& admin_token_file);

// Starts `onestopd` with `config` on `db` (a file or a postgresql:// URI;
// loopback, --insecure, `threads` executor threads, then `extra_args`), the
// bootstrap admin token in `token_file` (default `db`.admin.token; a file
// that exists is left alone, so daemons sharing one PostgreSQL database
// share it), and issues the bench token. Returns the seconds from spawn to
// its "listening" line, or a negative number on failure (why on stderr).
double StartDaemon(testing::DaemonProcess& daemon, const std::string& onestopd,
                   const std::string& config, const std::string& db, int threads,
                   const std::string& token_file = "",
                   const std::vector<std::string>& extra_args = {});

// VmRSS and VmHWM (peak) of `pid` in KiB, from /proc/PID/status.
std::pair<int64_t, int64_t> MemoryKb(pid_t pid);

// Open file descriptors of `pid` (entries of /proc/PID/fd); -1 if unreadable.
int CountFds(pid_t pid);

// Size of `path` in bytes, 0 if absent.
int64_t FileBytes(const std::string& path);

}  // namespace onestop::bench

#endif  // ONESTOP_BENCH_BENCH_RPC_H_
