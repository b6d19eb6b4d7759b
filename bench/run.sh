#!/usr/bin/env bash
# The one command for issue #8: builds Release into build-bench/, runs every
# benchmark on this machine in one go, prints one table (absolute figures,
# ratios against ceilings measured in the same run, PASS/FAIL against the
# targets) and writes it as JSON. See docs/PERFORMANCE.md.
#
#   bench/run.sh                  full run: 3,000,000 stored dossiers (the
#                                 bulk load alone takes a long time)
#   bench/run.sh --dossiers 100000
#   bench/run.sh --smoke          a few seconds, tiny sizes (the ctest)
#   bench/run.sh --profile        also perf-profile onestopd under submit load
#
# The soak (issue #9; docs/RELIABILITY.md) is not part of a full run: it is
#   build-bench/bench/onestop_bench --phases=soak --soak_minutes=30
# --smoke runs it for 3 s with 1 s samples, checking only that it prints
# samples and a summary (its verdicts mean nothing over 3 s).
#
# The gRPC ceiling and onestopd's submit and lifecycle lines are measured in
# alternation, --rounds N rounds (default 3; 2 in --smoke), and the table
# gives the median of the rounds' ratios (onestop_bench's paired phase).
#
# Other flags: --seconds S (per measurement), --rounds N, --skip-build, --skip-peer,
# --skip-reports (leave out the completion-report benchmark, whose load of
# --dossiers one write at a time takes ~30 min at 3,000,000),
# --import-dossiers N (the import phase's dossiers, default 1,000,000),
# --build-dir DIR, --out FILE, --threads N (onestopd --threads),
# --scaling (only the lines docs/SCALING.md compares: the gRPC ceiling,
# SQLite onestopd submit + lifecycle, the peer, onestopd on PostgreSQL;
# no raw-SQLite ceiling, read phase, reports or soak).
# The PostgreSQL peer needs root (it installs the postgresql package if
# missing and runs a throwaway cluster on 127.0.0.1:55432, or reuses a
# server already there); onestopd on PostgreSQL (onestop_bench
# --phases=pg, one and two daemons on one database) then runs on that
# cluster with its durable settings. --skip-peer leaves both out; --smoke
# --skip-peer still runs a tiny pg phase on a throwaway fsync=off server
# of onestop_bench's own when PostgreSQL 15 is installed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-bench"
out="$root/bench/results/latest.json"
smoke=0
dossiers=3000000
import_dossiers=1000000
seconds=""
skip_build=0
skip_peer=0
profile=0
threads=32
rounds=""
scaling=0
skip_reports=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) smoke=1; shift ;;
    --dossiers) dossiers="$2"; shift 2 ;;
    --import-dossiers) import_dossiers="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --skip-peer) skip_peer=1; shift ;;
    --skip-reports) skip_reports=1; shift ;;
    --profile) profile=1; shift ;;
    --build-dir) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --scaling) scaling=1; shift ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ -n "$rounds" && ! "$rounds" =~ ^[1-9][0-9]*$ ]]; then
  echo "run.sh: --rounds needs a positive whole number, got \"$rounds\"" >&2; exit 2
fi
if [[ $smoke -eq 1 ]]; then
  dossiers=200
  import_dossiers=200
  seconds=${seconds:-0.3}
  rounds=${rounds:-2}
  warmup=0.1
  sqlite_seconds=0.3
  pg_seconds=2
else
  seconds=${seconds:-5}
  rounds=${rounds:-3}
  warmup=1
  sqlite_seconds=3
  pg_seconds=10
fi

