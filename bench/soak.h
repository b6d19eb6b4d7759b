// The soak (issue #9, "Sanitizers and soak"): onestopd under a long MIXED
// load, sampled at fixed intervals; verdicts on whether its memory, open
// file descriptors and tail latency stay flat. Run as a phase of
// onestop_bench (`--phases=soak`); docs/RELIABILITY.md has the commands and
// figures.
//
// What runs: onestopd is started on a fresh database exactly as the other
// phases start it (loopback, --insecure, bootstrap token, a clerk+officer
// token for every DossierService call). The callback-API load generator
// keeps `in_flight` operations going over `channels` connections; each
// operation is drawn from `mix`:
//   submit     SubmitDossier (receive_now)
//   lifecycle  submit → hand over → decide → ready → return (5 writes)
//   get        GetDossier of a code acknowledged earlier in the run
//   list       the next 50-row ListDossiers page (newest first), following
//              next_page_token up to `list_pages` pages, then page 1 again
// Meanwhile `watchers` WatchEvents followers (own connections, a service
// token) read the whole feed from revision 1 and check it is gap-free.
//
// Every `sample_seconds` one JSON line {"kind":"soak_sample",…}: the
// daemon's VmRSS, open fds, database and WAL bytes, per operation kind the
// interval's calls, errors, calls/s, p50/p99, and the followers' events and
// lag. At the end one {"kind":"soak_summary",…} line with the verdicts
// (also readable on stderr):
//   rss    last sample vs the first after warm-up: growth ≤
//          max(rss_growth_mb, rss_growth_fraction × first)
//   fds    last vs first after warm-up: |change| ≤ fd_tolerance
//   p99    per kind, p99 over the last third of the post-warm-up samples vs
//          the first third: ≤ p99_ratio × first, or ≤ first + p99_slack_ms
//   errors no failed call
//   feed   followers saw contiguous revisions, never failed, and caught up
//          with every acknowledged write within 15 s of the load's end
#ifndef ONESTOP_BENCH_SOAK_H_
#define ONESTOP_BENCH_SOAK_H_

#include <string>

namespace onestop::bench {

struct SoakOptions {
  std::string onestopd;
  std::string config;
  std::string agency;
  std::string procedure;
  int threads = 32;
  int channels = 4;
  int in_flight = 16;
  // Total length, of which the first `warmup_seconds` are sampled but not
  // judged.
  double seconds = 1800;
  double warmup_seconds = 60;
  double sample_seconds = 30;
  // Operations started per second over all slots; 0 = closed loop (each
  // slot starts its next operation as soon as one ends).
  double rate = 200;
  // "kind=weight,…" over submit, lifecycle, get, list.
  std::string mix = "submit=2,lifecycle=1,get=4,list=2";
  int list_pages = 5;
  int watchers = 2;
  double rss_growth_fraction = 0.10;
  double rss_growth_mb = 20;
  int fd_tolerance = 2;
  double p99_ratio = 2.0;
  double p99_slack_ms = 1.0;
};

// Runs the soak with its databases under `dir`. Prints the JSON lines on
// stdout. Returns 0 if every verdict holds, 3 if one is violated, 1 if the
// soak could not run (bad options, the daemon did not start, …).
int RunSoak(const SoakOptions& options, const std::string& dir);

}  // namespace onestop::bench

#endif  // ONESTOP_BENCH_SOAK_H_
