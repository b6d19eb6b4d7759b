// onestopctl admin migrate --from FILE.db --to postgresql://…: the move of a
// commune's SQLite deployment into a province's PostgreSQL database (issue
// #11, docs/MIGRATION.md). Runs on the machine holding the file, with
// onestopd stopped; talks to PostgreSQL, not to onestopd. The work is
// tools/migrate/sqlite_to_postgres.h (the only non-API header the client
// may include: plain structs, nothing from storage/).
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/commands/commands.h"
#include "tools/migrate/sqlite_to_postgres.h"

namespace onestop::client {
namespace {

struct MigrateArgs {
  std::string from;
  std::string to;
  int batch_rows = 500;
  bool quiet = false;
};

// Draws "step  done/total  NN%" on one line (a terminal) or one line per
// finished step (a log).
class MigrationProgressBar {
 public:
  MigrationProgressBar(std::ostream& err, bool terminal) : err_(err), terminal_(terminal) {}
  ~MigrationProgressBar() { End(); }

  void Update(const migrate::MigrationProgress& p) {
    const int percent = p.total > 0 ? static_cast<int>(p.done * 100 / p.total) : 100;
    if (terminal_) {
      constexpr int kWidth = 30;
      const int filled = percent * kWidth / 100;
      err_ << absl::StrFormat("\r%-16s [%s%s] %3d%%  %d/%d", p.step, std::string(filled, '#'),
                              std::string(kWidth - filled, '.'), percent, p.done, p.total)
           << std::flush;
      drawn_ = true;
      if (p.finished) End();
    } else if (p.finished) {
      err_ << absl::StrFormat("%-16s %d/%d done\n", p.step, p.done, p.total) << std::flush;
    }
  }

 private:
  void End() {
    if (drawn_) err_ << '\n' << std::flush;
    drawn_ = false;
  }
  std::ostream& err_;
  const bool terminal_;
  bool drawn_ = false;
};

absl::Status RunMigrate(CommandContext& ctx, const MigrateArgs& args) {
  migrate::MigrateOptions options;
  options.source_path = args.from;
  options.target_uri = args.to;
  options.batch_rows = args.batch_rows;
  std::unique_ptr<MigrationProgressBar> bar;
  if (!args.quiet) {
    bar = std::make_unique<MigrationProgressBar>(ctx.err(), ctx.err_is_terminal());
    options.progress = [&bar](const migrate::MigrationProgress& p) { bar->Update(p); };
  }
  absl::StatusOr<migrate::MigrationReport> report = migrate::MigrateSqliteToPostgres(options);
  bar.reset();
  if (!report.ok()) return report.status();

  std::ostream& out = ctx.out();
  out << "source id " << report->source_id << "\n";
  for (const migrate::StepReport& step : report->steps) {
    out << absl::StrFormat("  %-16s %8d rows, %8d copied%s\n", step.step, step.source_rows,
                           step.copied, step.already_done ? " (done before)" : "");
  }
  if (!report->events_placement.empty()) {
    out << "events: revisions " << report->events_placement << "\n";
  }
  if (!report->audit_placement.empty()) {
    out << "audit: sequences " << report->audit_placement << "\n";
  }
  out << "report counters: shard " << report->counter_shard << "\n\n";
  out << absl::StrFormat("%-16s %10s %10s  %-16s %-16s %s\n", "TABLE", "SOURCE", "TARGET",
                         "SOURCE SHA-256", "TARGET SHA-256", "RESULT");
  std::vector<std::string> failed;
  for (const migrate::TableCheck& check : report->checks) {
    out << absl::StrFormat("%-16s %10d %10d  %-16s %-16s %s\n", check.table, check.source_rows,
                           check.target_rows, check.source_sha256.substr(0, 16),
                           check.target_sha256.substr(0, 16), check.ok ? "ok" : "MISMATCH");
    if (!check.ok) failed.push_back(check.table);
  }
  if (!report->verified) {
    return absl::DataLossError(absl::StrCat(
        "verification failed for ", absl::StrJoin(failed, ", "),
        ": the target differs from the source (see the table; docs/MIGRATION.md)"));
  }
  out << "verified: every count and checksum matches\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterAdminMigrate(CLI::App& admin, CommandRegistry& registry) {
  auto args = std::make_shared<MigrateArgs>();
  CLI::App* migrate = admin.add_subcommand(
      "migrate",
      "Copy a stopped SQLite deployment into PostgreSQL (resumable; verifies counts and "
      "checksums)");
  migrate->footer(
      "Runs here, on the file, with that onestopd stopped; talks to PostgreSQL directly.\n"
      "Examples:\n"
      "  systemctl stop onestopd\n"
      "  onestopctl admin migrate --from /var/lib/onestop/onestop.db \\\n"
      "      --to postgresql://onestop@db.tinh.gov.vn:5432/onestop\n"
      "An empty target keeps revisions and audit sequences; a province's database gets the\n"
      "commune's events and audit appended and its counters added. The province may keep\n"
      "serving its other agencies meanwhile, but not the migrated ones until this has\n"
      "finished and verified. Interrupted? Run the same command again: it continues.\n"
      "After success it copies nothing and re-verifies.\n"
      "Exit status: 0 verified; 9 FAILED_PRECONDITION (onestopd running, not an onestop\n"
      "database, a dossier code or request_id that conflicts); 14 UNAVAILABLE (PostgreSQL\n"
      "unreachable); 15 DATA_LOSS (verification mismatch). See docs/MIGRATION.md.");
  migrate->add_option("--from", args->from, "The SQLite database file (onestopd --db)")
      ->required();
  migrate->add_option("--to", args->to, "Target PostgreSQL URI, postgresql://user@host/db")
      ->required();
  migrate->add_option("--batch-rows", args->batch_rows, "Rows per target transaction")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  migrate->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  registry.Add(migrate, [args](CommandContext& ctx) { return RunMigrate(ctx, *args); });
}

}  // namespace onestop::client
