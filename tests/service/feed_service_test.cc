// The change feed (onestop.v1.FeedService) end to end: the real service over
// a real SQLite file through an in-process gRPC server. Writes go through
// DossierService, so the NotifyingDossierStore composition is exercised too.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/feed_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
#include "storage/feed_notifier.h"
#include "storage/forwarding_dossier_store.h"
#include "storage/sqlite/sqlite_dossier_store.h"
#include "tests/testing/test_auth.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_config.h"

namespace onestop {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using namespace onestop::v1;  // NOLINT

// What a consumer saw: event revisions, and the progress revisions.
struct Seen {
  std::vector<int64_t> events;
  std::vector<int64_t> progress;
  std::vector<DossierEvent> full;
};

class FeedServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    catalogue_ = *catalogue;
    clock_ = std::make_unique<ControlledClock>(
        absl::FromCivil(absl::CivilMinute(2020, 1, 6, 8, 0), absl::FixedTimeZone(7 * 3600)),
        SystemClock::Get());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
    server_.reset();
    store_.reset();
  }

  void StartServer(service::FeedOptions feed = {}) {
    auto store = storage::SqliteDossierStore::Open(
        {.path = dir_.File("onestop.db"), .durability = storage::Durability::kNormal});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    service::ServerOptions options;
    options.listen = "127.0.0.1:0";
    testing::UseInsecureLoopback(options);
    options.feed = feed;
    // One principal opens many watches here (the per-principal limit has
    // its own test in tests/security).
    options.streams.max_streams_per_principal = 1000;
    service::ServerDependencies deps;
    deps.store = store_.get();
    deps.catalogue = catalogue_;
    deps.clock = clock_.get();
    auth_ = testing::MustOpenTestAuth(dir_.File("onestop.db"));
    deps.security_store = auth_->store();
    if (token_.empty()) token_ = testing::MustToken(auth_->AllRolesToken(*deps.catalogue, "tester"));
    auto server = service::OnestopServer::Start(options, deps);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = testing::AuthorizedChannel(server_->address(), token_);
    dossiers_ = DossierService::NewStub(channel_);
    feed_ = FeedService::NewStub(channel_);
  }

  // Submits one dossier (one event); returns it.
  Dossier Submit(const std::string& agency = testing::kCommune,
                 const std::string& procedure = testing::kCommuneProcedure,
                 bool receive_now = true) {
    SubmitDossierRequest request;
    request.set_procedure_code(procedure);
    request.set_receiving_agency_code(agency);
    request.mutable_applicant()->set_full_name("Nguyễn Thị Hằng");
    request.set_channel(CHANNEL_DIRECT);
    request.set_summary("Đăng ký");
    request.set_receive_now(receive_now);
    grpc::ClientContext context;
    SubmitDossierResponse response;
    const grpc::Status status = dossiers_->SubmitDossier(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }

  Dossier Accept(const Dossier& d) {
    AcceptDossierRequest request;
    request.set_code(d.code());
    request.set_etag(d.etag());
    grpc::ClientContext context;
    AcceptDossierResponse response;
    const grpc::Status status = dossiers_->AcceptDossier(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.dossier();
  }

  // Reads from `reader` until a message reports revision >= `until` (an
  // event with that revision, or a progress at or past it). False if the
  // stream ended first.
  static bool ReadUntil(grpc::ClientReader<WatchEventsResponse>& reader, int64_t until,
                        Seen& seen) {
    WatchEventsResponse response;
    while (reader.Read(&response)) {
      int64_t revision = 0;
      if (response.has_event()) {
        revision = response.event().revision();
        seen.events.push_back(revision);
        seen.full.push_back(response.event());
      } else {
        revision = response.progress().revision();
        seen.progress.push_back(revision);
      }
      if (revision >= until) return true;
    }
    return false;
  }

  // Watches with `request` until caught up with revision `until`; returns
  // the events' revisions.
  Seen WatchUntil(const WatchEventsRequest& request, int64_t until) {
    grpc::ClientContext context;
    auto reader = feed_->WatchEvents(&context, request);
    Seen seen;
    EXPECT_TRUE(ReadUntil(*reader, until, seen));
    context.TryCancel();
    reader->Finish().IgnoreError();
    return seen;
  }

  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (int64_t r = from; r <= to; ++r) out.push_back(r);
    return out;
  }

  testing::TempDir dir_;
  std::shared_ptr<const core::Catalogue> catalogue_;
  std::unique_ptr<ControlledClock> clock_;
  std::unique_ptr<storage::SqliteDossierStore> store_;
  std::unique_ptr<testing::TestAuth> auth_;
  std::string token_;
  std::unique_ptr<service::OnestopServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<DossierService::Stub> dossiers_;
  std::unique_ptr<FeedService::Stub> feed_;
};

