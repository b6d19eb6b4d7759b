// The change feed (onestop.v1.FeedService) end to end: the real service over
// a real SQLite file through an in-process gRPC server. Writes go through
// DossierService, so the NotifyingDossierStore composition is exercised too.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "onestop/v1/dossier_service.grpc.pb.h"
#include "onestop/v1/feed_service.grpc.pb.h"
#include "server/config/config_loader.h"
#include "server/service/onestop_server.h"
#include "server/util/clock.h"
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

}  // namespace
}  // namespace onestop
