#!/usr/bin/env bash
# Checks that #includes follow the layer arrows in docs/ARCHITECTURE.md:
#   client/       nothing from storage/ or server/ (except server/util/)
#   server/core/  no grpcpp, no sqlite3.h, no *.grpc.pb.h, nothing from
#                 storage/ or server/service/
#   storage/      nothing from server/ (except server/util/), no grpcpp
#   server/util/  nothing from the other project layers
set -u
root="${1:-$(dirname "$0")/..}"
cd "$root" || exit 2
fail=0

check() {  # check DIR REGEX WHY
  local hits
  hits=$(grep -rnE "^#include [<\"]($2)" "$1" --include='*.h' --include='*.cc' 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "layering violation in $1 ($3):"
    echo "$hits"
    fail=1
  fi
}

check client "storage/|server/(core|service|config)/" "the CLI talks to the daemon only through the API"
# client may reach tools/ only through the migration's plain header (admin
# migrate; the header includes nothing from storage/).
tool_hits=$(grep -rnE '^#include [<"]tools/' client --include='*.h' --include='*.cc' 2>/dev/null |
  grep -v '"tools/migrate/sqlite_to_postgres.h"')
if [ -n "$tool_hits" ]; then
  echo "layering violation in client (only tools/migrate/sqlite_to_postgres.h):"
  echo "$tool_hits"
  fail=1
fi
check tools/migrate/sqlite_to_postgres.h "storage/|server/" "the migration header the CLI includes stays plain"
check server/core "grpcpp|grpc/|sqlite3\\.h|.*\\.grpc\\.pb\\.h|storage/|server/(service|config)/" "the domain core is pure"
check storage "server/(core|service|config)/|grpcpp|grpc/" "storage needs nothing from the server"
check server/util "server/(core|service|config)/|storage/|onestop/" "util is the bottom layer"
check server/config "server/service/|storage/|grpcpp" "config loading sits beside the core"

if [ "$fail" -eq 0 ]; then echo "layering ok"; fi
exit "$fail"
