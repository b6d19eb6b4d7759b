#!/usr/bin/env bash
# The peer: PostgreSQL 15 running the same logical transaction as the
# storage ceiling (bench/sqlite_ceiling.cc) — insert a dossier row with the
# daemon's filter indexes and its first history row, then update the dossier
# with a version check — driven by pgbench at 8 clients over loopback TCP,
# synchronous_commit=on (every commit is fsynced before it is acknowledged).
#
# A throwaway cluster in a temporary directory on a private port; no system
# service is touched. Needs root (the server runs as the postgres user).
# Installs the `postgresql` package if missing.
#
# Usage: bench/pg_peer.sh [--seconds N] [--clients N] [--port P] [--keep FILE]
#        bench/pg_peer.sh --stop DIR
# Prints one JSON object on stdout.
#
# pgbench runs in a fresh database of its own. If a server already answers
# on 127.0.0.1:PORT it is reused (and left running); otherwise a cluster is
# started and, unless --keep, stopped at the end. --keep FILE leaves the
# cluster it started running for onestop_bench's pg phase
# (postgresql://postgres@127.0.0.1:PORT/) and writes its directory into
# FILE; `--stop DIR` stops it and removes DIR (bench/run.sh does both).
set -euo pipefail

seconds=10
clients=8
port=55432
keep=""
stop_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --stop) stop_dir="$2"; shift 2 ;;
    *) echo "pg_peer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

bin=/usr/lib/postgresql/15/bin
if [[ -n "$stop_dir" ]]; then
  if [[ -d "$stop_dir/data" ]]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$stop_dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$stop_dir"
  fi
  exit 0
fi
if [[ ! -x "$bin/initdb" ]] || ! command -v pgbench >/dev/null; then
  echo "pg_peer.sh: installing postgresql" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "pg_peer.sh: run as root (the cluster runs as the postgres user)" >&2
  exit 2
fi

dir=$(mktemp -d /tmp/onestop_pg_peer.XXXXXX)
chown postgres: "$dir"
started=0
db="onestop_peer_$$"
stop() {
  psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  if [[ $started -eq 1 && -z "$keep" ]]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  fi
  [[ $started -eq 1 && -n "$keep" ]] || rm -rf "$dir"
}
trap stop EXIT

if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  echo "pg_peer.sh: reusing the server on 127.0.0.1:$port" >&2
else
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" --auth=trust -U postgres >/dev/null
  # Defaults otherwise: fsync=on, synchronous_commit=on, full_page_writes=on,
  # wal_sync_method=fdatasync — the same "acknowledged means on disk" promise
  # as SQLite's synchronous=FULL. max_connections leaves room for two
  # onestopd pools in the pg phase.
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c synchronous_commit=on -c fsync=on -c max_connections=200" \
    start >/dev/null
  started=1
  [[ -n "$keep" ]] && echo "$dir" >"$keep"
fi

psql=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
durable=$("${psql[@]}" -d postgres -At -c \
  "SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')")
if [[ "$durable" != "on/on" ]]; then
  echo "pg_peer.sh: WARNING: the server runs with fsync/synchronous_commit = $durable" >&2
fi
"${psql[@]}" -d postgres -c "CREATE DATABASE $db"
"${psql[@]}" -d "$db" <<'SQL'
CREATE TABLE dossiers (
  position          BIGSERIAL PRIMARY KEY,
  code              TEXT    NOT NULL UNIQUE,
  etag              BIGINT  NOT NULL,
  receiving_agency  TEXT,
  holder_agency     TEXT,
  procedure_code    TEXT,
  status            INTEGER NOT NULL,
  due_time_us       BIGINT,
  submitted_time_us BIGINT,
  body              BYTEA   NOT NULL
);
CREATE INDEX dossiers_by_receiving_agency ON dossiers (receiving_agency, position);
CREATE INDEX dossiers_by_holder_agency ON dossiers (holder_agency, position);
CREATE INDEX dossiers_by_status ON dossiers (status, position);
CREATE INDEX dossiers_by_procedure ON dossiers (procedure_code, position);
CREATE INDEX dossiers_by_due_time ON dossiers (due_time_us);
CREATE TABLE history (
  dossier_position BIGINT  NOT NULL REFERENCES dossiers (position),
  sequence         INTEGER NOT NULL,
  body             BYTEA   NOT NULL,
  PRIMARY KEY (dossier_position, sequence)
);
CREATE SEQUENCE code_seq;
SQL

# Bodies of the same sizes as sqlite_ceiling's (400 and 120 bytes).
cat > "$dir/transition.sql" <<'SQL'
BEGIN;
INSERT INTO dossiers (code, etag, receiving_agency, holder_agency, procedure_code, status,
                      due_time_us, submitted_time_us, body)
  VALUES ('000.01.31.H15-200106-' || nextval('code_seq'), 1, '000.01.31.H15', '000.01.31.H15',
          '1.001193', 1, 0, 0, convert_to(repeat('d', 400), 'UTF8'))
  RETURNING position \gset
INSERT INTO history (dossier_position, sequence, body)
  VALUES (:position, 1, convert_to(repeat('h', 120), 'UTF8'));
UPDATE dossiers SET etag = etag + 1, status = 2, body = convert_to(repeat('d', 400), 'UTF8')
  WHERE position = :position AND etag = 1;
COMMIT;
SQL
chmod a+r "$dir/transition.sql"

out=$(pgbench -n -h 127.0.0.1 -p "$port" -U postgres -c "$clients" -j 2 -T "$seconds" \
  -f "$dir/transition.sql" "$db" 2>&1)
tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' <<<"$out")
latency=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
if [[ -z "$tps" ]]; then
  echo "pg_peer.sh: pgbench failed:" >&2
  echo "$out" >&2
  exit 1
fi
version=$("$bin/postgres" --version | awk '{print $3}')
printf '{"kind":"pg_peer","clients":%d,"seconds":%d,"tps":%s,"latency_avg_ms":%s,"failed":%s,"version":"%s"}\n' \
  "$clients" "$seconds" "$tps" "${latency:-0}" "${failed:-0}" "$version"
