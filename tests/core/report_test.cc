// The report arithmetic: each column and predicate on small hand-built
// histories over the shipped Đắk Lắk 2020 catalogue, both rates, request
// validation, and the counter path (Contributions summed like the store
// sums them) against the from-scratch reference on a randomised workload.
#include "server/core/report.h"

#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/util/proto_time.h"
#include "tests/testing/status_matchers.h"

namespace onestop::core {
namespace {

namespace v1 = ::onestop::v1;
using ::onestop::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kDistrict[] = "000.00.31.H15";
constexpr char kProvince[] = "000.00.00.H15";
constexpr char kCommune1[] = "000.01.31.H15";
constexpr char kCommune2[] = "000.02.31.H15";

std::shared_ptr<const Catalogue> LoadSample() {
  std::ifstream in(ONESTOP_SOURCE_DIR "/deploy/daklak-2020.textproto");
  std::stringstream text;
  text << in.rdbuf();
  onestop::config::v1::Config config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text.str(), &config));
  // Test-only component list (the shipped sample lists none): birth
  // registration expects a declaration and an ID copy from the applicant
  // and issues a birth certificate. The other procedures keep no list.
  for (v1::Procedure& p : *config.mutable_procedures()) {
    if (p.code() != "1.001193") continue;
    auto add = [&p](const std::string& code, bool result) {
      v1::ComponentType* t = p.add_components();
      t->set_code(code);
      t->set_name(code);
      t->set_result(result);
    };
    add("to_khai", false);
    add("ban_sao_cccd", false);
    add("giay_khai_sinh", true);
  }
  auto built = Catalogue::Build(config);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const Catalogue>>(built));
  return std::get<std::shared_ptr<const Catalogue>>(built);
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override { catalogue_ = LoadSample(); }

  // 09:00 local on the day.
  google::protobuf::Timestamp At(absl::CivilDay day, int hour = 9) const {
    return ToProtoTime(catalogue_->calendar().FromLocal(
        absl::CivilMinute(day.year(), day.month(), day.day(), hour, 0)));
  }

  // A dossier received on `received` at `agency`, due (effective) on `due`.
  v1::Dossier Received(absl::CivilDay received, absl::CivilDay due,
                       const std::string& agency = kCommune1,
                       v1::Channel channel = v1::CHANNEL_DIRECT,
                       const std::string& procedure = "1.001193") const {
    v1::Dossier d;
    d.set_code("X");
    d.set_procedure_code(procedure);
    d.set_receiving_agency_code(agency);
    d.set_channel(channel);
    d.set_status(v1::DOSSIER_STATUS_PROCESSING);
    *d.mutable_received_time() = At(received);
    *d.mutable_original_due_time() = At(due, 17);
    *d.mutable_due_time() = At(due, 17);
    return d;
  }
  v1::Dossier Finished(v1::Dossier d, absl::CivilDay finished) const {
    d.set_status(v1::DOSSIER_STATUS_RESULT_READY);
    *d.mutable_finished_time() = At(finished, 10);
    return d;
  }
  v1::Dossier Closed(v1::Dossier d, v1::DossierStatus status, absl::CivilDay day) const {
    d.set_status(status);
    *d.mutable_closed_time() = At(day, 10);
    return d;
  }

  // Attaches a component of `type` at `stage` (on the dossier's received
  // day; the attach time plays no part in the report).
  static v1::Dossier With(v1::Dossier d, const std::string& type, v1::ComponentStage stage) {
    v1::DossierComponent* c = d.add_components();
    c->set_id(absl::StrCat(d.components_size()));
    c->set_component_type(type);
    c->set_stage(stage);
    return d;
  }

  ReportQuery Query(absl::CivilDay from, absl::CivilDay to, const std::string& agency = kDistrict,
                    v1::ReportGroupBy group_by = v1::REPORT_GROUP_BY_NONE,
                    v1::WithdrawnPolicy policy = v1::WITHDRAWN_POLICY_NOT_RESOLVED) const {
    ReportQuery q;
    q.scope_code = agency;
    q.from = from;
    q.to = to;
    q.group_by = group_by;
    q.withdrawn_policy = policy;
    return q;
  }

  // The counter path, with the store's summing done in memory.
  v1::GetCompletionReportResponse ViaCounters(const std::vector<v1::Dossier>& dossiers,
                                              const ReportQuery& q) const {
    const CounterPlan plan = PlanReport(q, *catalogue_);
    std::map<std::string, SeriesSums> sums;
    for (const v1::Dossier& d : dossiers) {
      for (const SeriesDelta& delta : Contributions(d, *catalogue_)) {
        bool wanted = false;
        for (const std::string& s : plan.series) wanted = wanted || s == delta.series;
        for (const std::string& p : plan.series_prefixes) {
          wanted = wanted || absl::StartsWith(delta.series, p);
        }
        if (!wanted) continue;
        SlotValues* target = nullptr;
        if (delta.day <= plan.before_last) target = &sums[delta.series].before;
        if (delta.day >= plan.period_first && delta.day <= plan.period_last) {
          target = &sums[delta.series].period;
        }
        if (target == nullptr) {
          sums[delta.series];
          continue;
        }
        for (int i = 0; i < kReportSlots; ++i) (*target)[i] += delta.values[i];
      }
    }
    return BuildReportFromCounters(q, *catalogue_, sums);
  }

  // Both paths; asserts they agree and returns the total row's columns.
  v1::CompletionColumns Total(const std::vector<v1::Dossier>& dossiers, const ReportQuery& q) {
    const v1::GetCompletionReportResponse reference = RecomputeReport(dossiers, q, *catalogue_);
    const v1::GetCompletionReportResponse counters = ViaCounters(dossiers, q);
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(reference, counters)) << diff;
    return reference.total().columns();
  }

  std::shared_ptr<const Catalogue> catalogue_;
};