TEST_F(FeedServiceTest, ConcurrentWritersAndThreeConsumersSeeEveryRevisionOnceInOrder) {
  StartServer();
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 15;
  constexpr int64_t kTotal = kWriters * kPerWriter;
  constexpr int64_t kResumeAfter = 20;  // consumer 3 disconnects after this many events

  // Consumers 1 and 2 follow from the start; consumer 3 disconnects mid-way
  // and resumes from its last revision + 1.
  std::vector<Seen> seen(3);
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&, c] {
      grpc::ClientContext context;
      auto reader = feed_->WatchEvents(&context, WatchEventsRequest());
      EXPECT_TRUE(ReadUntil(*reader, kTotal, seen[c]));
      context.TryCancel();
      reader->Finish().IgnoreError();
    });
  }
  consumers.emplace_back([&] {
    int64_t last = 0;
    {
      grpc::ClientContext context;
      auto reader = feed_->WatchEvents(&context, WatchEventsRequest());
      WatchEventsResponse response;
      while (seen[2].events.size() < kResumeAfter && reader->Read(&response)) {
        if (response.has_event()) {
          seen[2].events.push_back(response.event().revision());
          last = response.event().revision();
        }
      }
      context.TryCancel();
      EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
    }
    WatchEventsRequest resume;
    resume.set_start_revision(last + 1);
    grpc::ClientContext context;
    auto reader = feed_->WatchEvents(&context, resume);
    EXPECT_TRUE(ReadUntil(*reader, kTotal, seen[2]));
    context.TryCancel();
    reader->Finish().IgnoreError();
  });

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        Submit(w % 2 == 0 ? testing::kCommune : testing::kOtherCommune);
      }
    });
  }
  for (std::thread& t : writers) t.join();
  for (std::thread& t : consumers) t.join();

  for (int c = 0; c < 3; ++c) {
    SCOPED_TRACE(absl::StrCat("consumer ", c + 1));
    EXPECT_THAT(seen[c].events, ElementsAreArray(Range(1, kTotal)));
  }
  EXPECT_TRUE(server_->feed_service().AwaitActiveWatches(0, absl::Seconds(10)));
}

TEST_F(FeedServiceTest, ReplayEndsWithProgressAndEventsCarryThePortalSnapshot) {
  StartServer();
  const Dossier d = Submit();
  const Dossier accepted = Accept(Submit(testing::kCommune, testing::kCommuneProcedure, false));
  grpc::ClientContext context;
  auto reader = feed_->WatchEvents(&context, WatchEventsRequest());
  Seen seen;
  WatchEventsResponse response;
  while (reader->Read(&response) && !response.has_progress()) {
    seen.events.push_back(response.event().revision());
    seen.full.push_back(response.event());
  }
  EXPECT_THAT(seen.events, ElementsAre(1, 2, 3));
  EXPECT_EQ(response.progress().revision(), 3);  // right after the replay
  context.TryCancel();
  reader->Finish().IgnoreError();
  ASSERT_EQ(seen.full.size(), 3u);
  const DossierEvent& first = seen.full[0];
  EXPECT_EQ(first.dossier().code(), d.code());
  EXPECT_EQ(first.dossier().portal_status_code(), 2);
  EXPECT_EQ(first.action(), ACTION_KIND_SUBMIT);
  EXPECT_EQ(first.entry().to_status(), DOSSIER_STATUS_RECEIVED);
  EXPECT_TRUE(first.dossier().has_due_time());
  const DossierEvent& third = seen.full[2];
  EXPECT_EQ(third.action(), ACTION_KIND_ACCEPT);
  EXPECT_EQ(third.dossier().code(), accepted.code());
  EXPECT_EQ(third.dossier().etag(), accepted.etag());
  EXPECT_EQ(third.entry().from_status(), DOSSIER_STATUS_NEW);
}

