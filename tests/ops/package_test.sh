#!/usr/bin/env bash
# Checks packaging from a configured, built tree:
#   1. `cmake --install` lays out the binaries, sample configuration,
#      defaults file, sysusers entry and systemd unit;
#   2. `cpack -G DEB` builds onestop_*.deb whose contents, control fields
#      and maintainer scripts are right, and whose unit's ExecStart names
#      the onestopd the package ships.
# Usage: package_test.sh BUILD_DIR
set -euo pipefail
build="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if ! "$@" >/dev/null 2>&1; then echo "FAIL: $what"; fail=1; fi
}

# 1. cmake --install
cmake --install "$build" --prefix "$tmp/root" >/dev/null
for f in bin/onestopd bin/onestopctl share/onestop/daklak-2020.textproto \
         share/onestop/onestopd.default lib/systemd/system/onestopd.service \
         lib/sysusers.d/onestop.conf share/doc/onestop/OPERATIONS.md; do
  check "install: $f" test -f "$tmp/root/$f"
done
check "install: onestopd is executable" test -x "$tmp/root/bin/onestopd"
check "install: onestopd --version runs" "$tmp/root/bin/onestopd" --version
check "install: the unit's ExecStart is an installed onestopd" \
  grep -qE '^ExecStart=/[^ ]*/bin/onestopd ' "$tmp/root/lib/systemd/system/onestopd.service"

# 2. cpack
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1 || {
  cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/pkg/onestop_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then echo "FAIL: no onestop_*.deb in $tmp/pkg"; ls -R "$tmp/pkg"; exit 1; fi
dpkg-deb -c "$deb" | awk '{print $6}' > "$tmp/contents"
for pattern in '/bin/onestopd$' '/bin/onestopctl$' '/lib/systemd/system/onestopd\.service$' \
               '/share/onestop/daklak-2020\.textproto$' '/share/onestop/onestopd\.default$' \
               '/lib/sysusers\.d/onestop\.conf$'; do
  check "deb contains $pattern" grep -qE "$pattern" "$tmp/contents"
done
check "deb: Package is onestop" test "$(dpkg-deb -f "$deb" Package)" = onestop
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libgrpc++1.51 libprotobuf32 libsqlite3-0 libabsl20220623 libcpp-httplib0.11; do
  check "deb depends on $lib" grep -q "$lib" <<<"$depends"
done
# The package that installed library PATH (dpkg knows each file by one of its
# names: the link, its target, or either without /usr on a merged-/usr system).
package_owning() {
  local real; real=$(readlink -f "$1")
  for candidate in "$1" "$real" "${1#/usr}" "${real#/usr}" "/usr$1" "/usr$real"; do
    if dpkg -S "$candidate" >/dev/null 2>&1; then
      dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1; return
    fi
  done
}
depend_names=$(tr ',' '\n' <<<"$depends" | awk '{print $1}')
# Every Debian package named in Depends exists on this system (dpkg -s).
for pkg in $depend_names; do
  check "Depends names a real package: $pkg" dpkg -s "$pkg"
done
# Every library the shipped binaries load directly (ELF NEEDED) comes from a
# package named in Depends: a missing one installs cleanly and then fails to
# start (libpq5 and libxlsxwriter4 once were).
dpkg-deb -x "$deb" "$tmp/x"
for bin in onestopd onestopctl; do
  exe=$(find "$tmp/x" -path "*/bin/$bin" | head -1)
  if [ -z "$exe" ]; then echo "FAIL: the deb has no $bin"; fail=1; continue; fi
  sonames=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  check "$bin has ELF NEEDED entries (libc among them)" grep -qx 'libc\.so\.6' <<<"$sonames"
  for soname in $sonames; do
    # A sanitizer build (ONESTOP_SANITIZE) is tested, never shipped.
    case "$soname" in libasan.so.*|libubsan.so.*|libtsan.so.*) continue ;; esac
    path=$(ldd "$exe" | awk -v s="$soname" '$1 == s {print $3}')
    pkg=$(package_owning "$path")
    if [ -z "$pkg" ]; then echo "FAIL: $bin loads $soname ($path), which no package owns"; fail=1; continue; fi
    check "Depends names $pkg ($bin loads $soname)" grep -qxF "$pkg" <<<"$depend_names"
  done
done
# The allocator the package promises is the one onestopd loads.
if grep -qxF libtcmalloc-minimal4 <<<"$depend_names"; then
  check "onestopd loads tcmalloc (Depends names it)" \
    grep -q 'NEEDED.*libtcmalloc_minimal' <(readelf -d "$(find "$tmp/x" -path '*/bin/onestopd' | head -1)")
fi
dpkg-deb -e "$deb" "$tmp/control"
check "deb has a postinst" test -x "$tmp/control/postinst"
check "postinst creates the onestop user" grep -q "adduser --system" "$tmp/control/postinst"
# Every packaged path the postinst names is in the package.
for path in $(grep -oE '/[a-z/._-]*(sysusers\.d|share/onestop)/[a-z0-9._-]+' "$tmp/control/postinst" | sort -u); do
  check "postinst names $path, which the deb ships" grep -qxF ".$path" "$tmp/contents"
done
unit=$(find "$tmp/x" -name onestopd.service | head -1)
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
check "the deb's unit starts $exec_path, which the deb ships" test -x "$tmp/x$exec_path"

[ "$fail" -eq 0 ] && echo "package ok: $(basename "$deb")"
exit "$fail"