const absl::CivilDay kApr1(2020, 4, 1);
const absl::CivilDay kApr30(2020, 4, 30);

TEST_F(ReportTest, CarriedOverAcrossThePeriodStart) {
  // Received 30/3, resolved 2/4: carried into April, resolved in April.
  const v1::Dossier d =
      Finished(Received(absl::CivilDay(2020, 3, 30), absl::CivilDay(2020, 4, 3)),
               absl::CivilDay(2020, 4, 2));
  const v1::CompletionColumns april = Total({d}, Query(kApr1, kApr30));
  EXPECT_EQ(april.carried_over(), 1);
  EXPECT_EQ(april.received_total(), 0);
  EXPECT_EQ(april.to_handle(), 1);
  EXPECT_EQ(april.resolved_early(), 1);
  EXPECT_EQ(april.in_progress_total(), 0);
  // March: received, still in progress at the end, not yet due.
  const v1::CompletionColumns march =
      Total({d}, Query(absl::CivilDay(2020, 3, 1), absl::CivilDay(2020, 3, 31)));
  EXPECT_EQ(march.carried_over(), 0);
  EXPECT_EQ(march.received_direct(), 1);
  EXPECT_EQ(march.in_progress_within_deadline(), 1);
  EXPECT_EQ(march.resolved_total(), 0);
  // Resolved on 1/4, the first day: still carried over (in progress at the
  // end of 31/3).
  const v1::Dossier first_day = Finished(
      Received(absl::CivilDay(2020, 3, 30), absl::CivilDay(2020, 4, 3)), kApr1);
  EXPECT_EQ(Total({first_day}, Query(kApr1, kApr30)).carried_over(), 1);
}

TEST_F(ReportTest, ResolvedEarlyOnTheDueDateAndLate) {
  const absl::CivilDay due(2020, 4, 15);
  const std::vector<v1::Dossier> dossiers = {
      Finished(Received(kApr1, due), due - 1),             // early
      Finished(Received(kApr1, due), due),                 // exactly on the due date
      Finished(Received(kApr1, due), due + 1),             // late
      Finished(Received(kApr1, due), due + 5),             // late
  };
  const v1::CompletionColumns c = Total(dossiers, Query(kApr1, kApr30));
  EXPECT_EQ(c.resolved_early(), 1);
  EXPECT_EQ(c.resolved_on_time(), 1);
  EXPECT_EQ(c.resolved_late(), 2);
  EXPECT_EQ(c.resolved_total(), 4);
  // 2 of 4 early or on time; 2 late of 4 to handle.
  EXPECT_EQ(c.on_time_rate_over_resolved().numerator(), 2);
  EXPECT_EQ(c.on_time_rate_over_resolved().denominator(), 4);
  EXPECT_DOUBLE_EQ(c.on_time_rate_over_resolved().percent(), 50.0);
  EXPECT_EQ(c.late_rate_over_to_handle().numerator(), 2);
  EXPECT_EQ(c.late_rate_over_to_handle().denominator(), 4);
  EXPECT_DOUBLE_EQ(c.completion_rate().percent(), 100.0);
}

TEST_F(ReportTest, OverdueInProgressAtPeriodEndCountsInTheLateRateOnly) {
  const absl::CivilDay due(2020, 4, 20);
  const std::vector<v1::Dossier> dossiers = {
      Received(kApr1, due),                                  // open, overdue at 30/4
      Received(kApr1, kApr30),                               // open, due on the last day
      Finished(Received(kApr1, due), absl::CivilDay(2020, 4, 10)),  // early
  };
  const v1::CompletionColumns c = Total(dossiers, Query(kApr1, kApr30));
  EXPECT_EQ(c.in_progress_overdue(), 1);
  EXPECT_EQ(c.in_progress_within_deadline(), 1);
  EXPECT_EQ(c.in_progress_total(), 2);
  // Over resolved: 1/1 = 100 %; over to-handle: 1 late of 3.
  EXPECT_DOUBLE_EQ(c.on_time_rate_over_resolved().percent(), 100.0);
  EXPECT_EQ(c.late_rate_over_to_handle().numerator(), 1);
  EXPECT_EQ(c.late_rate_over_to_handle().denominator(), 3);
  EXPECT_EQ(c.completion_rate().numerator(), 1);
  EXPECT_EQ(c.completion_rate().denominator(), 3);
  // Mid-period the first dossier was not yet overdue.
  const v1::CompletionColumns mid = Total(dossiers, Query(kApr1, due));
  EXPECT_EQ(mid.in_progress_overdue(), 0);
  EXPECT_EQ(Total(dossiers, Query(kApr1, due + 1)).in_progress_overdue(), 1);
}