if [[ $skip_build -eq 0 ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target onestop_bench_all sqlite_ceiling
fi

work=$(mktemp -d /tmp/onestop_run.XXXXXX)
cleanup() {
  # The peer's cluster, if pg_peer.sh started one for the pg phase.
  if [[ -s "$work/pg_cluster" ]]; then "$root/bench/pg_peer.sh" --stop "$(cat "$work/pg_cluster")"; fi
  rm -rf "$work"
}
trap cleanup EXIT
raw="$work/raw.jsonl"
: >"$raw"

if [[ $scaling -eq 0 ]]; then
  echo "== storage ceiling: raw SQLite" >&2
  "$build/bench/sqlite_ceiling" --dir="$work" --seconds="$sqlite_seconds" | tee -a "$raw" >&2
  phases=paired,read,import
else
  phases=paired
fi

echo "== gRPC ceiling (empty handlers) and onestopd on SQLite (phases $phases)" >&2
"$build/bench/onestop_bench" --phases="$phases" --workdir="$work" --seconds="$seconds" \
  --warmup_seconds="$warmup" --dossiers="$dossiers" --import_dossiers="$import_dossiers" \
  --threads="$threads" --rounds="$rounds" \
  --config="$root/deploy/daklak-2020.textproto" | tee -a "$raw" >&2

pg_bench=("$build/bench/onestop_bench" --phases=pg --workdir="$work" --seconds="$seconds"
  --warmup_seconds="$warmup" --threads="$threads" --config="$root/deploy/daklak-2020.textproto")
if [[ $skip_peer -eq 0 ]]; then
  echo "== peer: PostgreSQL + pgbench" >&2
  "$root/bench/pg_peer.sh" --seconds "$pg_seconds" --keep "$work/pg_cluster" | tee -a "$raw" >&2
  echo "== onestopd on PostgreSQL (the peer's server, fsync=on): 1 and 2 daemons" >&2
  "${pg_bench[@]}" --pg_uri=postgresql://postgres@127.0.0.1:55432/ | tee -a "$raw" >&2
elif [[ $smoke -eq 1 && -x /usr/lib/postgresql/15/bin/initdb ]]; then
  echo "== onestopd on PostgreSQL, smoke: throwaway fsync=off server, 1 and 2 daemons" >&2
  "${pg_bench[@]}" | tee -a "$raw" >&2
fi

if [[ $scaling -eq 0 ]]; then
if [[ $skip_reports -eq 0 ]]; then
  echo "== completion reports: counters vs recomputation ($dossiers dossiers; docs/REPORTS.md)" >&2
  if [[ $smoke -eq 1 ]]; then report_args=(--dossiers=2000 --queries=50 --recompute_queries=3)
  else report_args=(--dossiers="$dossiers" --queries=1000 --recompute_queries=10); fi
  "$build/bench/report_bench" --config="$root/deploy/daklak-2020.textproto" --db="$work/report.db" \
    "${report_args[@]}" >&2
fi

if [[ $smoke -eq 1 ]]; then
  echo "== soak, smoke: 3 s of mixed load, a sample every second (verdicts not judged)" >&2
  soak_rc=0
  "$build/bench/onestop_bench" --phases=soak --workdir="$work" --threads="$threads" \
    --config="$root/deploy/daklak-2020.textproto" --soak_seconds=3 --soak_sample_seconds=1 \
    --soak_warmup_seconds=1 >"$work/soak.jsonl" || soak_rc=$?
  cat "$work/soak.jsonl" >&2
  # 0 = verdicts hold, 3 = a verdict violated (meaningless over 3 s); 1 = it did not run.
  if [[ $soak_rc -ne 0 && $soak_rc -ne 3 ]]; then
    echo "run.sh: the soak failed to run (exit $soak_rc)" >&2; exit 1
  fi
  if [[ $(grep -c '"kind":"soak_sample"' "$work/soak.jsonl") -lt 2 ]] ||
     ! grep -q '"kind":"soak_summary"' "$work/soak.jsonl"; then
    echo "run.sh: the soak printed no samples or no summary" >&2; exit 1
  fi
fi
fi  # scaling

if [[ $profile -eq 1 ]]; then
  echo "== profile: perf record of onestopd under 64 submits in flight" >&2
  prof_dir="$root/bench/results"
  mkdir -p "$prof_dir"
  "$build/server/onestopd" --config="$root/deploy/daklak-2020.textproto" --db="$work/prof.db" \
    --listen=127.0.0.1:0 --insecure --bootstrap-token-file="$work/prof.token" \
    --threads="$threads" >"$work/prof.out" 2>"$work/prof.err" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/prof.out" && break; sleep 0.1; done
  addr=$(sed -n 's/^onestopd listening on //p' "$work/prof.out")
  perf record -F 499 -g -o "$work/perf.data" -p "$pid" -- sleep "$seconds" 2>/dev/null &
  perf_pid=$!
  "$build/bench/onestop_bench" --phases=submit --target="$addr" --in_flight=64 \
    --admin_token_file="$work/prof.token" \
    --seconds="$seconds" --warmup_seconds=0 >&2 || true
  wait "$perf_pid" || true
  kill -TERM "$pid"; wait "$pid" || true
  perf report -i "$work/perf.data" --no-children --sort=dso,symbol --stdio 2>/dev/null \
    | grep -v '^$' | head -80 >"$prof_dir/profile-self.txt" || true
  perf report -i "$work/perf.data" --children --sort=symbol --stdio -g none 2>/dev/null \
    | grep -v '^$' | head -80 >"$prof_dir/profile-children.txt" || true
  echo "profile: $prof_dir/profile-self.txt, $prof_dir/profile-children.txt" >&2
fi

mkdir -p "$(dirname "$out")"
note="client and server share this machine's CPUs; numbers are noisy if anything else runs"
[[ $smoke -eq 1 ]] && note="SMOKE RUN (tiny sizes, fractions of a second): the figures mean nothing; $note"
/usr/bin/python3 "$root/bench/report.py" "$raw" "$out" --note "$note"
if [[ $smoke -eq 1 ]]; then
  # The paired phase's rounds reached the report: every onestopd submit
  # level and the lifecycle carry one ceiling ratio per round, and every
  # paired line its server's CPU per operation.
  /usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, sys
report, rounds = json.load(open(sys.argv[1])), int(sys.argv[2])
lines = [r for r in report["raw"] if r.get("kind") == "load" and "rounds" in r]
onestopd = [r for r in lines if r["server"] == "onestopd"]
bad = [r for r in onestopd if len(r.get("vs_ceiling_rounds", [])) != rounds]
bad += [r for r in lines if not r.get("server_cpu_us_per_op", 0) > 0]
if len(onestopd) < 2 or bad:
    sys.exit(f"run.sh: the report lacks the paired rounds ({len(lines)} lines, {len(bad)} bad)")
PY
fi