TEST_F(FeedServiceTest, FiltersByAgencySubtreeProcedureAndAction) {
  StartServer();
  Submit(testing::kCommune);                                         // 1
  Submit(testing::kOtherCommune);                                    // 2
  Submit(testing::kDistrict, testing::kDistrictProcedure);           // 3
  const Dossier pending =
      Submit(testing::kCommune, testing::kCommuneProcedure, false);  // 4
  Accept(pending);                                                   // 5
  constexpr int64_t kLast = 5;

  WatchEventsRequest commune;
  commune.mutable_filter()->set_agency_code(testing::kCommune);
  EXPECT_THAT(WatchUntil(commune, kLast).events, ElementsAre(1, 4, 5));

  WatchEventsRequest district;  // the district and both communes below it
  district.mutable_filter()->set_agency_code(testing::kDistrict);
  EXPECT_THAT(WatchUntil(district, kLast).events, ElementsAre(1, 2, 3, 4, 5));

  WatchEventsRequest other;
  other.mutable_filter()->set_agency_code(testing::kOtherCommune);
  EXPECT_THAT(WatchUntil(other, kLast).events, ElementsAre(2));

  WatchEventsRequest procedure;
  procedure.mutable_filter()->set_procedure_code(testing::kDistrictProcedure);
  EXPECT_THAT(WatchUntil(procedure, kLast).events, ElementsAre(3));

  WatchEventsRequest accept;
  accept.mutable_filter()->add_actions(ACTION_KIND_ACCEPT);
  EXPECT_THAT(WatchUntil(accept, kLast).events, ElementsAre(5));

  WatchEventsRequest both;
  both.mutable_filter()->set_agency_code(testing::kCommune);
  both.mutable_filter()->add_actions(ACTION_KIND_SUBMIT);
  both.mutable_filter()->add_actions(ACTION_KIND_ACCEPT);
  both.set_start_revision(2);
  EXPECT_THAT(WatchUntil(both, kLast).events, ElementsAre(4, 5));
}

TEST_F(FeedServiceTest, IdleFilteredStreamGetsProgressToCheckpoint) {
  StartServer({.progress_interval = absl::Milliseconds(100)});
  for (int i = 0; i < 3; ++i) Submit();
  WatchEventsRequest request;
  request.mutable_filter()->set_procedure_code(testing::kDistrictProcedure);  // matches nothing
  grpc::ClientContext context;
  auto reader = feed_->WatchEvents(&context, request);
  WatchEventsResponse response;
  ASSERT_TRUE(reader->Read(&response));
  ASSERT_TRUE(response.has_progress());
  EXPECT_EQ(response.progress().revision(), 3);  // immediately after the replay
  Submit();
  Submit();
  // Nothing matches the new events either; progress moves past them.
  Seen seen;
  EXPECT_TRUE(ReadUntil(*reader, 5, seen));
  EXPECT_THAT(seen.events, ::testing::IsEmpty());
  EXPECT_EQ(seen.progress.back(), 5);
  context.TryCancel();
  reader->Finish().IgnoreError();
}

TEST_F(FeedServiceTest, CompactedStartIsOutOfRangeNamingTheOldestRevision) {
  StartServer({.retain_events = 2});
  for (int i = 0; i < 5; ++i) Submit();
  absl::StatusOr<int64_t> deleted = server_->feed_service().CompactNow();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, 3);

  WatchEventsRequest old;
  old.set_start_revision(2);
  grpc::ClientContext context;
  auto reader = feed_->WatchEvents(&context, old);
  WatchEventsResponse response;
  EXPECT_FALSE(reader->Read(&response));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_THAT(status.error_message(), HasSubstr("oldest available revision is 4"));
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find("onestop-oldest-revision");
  ASSERT_NE(it, trailers.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "4");

  EXPECT_THAT(WatchUntil(WatchEventsRequest(), 5).events, ElementsAre(4, 5));  // 0 = oldest
  WatchEventsRequest at_oldest;
  at_oldest.set_start_revision(4);
  EXPECT_THAT(WatchUntil(at_oldest, 5).events, ElementsAre(4, 5));
}