TEST_F(ReportTest, SupplementPauseSpanningThePeriodEndIsAwaitingNotOverdue) {
  // Due 10/4 before the pause; the applicant is asked on 8/4 and supplies
  // on 5/5; the effective due moves past May's start.
  v1::Dossier d = Received(kApr1, absl::CivilDay(2020, 4, 10));
  v1::ClockPause* pause = d.add_pauses();
  *pause->mutable_start_time() = At(absl::CivilDay(2020, 4, 8));
  pause->set_reason(v1::ACTION_KIND_REQUEST_SUPPLEMENT);
  d.set_status(v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED);
  // While the pause is open the stored due time may already include paused
  // time; the report uses the due date before the pause.
  *d.mutable_due_time() = At(absl::CivilDay(2020, 4, 30), 17);
  const v1::CompletionColumns open = Total({d}, Query(kApr1, kApr30));
  EXPECT_EQ(open.awaiting_supplement(), 1);
  EXPECT_EQ(open.in_progress_overdue(), 0);
  EXPECT_EQ(open.in_progress_within_deadline(), 0);
  EXPECT_EQ(open.in_progress_total(), 1);
  // Before the pause (end of 7/4): within the deadline.
  EXPECT_EQ(Total({d}, Query(kApr1, absl::CivilDay(2020, 4, 7))).in_progress_within_deadline(),
            1);

  // The pause closes on 5/5; the due moves to 10/4 + paused working time.
  *pause->mutable_end_time() = At(absl::CivilDay(2020, 5, 5));
  d.set_status(v1::DOSSIER_STATUS_PROCESSING);
  *d.mutable_due_time() = At(absl::CivilDay(2020, 5, 7), 17);
  const v1::CompletionColumns april = Total({d}, Query(kApr1, kApr30));
  EXPECT_EQ(april.awaiting_supplement(), 1);
  EXPECT_EQ(april.in_progress_overdue(), 0);
  const v1::CompletionColumns may =
      Total({d}, Query(absl::CivilDay(2020, 5, 1), absl::CivilDay(2020, 5, 8)));
  EXPECT_EQ(may.carried_over(), 1);
  EXPECT_EQ(may.awaiting_supplement(), 0);
  EXPECT_EQ(may.in_progress_overdue(), 1);  // 8/5 is after the 7/5 due date
}

TEST_F(ReportTest, FinancialObligationHasItsOwnColumn) {
  v1::Dossier d = Received(kApr1, absl::CivilDay(2020, 4, 10));
  v1::ClockPause* pause = d.add_pauses();
  *pause->mutable_start_time() = At(absl::CivilDay(2020, 4, 3));
  pause->set_reason(v1::ACTION_KIND_REQUEST_PAYMENT);
  d.set_status(v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION);
  const v1::CompletionColumns c = Total({d}, Query(kApr1, kApr30));
  EXPECT_EQ(c.awaiting_financial_obligation(), 1);
  EXPECT_EQ(c.awaiting_supplement(), 0);
}

TEST_F(ReportTest, WithdrawnCountsAsOnTimeOnlyUnderThePolicy) {
  const v1::Dossier withdrawn = Closed(Received(kApr1, absl::CivilDay(2020, 4, 10)),
                                       v1::DOSSIER_STATUS_WITHDRAWN, absl::CivilDay(2020, 4, 20));
  const v1::Dossier late = Finished(Received(kApr1, absl::CivilDay(2020, 4, 10)),
                                    absl::CivilDay(2020, 4, 14));
  const v1::CompletionColumns strict = Total({withdrawn, late}, Query(kApr1, kApr30));
  EXPECT_EQ(strict.withdrawn(), 1);
  EXPECT_EQ(strict.resolved_total(), 1);
  EXPECT_EQ(strict.resolved_on_time(), 0);
  EXPECT_DOUBLE_EQ(strict.on_time_rate_over_resolved().percent(), 0.0);
  EXPECT_EQ(strict.in_progress_total(), 0);
  const v1::CompletionColumns lenient =
      Total({withdrawn, late}, Query(kApr1, kApr30, kDistrict, v1::REPORT_GROUP_BY_NONE,
                                     v1::WITHDRAWN_POLICY_ON_TIME));
  EXPECT_EQ(lenient.withdrawn(), 1);
  EXPECT_EQ(lenient.resolved_on_time(), 1);
  EXPECT_EQ(lenient.resolved_total(), 2);
  EXPECT_DOUBLE_EQ(lenient.on_time_rate_over_resolved().percent(), 50.0);
  // The average resolution time counts real results only.
  EXPECT_EQ(lenient.average_resolution_working_days(),
            strict.average_resolution_working_days());
}

TEST_F(ReportTest, RefusedStoppedAndReturned) {
  v1::Dossier at_desk;  // refused at reception: never received
  at_desk.set_receiving_agency_code(kCommune1);
  at_desk.set_procedure_code("1.001193");
  at_desk.set_status(v1::DOSSIER_STATUS_REFUSED);
  *at_desk.mutable_closed_time() = At(absl::CivilDay(2020, 4, 2));
  const v1::Dossier stopped = Closed(Received(kApr1, absl::CivilDay(2020, 4, 10)),
                                     v1::DOSSIER_STATUS_STOPPED, absl::CivilDay(2020, 4, 6));
  v1::Dossier returned = Finished(Received(kApr1, absl::CivilDay(2020, 4, 10)),
                                  absl::CivilDay(2020, 4, 9));
  returned.set_status(v1::DOSSIER_STATUS_RETURNED);
  *returned.mutable_returned_time() = At(absl::CivilDay(2020, 5, 4));
  const v1::CompletionColumns april = Total({at_desk, stopped, returned}, Query(kApr1, kApr30));
  EXPECT_EQ(april.refused(), 1);
  EXPECT_EQ(april.received_total(), 2);  // the refusal at the desk was never received
  EXPECT_EQ(april.stopped(), 1);
  EXPECT_EQ(april.resolved_early(), 1);
  EXPECT_EQ(april.returned(), 0);  // handed over in May
  EXPECT_EQ(Total({returned}, Query(absl::CivilDay(2020, 5, 1), absl::CivilDay(2020, 5, 31)))
                .returned(),
            1);
}

