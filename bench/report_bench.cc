// report_bench: completion-report latency from the counters vs a plain
// recomputation over the same SQLite database (issue #5; docs/REPORTS.md).
//
// 1. Loads --dossiers dossiers spread over a simulated year (2020) on the
//    Đắk Lắk sample: commune desks of huyện Lắk, the district desk and the
//    provincial Department of Justice, a mix of early / on-time / late,
//    withdrawn, stopped, still open and paused dossiers. Each dossier is
//    written once in its final state through AggregatingDossierStore over
//    SqliteDossierStore (synchronous=NORMAL), so the counters are exactly
//    what the daemon keeps (they depend only on the final state).
// 2. Runs --queries random reports (scope: province, district, a commune or
//    the commune level; a random period in the year; a random grouping)
//    through CompletionReporter and reports p50 / p99 / max.
// 3. For --recompute_queries of the same queries, times (a) the cheapest
//    possible rescan, `SELECT count(*)` of the scope's rows received in
//    the period (an index scan that cannot even fill one column), and (b)
//    a full recomputation: read every dossier of the scope and evaluate the
//    report predicates (core::RecomputeReport). Prints the ratios.
//
// Usage: report_bench --config deploy/daklak-2020.textproto --db /tmp/r.db
//        [--dossiers 300000] [--queries 1000] [--recompute_queries 10]
//        [--reuse]  (skip loading when the database already holds dossiers)
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/config/config_loader.h"
#include "server/core/report.h"
#include "server/service/aggregating_dossier_store.h"
#include "server/service/report_service.h"
#include "server/util/proto_time.h"
#include "storage/sqlite/sqlite_dossier_store.h"

ABSL_FLAG(std::string, config, "deploy/daklak-2020.textproto", "Catalogue configuration");
ABSL_FLAG(std::string, db, "/tmp/onestop-report-bench.db", "SQLite database file");
ABSL_FLAG(int64_t, dossiers, 300000, "Dossiers to load over the simulated year");
ABSL_FLAG(int, queries, 1000, "Report queries to time");
ABSL_FLAG(int, recompute_queries, 10, "Queries to also time as a recomputation");
ABSL_FLAG(bool, reuse, false, "Reuse an existing database instead of loading");
ABSL_FLAG(uint64_t, seed, 42, "Random seed");