TEST_F(FeedServiceTest, RetainZeroKeepsEverything) {
  StartServer({.retain_events = 0});
  for (int i = 0; i < 3; ++i) Submit();
  absl::StatusOr<int64_t> deleted = server_->feed_service().CompactNow();
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 0);
  EXPECT_THAT(WatchUntil(WatchEventsRequest(), 3).events, ElementsAre(1, 2, 3));
}

TEST_F(FeedServiceTest, BadRequestsAreRefusedWithPreciseCodes) {
  StartServer();
  auto status_of = [this](const WatchEventsRequest& request) {
    grpc::ClientContext context;
    auto reader = feed_->WatchEvents(&context, request);
    WatchEventsResponse response;
    EXPECT_FALSE(reader->Read(&response));
    return reader->Finish();
  };
  WatchEventsRequest negative;
  negative.set_start_revision(-1);
  EXPECT_EQ(status_of(negative).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  WatchEventsRequest unknown_agency;
  unknown_agency.mutable_filter()->set_agency_code("999.99.99.H99");
  const grpc::Status agency = status_of(unknown_agency);
  EXPECT_EQ(agency.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(agency.error_message(), HasSubstr("999.99.99.H99"));
  WatchEventsRequest bad_action;
  bad_action.mutable_filter()->add_actions(static_cast<ActionKind>(999));
  EXPECT_EQ(status_of(bad_action).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(server_->feed_service().AwaitActiveWatches(0, absl::Seconds(10)));
}

TEST_F(FeedServiceTest, CancelledWatchesReleaseEverything) {
  StartServer();
  Submit();
  constexpr int kWatches = 50;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<WatchEventsResponse>>> readers;
  for (int i = 0; i < kWatches; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(feed_->WatchEvents(contexts.back().get(), WatchEventsRequest()));
    Seen seen;
    ASSERT_TRUE(ReadUntil(*readers.back(), 1, seen));  // the stream is live
  }
  EXPECT_EQ(server_->feed_service().ActiveWatches(), kWatches);
  for (int i = 0; i < kWatches; ++i) {
    contexts[i]->TryCancel();
    EXPECT_EQ(readers[i]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(server_->feed_service().AwaitActiveWatches(0, absl::Seconds(10)))
      << server_->feed_service().ActiveWatches() << " watches still active";
  // Writes still work and a new watch sees them.
  Submit();
  EXPECT_THAT(WatchUntil(WatchEventsRequest(), 2).events, ElementsAre(1, 2));
}

TEST_F(FeedServiceTest, ShutdownEndsOpenWatchesPromptlyWithUnavailable) {
  StartServer();
  grpc::ClientContext context;
  auto reader = feed_->WatchEvents(&context, WatchEventsRequest());
  WatchEventsResponse response;
  ASSERT_TRUE(reader->Read(&response));  // live
  const absl::Time start = absl::Now();
  std::thread stopper([this] { server_->Shutdown(absl::Seconds(30)); });
  EXPECT_FALSE(reader->Read(&response));
  const grpc::Status status = reader->Finish();
  stopper.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // far below the 30 s grace
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("server shutting down"));
}

// grpc.health.v1 by hand (no generated health stubs in Debian's C++
// packages): HealthCheckRequest{service=""} is zero bytes; the response is
// field 1 (status) as a varint: 0x08 0x01 SERVING, 0x08 0x02 NOT_SERVING.
int HealthStatusOf(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return -1;
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  if (bytes.size() != 2 || bytes[0] != 0x08) return -1;
  return bytes[1];
}

TEST_F(FeedServiceTest, HealthTurnsNotServingDuringShutdown) {
  StartServer();
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  auto call = stub.PrepareCall(&context, "/grpc.health.v1.Health/Watch", &cq);
  auto step = [&cq](int expected_tag) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(static_cast<intptr_t>(expected_tag)));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  grpc::ByteBuffer request;  // empty message
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  grpc::ByteBuffer reply;
  call->Read(&reply, reinterpret_cast<void*>(4));
  ASSERT_TRUE(step(4));
  EXPECT_EQ(HealthStatusOf(reply), 1);  // SERVING

  std::thread stopper([this] { server_->Shutdown(absl::Seconds(5)); });
  call->Read(&reply, reinterpret_cast<void*>(5));
  const bool got = step(5);
  context.TryCancel();  // else the open health watch holds Shutdown for its grace
  stopper.join();
  ASSERT_TRUE(got) << "the health watch ended without a NOT_SERVING update";
  EXPECT_EQ(HealthStatusOf(reply), 2);  // NOT_SERVING
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(6));
  step(6);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

// ---------------------------------------------------------------------------
// Per-follower lag (issue #12): FeedServiceImpl on its own, with a gate that
// names the principal and a store whose event reads the test can hold, so
// that a watch is behind by a known number of revisions.

// Forwards everything; ReadEvents waits while reads are held.
class HoldableReads final : public storage::ForwardingDossierStore {
 public:
  using ForwardingDossierStore::ForwardingDossierStore;

  void Hold() {
    absl::MutexLock lock(&mu_);
    held_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
  }
  // True once a ReadEvents call is waiting on the hold (within `timeout`).
  bool AwaitWaitingReader(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(
                                    +[](int* waiting) { return *waiting > 0; }, &waiting_),
                                timeout);
  }

  absl::StatusOr<std::vector<DossierEvent>> ReadEvents(int64_t after_revision,
                                                       int limit) override {
    {
      absl::MutexLock lock(&mu_);
      ++waiting_;
      mu_.Await(absl::Condition(+[](bool* held) { return !*held; }, &held_));
      --waiting_;
    }
    return base().ReadEvents(after_revision, limit);
  }

 private:
  absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

class FeedFollowersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto catalogue = config::LoadConfigText(testing::kTestConfig, "test.textproto");
    ASSERT_TRUE(catalogue.ok()) << catalogue.status();
    catalogue_ = *catalogue;
    auto store = storage::SqliteDossierStore::Open(
        {.path = dir_.File("onestop.db"), .durability = storage::Durability::kNormal});
    ASSERT_TRUE(store.ok()) << store.status();
    sqlite_ = std::move(*store);
    store_ = std::make_unique<HoldableReads>(sqlite_.get());
    service::FeedOptions options;
    options.progress_interval = absl::Milliseconds(200);
    options.recheck_interval = absl::Milliseconds(10);
    feed_ = std::make_unique<service::FeedServiceImpl>(
        store_.get(), &notifier_, [this] { return catalogue_; },
        [this](const grpc::CallbackServerContext&,
               const WatchEventsRequest&) -> absl::StatusOr<service::WatchAccess> {
          service::WatchAccess access;
          access.principal = "desk.lienson";
          access.recheck = recheck_;
          return access;
        },
        options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(feed_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = FeedService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                                     grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    store_->Release();
    feed_->Shutdown();
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_.reset();  // before the service it serves
    feed_.reset();
  }

  // Commits one dossier (one event) and publishes its revision, as the
  // NotifyingDossierStore would.
  void Write() {
    storage::CreateDossierWrite write;
    write.dossier.set_receiving_agency_code(testing::kCommune);
    write.dossier.set_procedure_code(testing::kCommuneProcedure);
    write.dossier.set_status(DOSSIER_STATUS_RECEIVED);
    write.entry.set_action(ACTION_KIND_SUBMIT);
    write.code_prefix = "000.31.01.H15-200106-";
    ASSERT_TRUE(sqlite_->Create(write).ok());
    absl::StatusOr<int64_t> revision = sqlite_->LastRevision();
    ASSERT_TRUE(revision.ok());
    notifier_.Publish(*revision);
  }

  // Polls the followers' snapshot (up to 10 s) until `done` holds; returns
  // it then (or the last one seen).
  service::FeedSnapshot AwaitSnapshot(
      const std::function<bool(const service::FeedSnapshot&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    service::FeedSnapshot snapshot = feed_->Followers();
    while (!done(snapshot) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
      snapshot = feed_->Followers();
    }
    return snapshot;
  }

  // The snapshot once the one open watch has dealt with `position`.
  service::FeedSnapshot AwaitPosition(int64_t position) {
    return AwaitSnapshot([position](const service::FeedSnapshot& snapshot) {
      return snapshot.followers.size() == 1 && snapshot.followers[0].position == position;
    });
  }

  static bool ReadUntil(grpc::ClientReader<WatchEventsResponse>& reader, int64_t until) {
    WatchEventsResponse response;
    while (reader.Read(&response)) {
      const int64_t revision =
          response.has_event() ? response.event().revision() : response.progress().revision();
      if (revision >= until) return true;
    }
    return false;
  }

  testing::TempDir dir_;
  std::shared_ptr<const core::Catalogue> catalogue_;
  // Given to the watches opened after it is set (null: never re-checked).
  std::function<absl::Status()> recheck_;
  std::unique_ptr<storage::SqliteDossierStore> sqlite_;
  std::unique_ptr<HoldableReads> store_;
  storage::FeedNotifier notifier_;
  std::unique_ptr<service::FeedServiceImpl> feed_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<FeedService::Stub> stub_;
};

TEST_F(FeedFollowersTest, SnapshotShowsEachWatchPositionAndItsLagBehindTheNewestRevision) {
  EXPECT_TRUE(feed_->Followers().followers.empty());
  for (int i = 0; i < 3; ++i) Write();

  grpc::ClientContext context;
  auto reader = stub_->WatchEvents(&context, WatchEventsRequest());
  ASSERT_TRUE(ReadUntil(*reader, 3));
  service::FeedSnapshot snapshot = AwaitPosition(3);
  ASSERT_EQ(snapshot.followers.size(), 1u);
  EXPECT_EQ(snapshot.followers[0].watch_id, 1);
  EXPECT_EQ(snapshot.followers[0].principal, "desk.lienson");
  EXPECT_EQ(snapshot.last_revision, 3);
  std::vector<service::FollowerLag> lags = service::FollowerLagSeries(snapshot);
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].principal, "desk.lienson");
  EXPECT_EQ(lags[0].watch, "1");
  EXPECT_EQ(lags[0].lag, 0);

  // Four more commits while the watch cannot read them: 4 behind.
  store_->Hold();
  for (int i = 0; i < 4; ++i) Write();
  ASSERT_TRUE(store_->AwaitWaitingReader(absl::Seconds(10)));
  snapshot = feed_->Followers();
  ASSERT_EQ(snapshot.followers.size(), 1u);
  EXPECT_EQ(snapshot.followers[0].position, 3);
  EXPECT_EQ(snapshot.last_revision, 7);
  lags = service::FollowerLagSeries(snapshot);
  ASSERT_EQ(lags.size(), 1u);
  EXPECT_EQ(lags[0].lag, 4);

  // Released, it catches up.
  store_->Release();
  ASSERT_TRUE(ReadUntil(*reader, 7));
  snapshot = AwaitPosition(7);
  ASSERT_EQ(snapshot.followers.size(), 1u);
  EXPECT_EQ(snapshot.followers[0].position, 7);
  EXPECT_EQ(service::FollowerLagSeries(snapshot).at(0).lag, 0);

  // A closed watch leaves the snapshot.
  context.TryCancel();
  reader->Finish().IgnoreError();
  ASSERT_TRUE(feed_->AwaitActiveWatches(0, absl::Seconds(10)));
  EXPECT_TRUE(feed_->Followers().followers.empty());
}

// The re-check of an open watch: a busy store (UNAVAILABLE) keeps the
// watch and is asked again; any other refusal ends it with its code.
TEST_F(FeedFollowersTest, ABusyRecheckKeepsTheWatchAndARefusalEndsIt) {
  std::atomic<int> asked{0};
  recheck_ = [&asked]() -> absl::Status {
    return ++asked < 3 ? absl::UnavailableError("the token store is busy")
                       : absl::UnauthenticatedError("invalid or expired token");
  };
  Write();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub_->WatchEvents(&context, WatchEventsRequest());
  WatchEventsResponse response;
  while (reader->Read(&response)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_THAT(status.error_message(),
              ::testing::HasSubstr("the watch was ended: invalid or expired token"));
  EXPECT_EQ(asked.load(), 3);
}

TEST_F(FeedFollowersTest, AWatchStartingLaterIsNumberedNextAndBehindFromItsStart) {
  for (int i = 0; i < 5; ++i) Write();
  store_->Hold();
  grpc::ClientContext first_context;
  auto first = stub_->WatchEvents(&first_context, WatchEventsRequest());
  ASSERT_TRUE(store_->AwaitWaitingReader(absl::Seconds(10)));
  WatchEventsRequest from_four;
  from_four.set_start_revision(4);
  grpc::ClientContext second_context;
  auto second = stub_->WatchEvents(&second_context, from_four);
  // Both admitted and held before reading: positions start_revision − 1.
  const service::FeedSnapshot snapshot = AwaitSnapshot(
      [](const service::FeedSnapshot& seen) { return seen.followers.size() >= 2; });
  ASSERT_EQ(snapshot.followers.size(), 2u);
  EXPECT_EQ(snapshot.followers[0].watch_id, 1);
  EXPECT_EQ(snapshot.followers[0].position, 0);  // from the oldest retained (1)
  EXPECT_EQ(snapshot.followers[1].watch_id, 2);
  EXPECT_EQ(snapshot.followers[1].position, 3);
  const std::vector<service::FollowerLag> lags = service::FollowerLagSeries(snapshot);
  ASSERT_EQ(lags.size(), 2u);
  EXPECT_EQ(lags[0].lag, 5);
  EXPECT_EQ(lags[1].watch, "2");
  EXPECT_EQ(lags[1].lag, 2);
  store_->Release();
  first_context.TryCancel();
  second_context.TryCancel();
  first->Finish().IgnoreError();
  second->Finish().IgnoreError();
}

TEST(FollowerLagSeriesTest, KeepsTheOldestWatchesAndFoldsTheRestIntoOtherWithTheirMaxLag) {
  service::FeedSnapshot snapshot;
  snapshot.last_revision = 1000;
  // Watches 1..103, listed newest first; watch w is at revision 1000 - w,
  // so its lag is w. Watch 7 has no principal.
  for (int64_t w = 103; w >= 1; --w) {
    snapshot.followers.push_back(
        {.watch_id = w, .principal = w == 7 ? "" : absl::StrCat("p", w), .position = 1000 - w});
  }
  const std::vector<service::FollowerLag> lags = service::FollowerLagSeries(snapshot, 100);
  ASSERT_EQ(lags.size(), 101u);
  EXPECT_EQ(lags[0].principal, "p1");
  EXPECT_EQ(lags[0].watch, "1");
  EXPECT_EQ(lags[0].lag, 1);
  EXPECT_EQ(lags[6].principal, "unknown");
  EXPECT_EQ(lags[99].watch, "100");
  EXPECT_EQ(lags[100].principal, "other");
  EXPECT_EQ(lags[100].watch, "other");
  EXPECT_EQ(lags[100].lag, 103);  // the largest of watches 101..103

  // Exactly at the limit: no "other" series. A position past the newest
  // revision (read before it was published) counts as no lag.
  snapshot.followers.resize(2);
  snapshot.followers[0].position = 1005;
  const std::vector<service::FollowerLag> two = service::FollowerLagSeries(snapshot, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1].watch, "103");
  EXPECT_EQ(two[1].lag, 0);
  EXPECT_EQ(two[0].watch, "102");
}

}  // namespace
}  // namespace onestop