TEST_F(ReportTest, ChannelsOnlineShareAndAverageResolutionTime) {
  // 1/4/2020 is a Wednesday; Thursday 2/4/2020 is Giỗ Tổ Hùng Vương (10/3
  // lunar), a holiday: 2 working days to 6/4 (Fri 3/4, Mon 6/4), 0 to 2/4.
  const std::vector<v1::Dossier> dossiers = {
      Finished(Received(kApr1, absl::CivilDay(2020, 4, 10), kCommune1, v1::CHANNEL_ONLINE),
               absl::CivilDay(2020, 4, 6)),
      Finished(Received(kApr1, absl::CivilDay(2020, 4, 10), kCommune1, v1::CHANNEL_POSTAL),
               absl::CivilDay(2020, 4, 2)),
      Received(kApr1, absl::CivilDay(2020, 4, 10), kCommune2, v1::CHANNEL_DIRECT),
  };
  const v1::CompletionColumns c = Total(dossiers, Query(kApr1, kApr30));
  EXPECT_EQ(c.received_online(), 1);
  EXPECT_EQ(c.received_postal(), 1);
  EXPECT_EQ(c.received_direct(), 1);
  EXPECT_EQ(c.online_share().numerator(), 1);
  EXPECT_EQ(c.online_share().denominator(), 3);
  EXPECT_DOUBLE_EQ(c.average_resolution_working_days(), (2.0 + 0.0) / 2.0);
}

TEST_F(ReportTest, DigitisedAtReceptionNeedsEveryListedApplicantComponent) {
  constexpr auto kReception = v1::COMPONENT_STAGE_RECEPTION;
  const v1::Dossier bare = Received(kApr1, absl::CivilDay(2020, 4, 10));  // procedure 1.001193
  // 1.001193 lists to_khai and ban_sao_cccd (applicant) and giay_khai_sinh
  // (result): both applicant types at reception → digitised.
  const v1::Dossier all = With(With(bare, "to_khai", kReception), "ban_sao_cccd", kReception);
  // One listed type missing: not digitised, however many copies of the other.
  const v1::Dossier missing = With(With(bare, "to_khai", kReception), "to_khai", kReception);
  // The missing one supplied for a supplement, not at reception: still not.
  const v1::Dossier late_supplement =
      With(missing, "ban_sao_cccd", v1::COMPONENT_STAGE_SUPPLEMENT);
  // A result document does not stand in for an applicant component.
  const v1::Dossier result_only = With(bare, "giay_khai_sinh", v1::COMPONENT_STAGE_RESULT);
  // No components at all (every dossier written before components existed).
  const v1::CompletionColumns c =
      Total({all, missing, late_supplement, result_only, bare}, Query(kApr1, kApr30));
  EXPECT_EQ(c.received_total(), 5);
  EXPECT_EQ(c.received_digitised(), 1);
  EXPECT_EQ(c.received_digitised_share().numerator(), 1);
  EXPECT_EQ(c.received_digitised_share().denominator(), 5);
  EXPECT_DOUBLE_EQ(c.received_digitised_share().percent(), 20.0);

  // A procedure without a list (2.000908): one reception component of any
  // type suffices; none does not.
  const v1::Dossier unlisted = Received(kApr1, absl::CivilDay(2020, 4, 10), kCommune1,
                                        v1::CHANNEL_DIRECT, "2.000908");
  const v1::CompletionColumns u =
      Total({With(unlisted, "ban_chinh", kReception), unlisted,
             With(unlisted, "ban_chinh", v1::COMPONENT_STAGE_SUPPLEMENT)},
            Query(kApr1, kApr30));
  EXPECT_EQ(u.received_total(), 3);
  EXPECT_EQ(u.received_digitised(), 1);
  EXPECT_EQ(Total({}, Query(kApr1, kApr30)).received_digitised_share().percent(), 0.0);
}

TEST_F(ReportTest, DigitisedAtReceptionCountsOnTheReceivedDay) {
  constexpr auto kReception = v1::COMPONENT_STAGE_RECEPTION;
  // Received 30/3, resolved in April: a March flow, like received_total,
  // even when the dossier ends later or is refused after reception.
  const v1::Dossier d =
      Finished(With(With(Received(absl::CivilDay(2020, 3, 30), absl::CivilDay(2020, 4, 3)),
                         "to_khai", kReception),
                    "ban_sao_cccd", kReception),
               absl::CivilDay(2020, 4, 2));
  const v1::Dossier refused = Closed(With(d, "x", kReception), v1::DOSSIER_STATUS_REFUSED,
                                     absl::CivilDay(2020, 4, 1));
  const ReportQuery march = Query(absl::CivilDay(2020, 3, 1), absl::CivilDay(2020, 3, 31));
  EXPECT_EQ(Total({d, refused}, march).received_digitised(), 2);
  const v1::CompletionColumns april = Total({d, refused}, Query(kApr1, kApr30));
  EXPECT_EQ(april.carried_over(), 2);
  EXPECT_EQ(april.received_digitised(), 0);
  EXPECT_EQ(april.received_digitised_share().denominator(), 0);
  // A dossier refused at the desk was never received: not counted.
  v1::Dossier at_desk = With(d, "to_khai", kReception);
  at_desk.clear_received_time();
  at_desk = Closed(at_desk, v1::DOSSIER_STATUS_REFUSED, absl::CivilDay(2020, 3, 30));
  EXPECT_EQ(Total({at_desk}, march).received_digitised(), 0);
}

