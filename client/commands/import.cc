// onestopctl admin import FILE.jsonl [--batch N]: bulk import of historical
// dossiers (issue #8, docs/IMPORT.md) over AdminService.ImportDossiers.
// One dossier per line, as proto JSON (what `onestopctl show --output=json`
// prints, compacted to one line, e.g. with `jq -c .`). The file is streamed
// in batches; a reader thread takes the answers while the next batches are
// sent, so the daemon never waits for the client. Records that fail are
// printed with their line number; the others are imported (or were already
// present: an import may simply be run again).
#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "client/commands/commands.h"
#include "client/commands/transfer.h"
#include "google/protobuf/util/json_util.h"
#include "onestop/v1/dossier_service.grpc.pb.h"

namespace onestop::client {
namespace {

struct ImportArgs {
  std::string file;
  int batch = 500;
  bool quiet = false;
};

// Batches sent and not yet answered at most (bounds memory; the stream's
// flow control bounds it too).
constexpr size_t kMaxInFlight = 8;

// One sent batch: the file line of each record.
struct SentBatch {
  std::vector<int64_t> lines;
};

// A failed record, to print.
struct Failure {
  int64_t line = 0;
  std::string code;
  absl::StatusCode status = absl::StatusCode::kUnknown;
  std::string message;
};

// "\rimport  42%  12345 imported  3 present  1 failed" on a terminal,
// redrawn when a number changes.
class ImportProgress {
 public:
  ImportProgress(std::ostream& err, bool enabled) : err_(err), enabled_(enabled) {}
  ~ImportProgress() { Finish(); }
  void Update(int percent, int64_t imported, int64_t present, int64_t failed) {
    if (!enabled_) return;
    drawn_ = true;
    err_ << absl::StrFormat("\rimport %3d%%  %d imported  %d already present  %d failed",
                            percent, imported, present, failed)
         << std::flush;
  }
  void Finish() {
    if (drawn_) err_ << '\n' << std::flush;
    drawn_ = false;
  }

 private:
  std::ostream& err_;
  const bool enabled_;
  bool drawn_ = false;
};

std::string CodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  for (char& c : name) c = c == ' ' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

absl::Status RunImport(CommandContext& ctx, const ImportArgs& args) {
  if (args.batch < 1 || args.batch > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch is ", args.batch, "; give 1 to 1000 dossiers per request"));
  }
  std::ifstream in(args.file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open \"", args.file, "\""));
  }
  in.seekg(0, std::ios::end);
  const int64_t total_bytes = static_cast<int64_t>(in.tellg());
  in.seekg(0, std::ios::beg);

  std::unique_ptr<grpc::ClientContext> rpc = ctx.NewStreamRpc();
  IdleWatchdog watchdog(rpc.get(), ctx.options().timeout);
  std::unique_ptr<grpc::ClientReaderWriterInterface<v1::ImportDossiersRequest,
                                                    v1::ImportDossiersResponse>>
      stream = ctx.admin().ImportDossiers(rpc.get());

  // Shared with the reader thread.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<SentBatch> in_flight;
  std::vector<Failure> failures;
  int64_t imported = 0, present = 0, failed = 0;
  int64_t bytes_answered = 0;
  std::deque<int64_t> batch_end_bytes;
  bool reader_done = false;
  ImportProgress progress(ctx.err(), ctx.err_is_terminal() && !args.quiet);

