#!/usr/bin/env bash
# Interleaved pairs of two onestopd binaries: how a change is judged on a
# VM whose speed swings ±30 % within minutes (docs/PERFORMANCE.md). Each
# round starts A, then B, each on a fresh database in a temporary
# directory, drives it with onestop_bench --target for --seconds (after a
# 1 s warm-up run of its own, so the server's CPU and the operations cover
# the same span) and reads, from /proc, what the server spent:
#
#   rate, p99                  onestop_bench's figures
#   cpu_us_per_op              onestopd's CPU (all threads) per operation
#   writer_us_per_op           its SQLite writer thread's share
#   cs_per_op                  context switches (all threads) per operation
#   writer_syscw_per_op        write-like system calls of the writer per op
#   writer_runq_us_per_op      time the writer spent runnable but waiting
#                              for a CPU, per op (/proc schedstat)
#   writes_per_batch           the writer's mean group commit: writes it
#                              carried (an audit record is a write of its
#                              own) per transaction, from /metrics
#   client_cpu_us_per_op       the load generator's CPU per operation (its
#                              whole process, start-up included)
#
# and after each round B's rate and CPU as ratios of A's.
#
#   bench/pairs.sh [--workload submit|lifecycle] [--rounds N] [--seconds S]
#                  [--in-flight K] [--threads T] [--bench PATH] A_ONESTOPD B_ONESTOPD
#
# Defaults: submit, 3 rounds, 4 s, 64 in flight, --threads=32, the
# onestop_bench of build-bench/. Loopback only; nothing is kept.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workload=submit
rounds=3
seconds=4
in_flight=64
threads=32
bench="$root/build-bench/bench/onestop_bench"
usage() { echo "usage: bench/pairs.sh [--workload submit|lifecycle] [--rounds N] [--seconds S] [--in-flight K] [--threads T] [--bench PATH] A_ONESTOPD B_ONESTOPD" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --workload) workload="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --in-flight) in_flight="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --bench) bench="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "bench/pairs.sh: unknown flag $1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || usage
binaries=("$1" "$2")
[[ "$workload" == submit || "$workload" == lifecycle ]] ||
  { echo "bench/pairs.sh: --workload is submit or lifecycle, not \"$workload\"" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] ||
  { echo "bench/pairs.sh: --rounds needs a positive whole number" >&2; exit 2; }
for b in "${binaries[@]}" "$bench"; do
  [[ -x "$b" ]] || { echo "bench/pairs.sh: $b is not an executable" >&2; exit 2; }
done

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
ticks_per_second=$(getconf CLK_TCK)