TEST_F(ReportTest, ElectronicResultNeedsAResultComponentAndCountsOnTheResolutionDay) {
  constexpr auto kResult = v1::COMPONENT_STAGE_RESULT;
  const absl::CivilDay due(2020, 4, 20);
  const v1::Dossier with_result =
      With(Finished(Received(absl::CivilDay(2020, 3, 25), due), absl::CivilDay(2020, 4, 6)),
           "giay_khai_sinh", kResult);
  // Resolved without a result document, and one with only reception
  // components.
  const v1::Dossier paper = Finished(Received(kApr1, due), absl::CivilDay(2020, 4, 7));
  const v1::Dossier reception_only = With(paper, "to_khai", v1::COMPONENT_STAGE_RECEPTION);
  // Returned in May, resolved in April: counted in April (resolution day).
  v1::Dossier returned = With(Finished(Received(kApr1, due), absl::CivilDay(2020, 4, 29)),
                              "giay_khai_sinh", kResult);
  returned.set_status(v1::DOSSIER_STATUS_RETURNED);
  *returned.mutable_returned_time() = At(absl::CivilDay(2020, 5, 4));
  // Resolved in May with a result: not in April.
  const v1::Dossier may = With(Finished(Received(kApr1, absl::CivilDay(2020, 5, 20)),
                                        absl::CivilDay(2020, 5, 5)),
                               "giay_khai_sinh", kResult);
  // A result component on a withdrawn dossier never counts, under either
  // policy (withdrawals carry no result).
  const v1::Dossier withdrawn =
      Closed(With(Received(kApr1, due), "giay_khai_sinh", kResult), v1::DOSSIER_STATUS_WITHDRAWN,
             absl::CivilDay(2020, 4, 8));
  const std::vector<v1::Dossier> all = {with_result, paper, reception_only, returned, may,
                                        withdrawn};
  const v1::CompletionColumns april = Total(all, Query(kApr1, kApr30));
  EXPECT_EQ(april.resolved_total(), 4);
  EXPECT_EQ(april.resolved_with_electronic_result(), 2);
  EXPECT_EQ(april.electronic_result_share().numerator(), 2);
  EXPECT_EQ(april.electronic_result_share().denominator(), 4);
  EXPECT_DOUBLE_EQ(april.electronic_result_share().percent(), 50.0);
  const v1::CompletionColumns lenient = Total(
      all, Query(kApr1, kApr30, kDistrict, v1::REPORT_GROUP_BY_NONE, v1::WITHDRAWN_POLICY_ON_TIME));
  EXPECT_EQ(lenient.resolved_total(), 5);
  EXPECT_EQ(lenient.resolved_with_electronic_result(), 2);
  EXPECT_EQ(lenient.electronic_result_share().denominator(), 4);
  const v1::CompletionColumns march =
      Total(all, Query(absl::CivilDay(2020, 3, 1), absl::CivilDay(2020, 3, 31)));
  EXPECT_EQ(march.resolved_with_electronic_result(), 0);
  const v1::CompletionColumns may_report =
      Total(all, Query(absl::CivilDay(2020, 5, 1), absl::CivilDay(2020, 5, 31)));
  EXPECT_EQ(may_report.resolved_with_electronic_result(), 1);
  EXPECT_EQ(may_report.returned(), 1);
  // Both indicators also appear in the 766 block, equal to the total's.
  const v1::GetCompletionReportResponse r = ViaCounters(all, Query(kApr1, kApr30));
  EXPECT_EQ(r.indicators().electronic_result_share().numerator(), 2);
  EXPECT_EQ(r.indicators().received_digitised_share().denominator(),
            r.total().columns().received_total());
}

TEST_F(ReportTest, DigitisationCountersFollowAttachmentsAfterTheFact) {
  // Components arrive by later writes (attach at RECEIVED, a result at
  // RESULT_READY): the change of contributions moves the +1 onto the
  // received / resolution day, and a dossier without components
  // contributes nothing to the two slots (old counters stay consistent).
  constexpr auto kReception = v1::COMPONENT_STAGE_RECEPTION;
  v1::Dossier d = Received(kApr1, absl::CivilDay(2020, 4, 10));
  std::vector<v1::Dossier> states = {d};
  d = With(d, "to_khai", kReception);
  states.push_back(d);
  d = With(d, "ban_sao_cccd", kReception);
  states.push_back(d);
  d = Finished(d, absl::CivilDay(2020, 4, 8));
  states.push_back(d);
  d = With(d, "giay_khai_sinh", v1::COMPONENT_STAGE_RESULT);
  states.push_back(d);
  for (const SeriesDelta& delta : Contributions(states[0], *catalogue_)) {
    EXPECT_EQ(delta.values[kSlotReceivedDigitised], 0);
    EXPECT_EQ(delta.values[kSlotResolvedElectronicResult], 0);
  }
  std::map<std::pair<std::string, absl::CivilDay>, SlotValues> sum;
  const v1::Dossier* before = nullptr;
  for (const v1::Dossier& state : states) {
    for (const SeriesDelta& delta : ContributionChange(before, state, *catalogue_)) {
      SlotValues& v = sum[{delta.series, delta.day}];
      for (int i = 0; i < kReportSlots; ++i) v[i] += delta.values[i];
    }
    before = &state;
  }
  const std::string own = absl::StrCat("o:", kCommune1, "|*");
  EXPECT_EQ((sum[{own, kApr1}][kSlotReceivedDigitised]), 1);
  EXPECT_EQ((sum[{own, absl::CivilDay(2020, 4, 8)}][kSlotResolvedElectronicResult]), 1);
  const v1::CompletionColumns c = Total({states.back()}, Query(kApr1, kApr30));
  EXPECT_EQ(c.received_digitised(), 1);
  EXPECT_EQ(c.resolved_with_electronic_result(), 1);
}