  std::thread reader([&] {
    v1::ImportDossiersResponse response;
    while (stream->Read(&response)) {
      watchdog.Touch();
      std::lock_guard<std::mutex> lock(mu);
      if (in_flight.empty()) break;  // the server answered more than we sent
      const SentBatch batch = std::move(in_flight.front());
      in_flight.pop_front();
      bytes_answered = batch_end_bytes.front();
      batch_end_bytes.pop_front();
      imported += response.imported();
      present += response.already_present();
      failed += response.failed();
      for (const v1::ImportFailure& f : response.failures()) {
        Failure& out = failures.emplace_back();
        out.line = f.index() >= 0 && static_cast<size_t>(f.index()) < batch.lines.size()
                       ? batch.lines[static_cast<size_t>(f.index())]
                       : 0;
        out.code = f.code();
        out.status = static_cast<absl::StatusCode>(f.status_code());
        out.message = f.message();
      }
      progress.Update(total_bytes > 0 ? static_cast<int>(bytes_answered * 100 / total_bytes) : 100,
                      imported, present, failed);
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    reader_done = true;
    cv.notify_all();
  });

  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;
  int64_t line_number = 0;
  int64_t lines_with_records = 0;
  bool stream_ok = true;
  v1::ImportDossiersRequest request;
  SentBatch batch;
  std::string line;
  auto send = [&]() -> bool {
    if (request.dossiers_size() == 0) return true;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight.size() < kMaxInFlight || reader_done; });
      if (reader_done) return false;
      in_flight.push_back(std::move(batch));
      batch_end_bytes.push_back(in.eof() ? total_bytes : static_cast<int64_t>(in.tellg()));
    }
    batch = SentBatch();
    const bool ok = stream->Write(request);
    watchdog.Touch();
    request.Clear();
    return ok;
  };
  while (stream_ok && std::getline(in, line)) {
    ++line_number;
    const absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty()) continue;
    ++lines_with_records;
    v1::Dossier* dossier = request.add_dossiers();
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        google::protobuf::StringPiece(text.data(), text.size()), dossier, parse);
    if (!parsed.ok()) {
      request.mutable_dossiers()->RemoveLast();
      std::lock_guard<std::mutex> lock(mu);
      ++failed;
      // The parser's message quotes the line over several lines: keep one.
      std::string why = parsed.message().ToString();
      why = std::string(absl::StripAsciiWhitespace(why.substr(0, why.find('\n'))));
      failures.push_back({line_number, "", absl::StatusCode::kInvalidArgument,
                          absl::StrCat("not a dossier in proto JSON: ", why)});
      continue;
    }
    batch.lines.push_back(line_number);
    if (request.dossiers_size() >= args.batch) stream_ok = send();
  }
  const bool read_error = in.bad();
  if (stream_ok) stream_ok = send();
  if (stream_ok) stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  progress.Finish();

  std::sort(failures.begin(), failures.end(),
            [](const Failure& a, const Failure& b) { return a.line < b.line; });
  std::ostream& out = ctx.out();
  for (const Failure& f : failures) {
    out << "line " << f.line << (f.code.empty() ? "" : absl::StrCat(" (", f.code, ")")) << ": "
        << CodeName(f.status) << ": " << f.message << "\n";
  }
  out << absl::StrFormat("%d imported, %d already present, %d failed (%d records in %s)\n",
                         imported, present, failed, lines_with_records, args.file);
  if (!status.ok()) {
    absl::Status failure =
        watchdog.fired()
            ? absl::DeadlineExceededError(absl::StrCat(
                  "the daemon answered nothing for ", absl::FormatDuration(ctx.options().timeout),
                  "; the import stopped (run it again: imported records are skipped)"))
            : ctx.FromRpc(status);
    return absl::Status(failure.code(),
                        absl::StrCat(failure.message(),
                                     " — the import stopped; run it again to continue "
                                     "(records already imported are skipped)"));
  }
  if (read_error) {
    return absl::DataLossError(absl::StrCat("reading \"", args.file, "\" failed after line ",
                                            line_number, "; run the import again"));
  }
  if (failed > 0) {
    return absl::Status(failures.empty() ? absl::StatusCode::kInvalidArgument : failures[0].status,
                        absl::StrCat(failed, " record(s) were not imported (listed above); fix "
                                             "them and run the import again"));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterAdminImport(CLI::App& admin, CommandRegistry& registry) {
  auto args = std::make_shared<ImportArgs>();
  CLI::App* import = admin.add_subcommand(
      "import", "Import historical dossiers (one proto-JSON dossier per line, with history)");
  import->footer(
      "Each line is one Dossier as `onestopctl show --output=json` prints it, on one line,\n"
      "WITH its original code and full history (docs/IMPORT.md). Needs an admin token.\n"
      "Examples:\n"
      "  onestopctl admin import old-system.jsonl\n"
      "  onestopctl show 000.31.01.H15-190305-0042 --output=json | jq -c . > one.jsonl\n"
      "  onestopctl admin import --batch 1000 huyen-lien-son-2019.jsonl\n"
      "Records that fail are listed with their line number; the rest are imported. Running\n"
      "the same file again skips what is already there (identical dossiers), so an\n"
      "interrupted import is continued by running it again.\n"
      "Exit status: 0 if every record is imported or already present; otherwise the code\n"
      "of the first failed record (3 INVALID_ARGUMENT, 5 NOT_FOUND, 9 FAILED_PRECONDITION,\n"
      "…) or of the stream (7 PERMISSION_DENIED, 14 UNAVAILABLE).");
  import->add_option("FILE", args->file, "The JSON-lines file")->required();
  import->add_option("--batch", args->batch, "Dossiers per request (1–1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  import->add_flag("--quiet,-q", args->quiet, "No progress on stderr");
  registry.Add(import, [args](CommandContext& ctx) { return RunImport(ctx, *args); });
}

}  // namespace onestop::client