# Sums over the server's threads; `writer` limits them to onestop-writer.
cpu_ticks() {  # [writer]
  local total=0 t
  for t in /proc/"$server_pid"/task/*; do
    if [[ "${1:-}" == writer ]] && ! grep -q '^onestop-writer' "$t/comm" 2>/dev/null; then continue; fi
    local stat; stat=$(cat "$t/stat" 2>/dev/null) || continue
    stat=${stat##*) }  # past the command name, which may hold spaces
    local fields=($stat)
    total=$((total + fields[11] + fields[12]))  # utime, stime (fields 14, 15)
  done
  echo "$total"
}
# (A thread may end between the listing and the read: its figures are
# then left out, not an error.)
context_switches() {
  { cat /proc/"$server_pid"/task/*/status 2>/dev/null || true; } |
    awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'
}
# Sums, over the writer's threads, what awk program PROG prints from the
# thread's /proc file FILE.
writer_sum() {  # FILE PROG
  local t
  for t in /proc/"$server_pid"/task/*; do
    if grep -q '^onestop-writer' "$t/comm" 2>/dev/null; then
      awk "$2" "$t/$1" 2>/dev/null || true
    fi
  done | awk '{ s += $1 } END { print s + 0 }'
}
writer_syscw() { writer_sum io '/^syscw/ { print $2 }'; }
writer_runq_ns() { writer_sum schedstat '{ print $2 }'; }  # run-queue wait, ns
# The admin listener's counter NAME (0 if unreadable): plain HTTP/1.0 over
# bash's /dev/tcp, so the script needs no HTTP client. Values may come in
# exponent form (1.2e+06): subtract them in awk, not in bash.
metric() {  # NAME
  local reply
  reply=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' _ "$admin_port" \
    2>/dev/null) || true
  awk -v name="$1" '$1 == name { print $2; found = 1 } END { if (!found) print 0 }' <<<"$reply"
}
json_field() {  # FILE NAME: the last load line's numeric field
  grep '^{' "$1" | tail -1 | sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p"
}

# Runs one measurement of binary $1 (label $2) and prints its line; sets
# last_rate and last_cpu for the round's ratio.
measure() {
  local binary="$1" label="$2" dir="$work/$2.$round"
  mkdir -p "$dir"
  "$binary" --config="$root/deploy/daklak-2020.textproto" --db="$dir/db" \
    --listen=127.0.0.1:0 --insecure --bootstrap-token-file="$dir/token" \
    --threads="$threads" >"$dir/log" 2>&1 &
  server_pid=$!
  local port="" i
  for i in $(seq 200); do
    port=$(grep -o 'listening on [^ ]*' "$dir/log" 2>/dev/null | head -1 | sed 's/.*://') || true
    [[ -n "$port" ]] && break
    sleep 0.05
  done
  [[ -n "$port" ]] || { echo "bench/pairs.sh: $binary did not start:" >&2; cat "$dir/log" >&2; exit 1; }
  admin_port=$(grep -o 'admin listening on [^ ]*' "$dir/log" | head -1 | sed 's/.*://') || true
  local drive=("$bench" --phases=submit --target="127.0.0.1:$port" --target_workloads="$workload"
               --admin_token_file="$dir/token" --in_flight="$in_flight" --rounds=1)
  "${drive[@]}" --seconds=1 --warmup_seconds=0.3 >/dev/null 2>"$dir/err" ||
    { echo "bench/pairs.sh: the warm-up run failed:" >&2; cat "$dir/err" >&2; exit 1; }
  local t0 w0 c0 s0 t1 w1 c1 s1 client
  t0=$(cpu_ticks); w0=$(cpu_ticks writer); c0=$(context_switches); s0=$(writer_syscw)
  q0=$(writer_runq_ns); b0=$(metric onestop_storage_commit_batches_total)
  n0=$(metric onestop_storage_commit_writes_total)
  client=$( { TIMEFORMAT='%U %S'; time "${drive[@]}" --seconds="$seconds" --warmup_seconds=0 \
               >"$dir/out" 2>"$dir/err"; } 2>&1 ) || { echo "bench/pairs.sh: the load generator failed:" >&2; cat "$dir/err" >&2; exit 1; }
  t1=$(cpu_ticks); w1=$(cpu_ticks writer); c1=$(context_switches); s1=$(writer_syscw)
  q1=$(writer_runq_ns); b1=$(metric onestop_storage_commit_batches_total)
  n1=$(metric onestop_storage_commit_writes_total)
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  local ops rate p99
  ops=$(json_field "$dir/out" operations); rate=$(json_field "$dir/out" ops_per_second)
  p99=$(json_field "$dir/out" p99_us)
  [[ -n "$ops" && "$ops" != 0 ]] || { echo "bench/pairs.sh: no operations measured:" >&2; cat "$dir/err" >&2; exit 1; }
  awk -v label="$label" -v round="$round" -v ops="$ops" -v rate="$rate" -v p99="$p99" \
      -v t="$((t1 - t0))" -v w="$((w1 - w0))" -v c="$((c1 - c0))" -v s="$((s1 - s0))" \
      -v q="$((q1 - q0))" -v b0="$b0" -v b1="$b1" -v n0="$n0" -v n1="$n1" \
      -v hz="$ticks_per_second" -v client="$client" -v workload="$workload" 'BEGIN {
    split(client, cpu, " ")
    printf "round %d %s %s: rate=%.0f/s p99=%.1fms cpu_us_per_op=%.1f writer_us_per_op=%.1f cs_per_op=%.2f writer_syscw_per_op=%.2f writer_runq_us_per_op=%.1f writes_per_batch=%.1f client_cpu_us_per_op=%.1f\n",
      round, label, workload, rate, p99 / 1000, t * 1e6 / hz / ops, w * 1e6 / hz / ops, c / ops, s / ops,
      q / 1000 / ops, (b1 + 0 > b0 + 0 ? (n1 - n0) / (b1 - b0) : 0), (cpu[1] + cpu[2]) * 1e6 / ops }'
  last_rate=$rate
  last_cpu=$(awk -v t="$((t1 - t0))" -v hz="$ticks_per_second" -v ops="$ops" 'BEGIN { print t * 1e6 / hz / ops }')
}

echo "A = ${binaries[0]}"
echo "B = ${binaries[1]}"
for round in $(seq "$rounds"); do
  measure "${binaries[0]}" A; rate_a=$last_rate; cpu_a=$last_cpu
  measure "${binaries[1]}" B; rate_b=$last_rate; cpu_b=$last_cpu
  awk -v round="$round" -v ra="$rate_a" -v rb="$rate_b" -v ca="$cpu_a" -v cb="$cpu_b" 'BEGIN {
    printf "round %d B/A: rate %.3f, cpu per op %.3f\n", round, rb / ra, (ca > 0 ? cb / ca : 0) }'
done