TEST_F(ReportTest, SubtreeRollupsEqualTheSumOfTheirParts) {
  std::vector<v1::Dossier> dossiers;
  for (int i = 0; i < 12; ++i) {
    const std::string agency = i % 3 == 0 ? kCommune1 : (i % 3 == 1 ? kCommune2 : kDistrict);
    dossiers.push_back(Finished(Received(kApr1 + i, kApr1 + i + 4, agency), kApr1 + i + (i % 6)));
  }
  const ReportQuery by_agency = Query(kApr1, kApr30, kDistrict, v1::REPORT_GROUP_BY_AGENCY);
  const v1::GetCompletionReportResponse report = ViaCounters(dossiers, by_agency);
  ASSERT_EQ(report.rows_size(), 3);
  int64_t received = 0, early = 0, on_time = 0, late = 0;
  for (const v1::CompletionReportRow& row : report.rows()) {
    received += row.columns().received_total();
    early += row.columns().resolved_early();
    on_time += row.columns().resolved_on_time();
    late += row.columns().resolved_late();
  }
  EXPECT_EQ(received, report.total().columns().received_total());
  EXPECT_EQ(received, 12);
  EXPECT_EQ(early, report.total().columns().resolved_early());
  EXPECT_EQ(on_time, report.total().columns().resolved_on_time());
  EXPECT_EQ(late, report.total().columns().resolved_late());
  // The province's subtree holds the district's; commune 1 only its own 4.
  EXPECT_EQ(Total(dossiers, Query(kApr1, kApr30, kProvince)).received_total(), 12);
  EXPECT_EQ(Total(dossiers, Query(kApr1, kApr30, kCommune1)).received_total(), 4);
  ReportQuery communes = Query(kApr1, kApr30);
  communes.scope_kind = ReportQuery::ScopeKind::kLevel;
  communes.scope_code = "commune";
  EXPECT_EQ(Total(dossiers, communes).received_total(), 8);
}

// ContributionChange merges two ordered lists in one pass: its result must
// be what adding them up key by key gives, ordered, one entry per key, no
// all-zero entry (the store relies on the shape).
TEST_F(ReportTest, ContributionChangeIsOrderedMergedAndEqualsTheDifference) {
  const v1::Dossier received = Received(kApr1, absl::CivilDay(2020, 4, 10));
  const v1::Dossier finished = Finished(received, absl::CivilDay(2020, 4, 16));
  const v1::Dossier elsewhere = Received(kApr1 + 3, absl::CivilDay(2020, 4, 20), kCommune2);
  // Same facts, another holder: nothing counted changes (the shortcut).
  v1::Dossier handed_over = received;
  handed_over.set_holder_agency_code(kCommune2);
  // Same facts, another channel or procedure: the series change.
  v1::Dossier online = received;
  online.set_channel(received.channel() == v1::CHANNEL_ONLINE ? v1::CHANNEL_DIRECT
                                                               : v1::CHANNEL_ONLINE);
  v1::Dossier other_procedure = received;
  other_procedure.set_procedure_code(absl::StrCat(received.procedure_code(), "-other"));
  for (const auto& [before, after] :
       std::vector<std::pair<const v1::Dossier*, const v1::Dossier*>>{
           {nullptr, &received}, {&received, &finished}, {&finished, &received},
           {&received, &received}, {&received, &elsewhere}, {&received, &handed_over},
           {&received, &online}, {&received, &other_procedure}}) {
    std::map<std::pair<std::string, absl::CivilDay>, SlotValues> expected;
    for (const SeriesDelta& d : Contributions(*after, *catalogue_)) {
      expected[{d.series, d.day}] = d.values;
    }
    if (before != nullptr) {
      for (const SeriesDelta& d : Contributions(*before, *catalogue_)) {
        SlotValues& v = expected[{d.series, d.day}];
        for (int i = 0; i < kReportSlots; ++i) v[i] -= d.values[i];
      }
    }
    for (auto it = expected.begin(); it != expected.end();) {
      bool zero = true;
      for (int64_t v : it->second) zero = zero && v == 0;
      it = zero ? expected.erase(it) : std::next(it);
    }
    const std::vector<SeriesDelta> change = ContributionChange(before, *after, *catalogue_);
    std::map<std::pair<std::string, absl::CivilDay>, SlotValues> got;
    for (size_t i = 0; i < change.size(); ++i) {
      if (i > 0) {
        EXPECT_LT(std::tie(change[i - 1].series, change[i - 1].day),
                  std::tie(change[i].series, change[i].day));
      }
      bool zero = true;
      for (int64_t v : change[i].values) zero = zero && v == 0;
      EXPECT_FALSE(zero) << change[i].series;
      got[{change[i].series, change[i].day}] = change[i].values;
    }
    EXPECT_EQ(got, expected);
  }
  EXPECT_TRUE(ContributionChange(&received, received, *catalogue_).empty());
  EXPECT_TRUE(ContributionChange(&received, handed_over, *catalogue_).empty());
  EXPECT_FALSE(ContributionChange(&received, online, *catalogue_).empty());
  EXPECT_FALSE(ContributionChange(&received, other_procedure, *catalogue_).empty());
}

