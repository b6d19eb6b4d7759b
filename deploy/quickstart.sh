#!/usr/bin/env bash
# Installs what is missing, builds, and starts onestopd on an embedded
# SQLite file with the sample Đắk Lắk (2020) configuration, on loopback.
# The sample's units are those of 2020 (huyện Lắk ceased on 1/7/2025), so
# the daemon runs with a controlled clock starting Monday 5 October 2020:
# a training/demo setup, announced as such in every response and log line.
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
cat <<MSG

onestopd is running (pid $(cat "$pid_file")); database $state_dir/onestop.db, log $state_dir/onestopd.log.
Try it:
  build/client/onestopctl --server=$listen agencies
  build/client/onestopctl --server=$listen procedures
  build/client/onestopctl --server=$listen submit --agency 000.01.31.H15 --procedure 1.001193 --name "Nguyễn Thị Hằng"
  build/client/onestopctl --server=$listen hand-over 000.01.31.H15-201005-0001
  build/client/onestopctl --server=$listen show 000.01.31.H15-201005-0001
  build/client/onestopctl --server=$listen list
  build/client/onestopctl --server=$listen admin clock advance 3d
  build/client/onestopctl --server=$listen list --overdue
The clock is controlled (a demo of the 2020 sample): 'admin clock show|set|advance|reset' steer it.
Stop it with: ./deploy/quickstart.sh stop
MSG
