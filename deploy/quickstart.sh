#!/usr/bin/env bash
# Installs what is missing, builds, and starts onestopd on an embedded
# SQLite file with the sample Đắk Lắk (2020) configuration, on loopback.
# The sample's units are those of 2020 (huyện Lắk ceased on 1/7/2025), so
# the daemon runs with a controlled clock starting Monday 5 October 2020:
# a training/demo setup, announced as such in every response and log line.
# Plain-text gRPC (--insecure, loopback only). The daemon writes its first
# admin token to $state_dir/admin.token (mode 0600); the script then makes a
# desk token (clerk + officer + supervisor at the sample's province) in
# $state_dir/desk.token for trying the commands.
#   ./deploy/quickstart.sh          # start (in the background)
#   ./deploy/quickstart.sh stop     # stop it
set -euo pipefail
cd "$(dirname "$0")/.."
state_dir="${ONESTOP_STATE_DIR:-$PWD/var}"
listen="${ONESTOP_LISTEN:-127.0.0.1:7600}"
pid_file="$state_dir/onestopd.pid"

if [ "${1:-}" = "stop" ]; then
  if [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null; then
    echo "onestopd stopped."
  else
    echo "onestopd is not running."
  fi
  rm -f "$pid_file"
  exit 0
fi

source deploy/deps.sh
onestop_install_deps
onestop_build build -DBUILD_TESTING=OFF

mkdir -p "$state_dir"
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "onestopd is already running (pid $(cat "$pid_file")); './deploy/quickstart.sh stop' stops it."
  exit 0
fi
build/server/onestopd --config=deploy/daklak-2020.textproto \
  --db="$state_dir/onestop.db" --listen="$listen" \
  --clock=controlled --clock-start="${ONESTOP_CLOCK_START:-2020-10-05T08:00:00+07:00}" \
  --insecure --bootstrap-token-file="$state_dir/admin.token" \
  >"$state_dir/onestopd.out" 2>"$state_dir/onestopd.log" &
echo $! > "$pid_file"
for _ in $(seq 50); do
  if grep -q "listening on" "$state_dir/onestopd.out" 2>/dev/null; then break; fi
  if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "onestopd failed to start:"; cat "$state_dir/onestopd.log"; rm -f "$pid_file"; exit 1
  fi
  sleep 0.1
done
cat "$state_dir/onestopd.out"
ctl=(build/client/onestopctl --server="$listen")
if [ ! -s "$state_dir/desk.token" ]; then
  # Every root agency of the sample (the 2020 province and the post-2025 units).
  grants=()
  while read -r root; do
    grants+=(--grant "clerk:$root" --grant "officer:$root" --grant "supervisor:$root"
             --grant "service:$root")
  done < <("${ctl[@]}" --token-file="$state_dir/admin.token" --output=json agencies |
           python3 -c 'import json,sys
for line in sys.stdin:
    a = json.loads(line)
    if not a.get("parentCode"): print(a["code"])')
  (umask 077 && "${ctl[@]}" --token-file="$state_dir/admin.token" --output=json \
     admin token create --principal desk.demo --label "quickstart desk" "${grants[@]}" |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])' > "$state_dir/desk.token")
fi
cat <<MSG

onestopd is running (pid $(cat "$pid_file")); database $state_dir/onestop.db, log $state_dir/onestopd.log.
Tokens (keep them private): $state_dir/admin.token (admin: tokens, audit, clock, reload, backup),
$state_dir/desk.token (principal desk.demo: clerk, officer, supervisor and service everywhere).
Try it:
  export ONESTOP_TOKEN=\$(cat $state_dir/desk.token)
  build/client/onestopctl --server=$listen agencies
  build/client/onestopctl --server=$listen procedures
  build/client/onestopctl --server=$listen submit --agency 000.01.31.H15 --procedure 1.001193 --name "Nguyễn Thị Hằng" --phone 0912345678
  build/client/onestopctl --server=$listen hand-over 000.01.31.H15-201005-0001
  build/client/onestopctl --server=$listen show 000.01.31.H15-201005-0001
  build/client/onestopctl --server=$listen list
  build/client/onestopctl --server=$listen --token-file=$state_dir/admin.token admin clock advance 3d
  build/client/onestopctl --server=$listen list --overdue
  build/client/onestopctl --server=$listen lookup 000.01.31.H15-201005-0001 5678   # no token needed
  build/client/onestopctl --server=$listen --token-file=$state_dir/admin.token admin audit
The clock is controlled (a demo of the 2020 sample): 'admin clock show|set|advance|reset' steer it.
Stop it with: ./deploy/quickstart.sh stop
MSG