TEST_F(ReportTest, ContributionChangesAlongAHistoryAddUpToTheFinalContribution) {
  v1::Dossier d = Received(kApr1, absl::CivilDay(2020, 4, 10));
  std::vector<v1::Dossier> states = {d};
  v1::ClockPause* pause = d.add_pauses();
  *pause->mutable_start_time() = At(absl::CivilDay(2020, 4, 3));
  pause->set_reason(v1::ACTION_KIND_REQUEST_SUPPLEMENT);
  d.set_status(v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED);
  states.push_back(d);
  *d.mutable_pauses(0)->mutable_end_time() = At(absl::CivilDay(2020, 4, 9));
  *d.mutable_due_time() = At(absl::CivilDay(2020, 4, 14), 17);
  d.set_status(v1::DOSSIER_STATUS_PROCESSING);
  states.push_back(d);
  states.push_back(Finished(d, absl::CivilDay(2020, 4, 16)));

  std::map<std::pair<std::string, absl::CivilDay>, SlotValues> sum;
  const v1::Dossier* before = nullptr;
  for (const v1::Dossier& state : states) {
    for (const SeriesDelta& delta : ContributionChange(before, state, *catalogue_)) {
      SlotValues& v = sum[{delta.series, delta.day}];
      for (int i = 0; i < kReportSlots; ++i) v[i] += delta.values[i];
    }
    before = &state;
  }
  std::map<std::pair<std::string, absl::CivilDay>, SlotValues> expected;
  for (const SeriesDelta& delta : Contributions(states.back(), *catalogue_)) {
    expected[{delta.series, delta.day}] = delta.values;
  }
  for (auto it = sum.begin(); it != sum.end();) {
    bool zero = true;
    for (int64_t v : it->second) zero = zero && v == 0;
    it = zero ? sum.erase(it) : std::next(it);
  }
  EXPECT_EQ(sum, expected);
  // The final dossier is late (16/4 after 14/4), and was never overdue
  // while paused.
  EXPECT_EQ(Total({states.back()}, Query(kApr1, kApr30)).resolved_late(), 1);
  EXPECT_EQ(
      Total({states[1]}, Query(kApr1, absl::CivilDay(2020, 4, 12))).in_progress_overdue(), 0);
}

TEST_F(ReportTest, CountersEqualRecomputationOnARandomisedWorkload) {
  std::mt19937 rng(20200601);
  const std::vector<std::string> agencies = {kCommune1, kCommune2, "000.03.31.H15", kDistrict};
  const std::vector<std::string> procedures = {"1.001193", "2.000908", "1.004227", "2.000575"};
  std::vector<v1::Dossier> dossiers;
  const absl::CivilDay start(2020, 1, 1);
  for (int i = 0; i < 600; ++i) {
    const absl::CivilDay received = start + static_cast<int>(rng() % 200);
    const absl::CivilDay due = received + static_cast<int>(rng() % 15);
    v1::Dossier d = Received(received, due, agencies[rng() % agencies.size()],
                             static_cast<v1::Channel>(1 + rng() % 3),
                             procedures[rng() % procedures.size()]);
    const int fate = static_cast<int>(rng() % 8);
    const absl::CivilDay end = received + static_cast<int>(rng() % 25);
    if (rng() % 3 == 0) {  // a pause, maybe still open
      v1::ClockPause* p = d.add_pauses();
      const absl::CivilDay ps = received + static_cast<int>(rng() % 10);
      *p->mutable_start_time() = At(ps);
      p->set_reason(rng() % 2 ? v1::ACTION_KIND_REQUEST_SUPPLEMENT : v1::ACTION_KIND_REQUEST_PAYMENT);
      if (fate != 0) *p->mutable_end_time() = At(ps + static_cast<int>(rng() % 12));
    }
    if (fate >= 1 && fate <= 4) {
      d = Finished(d, end);
      if (fate == 4) {
        d.set_status(v1::DOSSIER_STATUS_RETURNED);
        *d.mutable_returned_time() = At(end + 2);
      }
    } else if (fate == 5) {
      d = Closed(d, v1::DOSSIER_STATUS_WITHDRAWN, end);
    } else if (fate == 6) {
      d = Closed(d, v1::DOSSIER_STATUS_STOPPED, end);
    } else if (fate == 7) {
      d = Closed(d, v1::DOSSIER_STATUS_REFUSED, end);
      if (rng() % 2) d.clear_received_time();
    }
    if (fate >= 1 && fate <= 4 && d.pauses_size() > 0 && !d.pauses(0).has_end_time()) {
      *d.mutable_pauses(0)->mutable_end_time() = d.finished_time();
    }
    // Components: none (as before components existed), or a random subset
    // of the listed types and free types at a random stage.
    const int components = static_cast<int>(rng() % 4);
    const std::vector<std::string> types = {"to_khai", "ban_sao_cccd", "giay_khai_sinh", "khac"};
    for (int k = 0; k < components; ++k) {
      d = With(d, types[rng() % types.size()],
               static_cast<v1::ComponentStage>(1 + rng() % 3));
    }
    dossiers.push_back(d);
  }
  const std::vector<v1::ReportGroupBy> groupings = {
      v1::REPORT_GROUP_BY_NONE, v1::REPORT_GROUP_BY_AGENCY, v1::REPORT_GROUP_BY_LEVEL,
      v1::REPORT_GROUP_BY_PROCEDURE, v1::REPORT_GROUP_BY_CHANNEL, v1::REPORT_GROUP_BY_FIELD};
  int64_t digitised = 0, electronic = 0;
  for (int i = 0; i < 60; ++i) {
    const absl::CivilDay from = start + static_cast<int>(rng() % 220);
    const absl::CivilDay to = from + static_cast<int>(rng() % 90);
    ReportQuery q = Query(from, to, i % 4 == 0 ? kProvince : agencies[rng() % agencies.size()],
                          groupings[i % groupings.size()],
                          i % 2 ? v1::WITHDRAWN_POLICY_ON_TIME : v1::WITHDRAWN_POLICY_NOT_RESOLVED);
    if (i % 5 == 0) {
      q.scope_kind = ReportQuery::ScopeKind::kLevel;
      q.scope_code = "commune";
    }
    SCOPED_TRACE(::testing::Message() << "query " << i);
    const v1::CompletionColumns c = Total(dossiers, q);  // asserts both paths agree
    // Stocks never go negative; the in-progress parts add up.
    EXPECT_GE(c.in_progress_within_deadline(), 0);
    EXPECT_EQ(c.in_progress_total(), c.in_progress_within_deadline() + c.in_progress_overdue() +
                                         c.awaiting_supplement() +
                                         c.awaiting_financial_obligation());
    EXPECT_LE(c.resolved_total() + c.stopped() + c.in_progress_total(), c.to_handle());
    EXPECT_LE(c.received_digitised(), c.received_total());
    EXPECT_LE(c.resolved_with_electronic_result(),
              c.resolved_early() + c.resolved_on_time() + c.resolved_late());
    digitised += c.received_digitised();
    electronic += c.resolved_with_electronic_result();
  }
  EXPECT_GT(digitised, 0);  // the workload exercises both indicators
  EXPECT_GT(electronic, 0);
}