namespace {

namespace v1 = ::onestop::v1;
using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

struct Desk {
  std::string agency;
  std::vector<std::string> procedures;
};

// A dossier in its final state, received on a working day of 2020.
v1::Dossier MakeDossier(std::mt19937_64& rng, const Desk& desk, const onestop::core::Catalogue& c,
                        const std::vector<absl::CivilDay>& days) {
  const onestop::core::WorkingCalendar& cal = c.calendar();
  v1::Dossier d;
  d.set_procedure_code(desk.procedures[rng() % desk.procedures.size()]);
  d.set_receiving_agency_code(desk.agency);
  d.set_holder_agency_code(desk.agency);
  d.set_channel(static_cast<v1::Channel>(1 + rng() % 3));
  d.mutable_applicant()->set_full_name("Nguyễn Văn An");
  d.set_summary("Hồ sơ tải thử");
  const absl::CivilDay received = days[rng() % days.size()];
  const absl::Time at = cal.FromLocal(absl::CivilMinute(received.year(), received.month(),
                                                        received.day(), 8, 0)) +
                        absl::Seconds(static_cast<int64_t>(rng() % 25000));
  *d.mutable_submitted_time() = onestop::ToProtoTime(at);
  *d.mutable_received_time() = onestop::ToProtoTime(at);
  const int amount = static_cast<int>(rng() % 12);
  const absl::CivilDay due = cal.AddWorkingDays(received, amount);
  const absl::Time due_at = cal.FromLocal(absl::CivilMinute(due.year(), due.month(), due.day(), 17, 0));
  *d.mutable_original_due_time() = onestop::ToProtoTime(due_at);
  *d.mutable_due_time() = onestop::ToProtoTime(due_at);
  const int fate = static_cast<int>(rng() % 100);
  auto at_day = [&](absl::CivilDay day) {
    return onestop::ToProtoTime(
        cal.FromLocal(absl::CivilMinute(day.year(), day.month(), day.day(), 10, 0)));
  };
  if (fate < 85) {  // resolved: early / on time / late
    const int r = static_cast<int>(rng() % 100);
    absl::CivilDay finish = due;
    if (r < 50 && amount > 0) finish = cal.AddWorkingDays(received, static_cast<int>(rng() % amount));
    if (r >= 92) finish = cal.AddWorkingDays(due, 1 + static_cast<int>(rng() % 5));
    d.set_status(rng() % 3 ? v1::DOSSIER_STATUS_RETURNED : v1::DOSSIER_STATUS_RESULT_READY);
    *d.mutable_finished_time() = at_day(finish);
    if (d.status() == v1::DOSSIER_STATUS_RETURNED) {
      *d.mutable_returned_time() = at_day(cal.AddWorkingDays(finish, static_cast<int>(rng() % 3)));
    }
  } else if (fate < 88) {
    d.set_status(v1::DOSSIER_STATUS_WITHDRAWN);
    *d.mutable_closed_time() = at_day(received + static_cast<int>(rng() % 5));
  } else if (fate < 90) {
    d.set_status(v1::DOSSIER_STATUS_STOPPED);
    *d.mutable_closed_time() = at_day(received + static_cast<int>(rng() % 5));
  } else if (fate < 94) {  // paused, maybe still
    v1::ClockPause* p = d.add_pauses();
    *p->mutable_start_time() = at_day(received + 1);
    p->set_reason(rng() % 2 ? v1::ACTION_KIND_REQUEST_SUPPLEMENT : v1::ACTION_KIND_REQUEST_PAYMENT);
    d.set_status(p->reason() == v1::ACTION_KIND_REQUEST_PAYMENT
                     ? v1::DOSSIER_STATUS_FINANCIAL_OBLIGATION
                     : v1::DOSSIER_STATUS_SUPPLEMENT_REQUESTED);
  } else {
    d.set_status(v1::DOSSIER_STATUS_PROCESSING);  // open
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  auto loaded = onestop::config::LoadConfigFile(absl::GetFlag(FLAGS_config));
  if (!loaded.ok()) {
    std::fprintf(stderr, "config: %s\n", std::string(loaded.status().message()).c_str());
    return 1;
  }
  const std::shared_ptr<const onestop::core::Catalogue> catalogue = *loaded;
  const std::string path = absl::GetFlag(FLAGS_db);
  const bool reuse = absl::GetFlag(FLAGS_reuse) && std::filesystem::exists(path);
  if (!reuse) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
  auto opened = onestop::storage::SqliteDossierStore::Open(
      {.path = path,
       .durability = onestop::storage::Durability::kNormal,
       .integrity_check = onestop::storage::IntegrityCheck::kHeaderOnly});
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(opened.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<onestop::storage::SqliteDossierStore> sqlite = std::move(*opened);
  auto current = [catalogue] { return catalogue; };
  onestop::service::AggregatingDossierStore store(sqlite.get(), current);
  onestop::service::CompletionReporter reporter(&store, current);

  const std::string district = "000.00.31.H15";
  std::vector<Desk> desks;
  for (const std::string& code : catalogue->SubtreeCodes(district)) {
    const v1::Agency* a = catalogue->FindAgency(code);
    if (a->level() == "commune" && a->valid_to().year() == 2025) {
      desks.push_back({code, {"1.001193", "1.000894", "2.000908"}});
    }
  }
  const size_t communes = desks.size();
  desks.push_back({district, {"2.000575", "1.003010"}});
  desks.push_back({"000.00.01.H15", {"2.000488"}});
  std::vector<absl::CivilDay> days;
  for (absl::CivilDay d(2020, 1, 1); d <= absl::CivilDay(2020, 12, 31); ++d) {
    if (catalogue->calendar().IsWorkingDay(d)) days.push_back(d);
  }

  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  const int64_t n = absl::GetFlag(FLAGS_dossiers);
  double load_seconds = 0;
  if (!reuse) {
    const Clock::time_point start = Clock::now();
    for (int64_t i = 0; i < n; ++i) {
      // Communes get ~80 % of the dossiers, as in the article.
      const size_t k = rng() % 10 < 8 ? rng() % communes : communes + rng() % 2;
      onestop::storage::CreateDossierWrite write;
      write.dossier = MakeDossier(rng, desks[k], *catalogue, days);
      const absl::CivilDay day = catalogue->calendar().ToLocalDay(
          onestop::FromProtoTime(write.dossier.received_time()));
      write.code_prefix = absl::StrFormat("%s-%02d%02d%02d-", desks[k].agency, day.year() % 100,
                                          day.month(), day.day());
      write.entry.set_action(v1::ACTION_KIND_SUBMIT);
      *write.entry.mutable_time() = write.dossier.received_time();
      write.entry.set_to_status(write.dossier.status());
      auto created = store.Create(write);
      if (!created.ok()) {
        std::fprintf(stderr, "create: %s\n", std::string(created.status().message()).c_str());
        return 1;
      }
      if ((i + 1) % 100000 == 0) {
        std::fprintf(stderr, "loaded %lld dossiers (%.0f/s)\n", static_cast<long long>(i + 1),
                     static_cast<double>(i + 1) / (MillisSince(start) / 1000));
      }
    }
    load_seconds = MillisSince(start) / 1000;
  }

  // Random queries.
  const std::vector<v1::ReportGroupBy> groupings = {
      v1::REPORT_GROUP_BY_NONE,      v1::REPORT_GROUP_BY_AGENCY,  v1::REPORT_GROUP_BY_LEVEL,
      v1::REPORT_GROUP_BY_PROCEDURE, v1::REPORT_GROUP_BY_CHANNEL, v1::REPORT_GROUP_BY_FIELD};
  std::vector<v1::GetCompletionReportRequest> requests;
  for (int i = 0; i < absl::GetFlag(FLAGS_queries); ++i) {
    v1::GetCompletionReportRequest r;
    switch (rng() % 4) {
      case 0: r.set_agency_code("000.00.00.H15"); break;
      case 1: r.set_agency_code(district); break;
      case 2: r.set_agency_code(desks[rng() % communes].agency); break;
      default: r.set_level("commune"); break;
    }
    const absl::CivilDay from = absl::CivilDay(2020, 1, 1) + static_cast<int>(rng() % 366);
    const absl::CivilDay to =
        std::min(absl::CivilDay(2020, 12, 31), from + static_cast<int>(rng() % 366));
    *r.mutable_from() = onestop::core::ToDateProto(from);
    *r.mutable_to() = onestop::core::ToDateProto(to);
    r.set_group_by(groupings[rng() % groupings.size()]);
    requests.push_back(r);
  }
  std::vector<double> latencies;
  int64_t checksum = 0;
  for (const auto& r : requests) {
    const Clock::time_point start = Clock::now();
    auto report = reporter.GetCompletionReport(r);
    latencies.push_back(MillisSince(start));
    if (!report.ok()) {
      std::fprintf(stderr, "report: %s\n", std::string(report.status().message()).c_str());
      return 1;
    }
    checksum += report->total().columns().received_total();
  }

  // Recomputations over the same database, through a second connection.
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::vector<double> scan_ms, full_ms;
  const int recompute = std::min<int>(absl::GetFlag(FLAGS_recompute_queries),
                                      static_cast<int>(requests.size()));
  for (int i = 0; i < recompute; ++i) {
    const auto& r = requests[i];
    auto query = onestop::core::ParseReportRequest(r, *catalogue, v1::WITHDRAWN_POLICY_NOT_RESOLVED);
    std::vector<std::string> codes;
    if (query->scope_kind == onestop::core::ReportQuery::ScopeKind::kAgency) {
      codes = catalogue->SubtreeCodes(query->scope_code);
    } else {
      for (const auto& a : catalogue->agencies()) {
        if (a.level() == query->scope_code) codes.push_back(a.code());
      }
    }
    std::string in;
    for (const std::string& c : codes) absl::StrAppend(&in, in.empty() ? "'" : ",'", c, "'");
    const auto& cal = catalogue->calendar();
    const int64_t from_us = absl::ToUnixMicros(cal.FromLocal(absl::CivilMinute(
        query->from.year(), query->from.month(), query->from.day(), 0, 0)));
    const int64_t to_us = absl::ToUnixMicros(cal.FromLocal(absl::CivilMinute(
        query->to.year(), query->to.month(), query->to.day(), 0, 0)) + absl::Hours(24));
    const std::string scan = absl::StrCat(
        "SELECT count(*) FROM dossiers WHERE receiving_agency IN (", in,
        ") AND submitted_time_us >= ", from_us, " AND submitted_time_us < ", to_us);
    Clock::time_point start = Clock::now();
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, scan.c_str(), -1, &stmt, nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW) checksum += sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    scan_ms.push_back(MillisSince(start));

    start = Clock::now();
    const std::string all =
        absl::StrCat("SELECT body FROM dossiers WHERE receiving_agency IN (", in, ")");
    sqlite3_prepare_v2(db, all.c_str(), -1, &stmt, nullptr);
    std::vector<v1::Dossier> dossiers;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      v1::Dossier& d = dossiers.emplace_back();
      d.ParseFromArray(sqlite3_column_blob(stmt, 0), sqlite3_column_bytes(stmt, 0));
    }
    sqlite3_finalize(stmt);
    const auto slow = onestop::core::RecomputeReport(dossiers, *query, *catalogue);
    full_ms.push_back(MillisSince(start));
    auto fast = reporter.GetCompletionReport(r);
    if (fast->total().columns().SerializeAsString() !=
        slow.total().columns().SerializeAsString()) {
      std::fprintf(stderr, "MISMATCH between counters and recomputation on query %d\n", i);
      return 2;
    }
  }
  int64_t counter_rows = 0, dossier_rows = 0;
  {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM report_counters), (SELECT count(*) FROM dossiers)",
                       -1, &stmt, nullptr);
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      counter_rows = sqlite3_column_int64(stmt, 0);
      dossier_rows = sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);

  const double p50 = Percentile(latencies, 0.50), p99 = Percentile(latencies, 0.99);
  const double scan_p50 = Percentile(scan_ms, 0.50), full_p50 = Percentile(full_ms, 0.50);
  std::printf("report_bench: %lld dossiers (%lld counter rows), db %s\n",
              static_cast<long long>(dossier_rows), static_cast<long long>(counter_rows),
              path.c_str());
  if (!reuse) {
    std::printf("  load: %.1f s, %.0f dossiers/s (one Create per dossier, NORMAL)\n", load_seconds,
                static_cast<double>(n) / load_seconds);
  }
  std::printf("  report from counters, %zu queries: p50 %.2f ms, p99 %.2f ms, max %.2f ms  "
              "[target p99 < 20 ms: %s]\n",
              latencies.size(), p50, p99, Percentile(latencies, 1.0), p99 < 20 ? "PASS" : "FAIL");
  std::printf("  SQL rescan (count received only), %zu queries: p50 %.1f ms  -> %.0fx the report p50\n",
              scan_ms.size(), scan_p50, p50 > 0 ? scan_p50 / p50 : 0);
  std::printf("  full recomputation (read + evaluate), %zu queries: p50 %.1f ms  -> %.0fx  "
              "[target >= 100x: %s]\n",
              full_ms.size(), full_p50, p50 > 0 ? full_p50 / p50 : 0,
              p50 > 0 && full_p50 / p50 >= 100 ? "PASS" : "FAIL");
  std::printf("  (checksum %lld)\n", static_cast<long long>(checksum));
  std::printf("{\"report_p50_ms\": %.3f, \"report_p99_ms\": %.3f, \"scan_p50_ms\": %.3f, "
              "\"recompute_p50_ms\": %.3f, \"dossiers\": %lld}\n",
              p50, p99, scan_p50, full_p50, static_cast<long long>(dossier_rows));
  return 0;
}