TEST_F(ReportTest, LateStagesNameTheAgencyThatCausedTheDelay) {
  // An interlinked dossier of commune 1: the commune finished its stage
  // early, the land branch late, the tax office on time (control slip).
  v1::Dossier d = Finished(Received(kApr1, absl::CivilDay(2020, 4, 20)), absl::CivilDay(2020, 4, 22));
  auto task = [&](v1::Stage* stage, const std::string& agency, v1::StageOutcome outcome,
                  absl::CivilDay done) {
    v1::StageTask* t = stage->add_tasks();
    t->set_agency_code(agency);
    t->set_status(v1::STAGE_TASK_STATUS_DONE);
    *t->mutable_completed_time() = At(done);
    t->set_outcome(outcome);
  };
  v1::Stage* first = d.add_stages();
  task(first, kCommune1, v1::STAGE_OUTCOME_EARLY, absl::CivilDay(2020, 4, 2));
  v1::Stage* second = d.add_stages();
  task(second, "000.31.02.H15", v1::STAGE_OUTCOME_LATE, absl::CivilDay(2020, 4, 21));
  task(second, "000.31.03.H15", v1::STAGE_OUTCOME_ON_TIME, absl::CivilDay(2020, 4, 16));
  v1::Dossier other = d;  // a second one whose stages finished in May
  for (v1::Stage& stage : *other.mutable_stages()) {
    for (v1::StageTask& t : *stage.mutable_tasks()) *t.mutable_completed_time() = At(absl::CivilDay(2020, 5, 4));
  }
  const ReportQuery q = Query(kApr1, kApr30);
  Total({d, other}, q);  // both paths agree
  const v1::GetCompletionReportResponse r = ViaCounters({d, other}, q);
  ASSERT_EQ(r.late_stages_size(), 3);
  EXPECT_EQ(r.late_stages(0).agency_code(), "000.31.02.H15");  // most late first
  EXPECT_EQ(r.late_stages(0).late(), 1);
  EXPECT_EQ(r.late_stages(0).late_share().denominator(), 1);
  int64_t stages = 0;
  for (const auto& s : r.late_stages()) stages += s.early() + s.on_time() + s.late();
  EXPECT_EQ(stages, 3);  // the May completions are outside the period
}

TEST_F(ReportTest, RequestValidation) {
  v1::GetCompletionReportRequest request;
  *request.mutable_from() = ToDateProto(kApr1);
  *request.mutable_to() = ToDateProto(kApr30);
  const auto policy = v1::WITHDRAWN_POLICY_NOT_RESOLVED;
  EXPECT_THAT(ParseReportRequest(request, *catalogue_, policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scope")));
  request.set_agency_code("");
  EXPECT_THAT(ParseReportRequest(request, *catalogue_, policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scope")));
  request.set_agency_code("000.99.99.H15");
  EXPECT_THAT(ParseReportRequest(request, *catalogue_, policy),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("000.99.99.H15")));
  request.set_level("hamlet");
  EXPECT_THAT(ParseReportRequest(request, *catalogue_, policy),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("hamlet")));
  request.set_agency_code(kDistrict);
  *request.mutable_from() = ToDateProto(kApr30);
  *request.mutable_to() = ToDateProto(kApr1);
  EXPECT_THAT(ParseReportRequest(request, *catalogue_, policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reversed")));
  request.mutable_to()->set_month(2);
  request.mutable_to()->set_day(30);
  EXPECT_THAT(ParseReportRequest(request, *catalogue_, policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a date")));
  request.clear_to();
  EXPECT_THAT(ParseReportRequest(request, *catalogue_, policy),
              StatusIs(absl::StatusCode::kInvalidArgument));
  *request.mutable_from() = ToDateProto(kApr1);
  *request.mutable_to() = ToDateProto(kApr30);
  absl::StatusOr<ReportQuery> ok =
      ParseReportRequest(request, *catalogue_, v1::WITHDRAWN_POLICY_ON_TIME);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->withdrawn_policy, v1::WITHDRAWN_POLICY_ON_TIME);
  EXPECT_EQ(ok->group_by, v1::REPORT_GROUP_BY_NONE);
}

}  // namespace
}  // namespace onestop::core
