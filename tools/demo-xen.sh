#!/bin/sh
# demo-xen.sh - the default scenario (`make run`): boot the Xen guest set
# under QEMU, run unmodified Debian programs in dom0 whose /storage files live
# in the storage domain (grant tables + event channels, no network file
# system) and whose AF_INET sockets live in the network domain (one fetch
# from 127.0.0.1, which is that domain's loopback), print the channel
# counters, shut everything down.
#
# Usage: tools/demo-xen.sh [--help]
# Environment: BUILD (default build), VOS_PORT (host port forwarded to the
# network domain, default 18080; pick another if a guest set from another
# tree already uses it).  The storage domain's disk is build/xen/storage-disk.img
# (kept between runs); after the shutdown the host reads the files dom0 wrote
# straight from that disk image.
set -eu
case "${1:-}" in
-h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
'') ;;
*) echo "demo-xen: unexpected argument '$1' (try --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VOSCTL=$BUILD/bin/vosctl
PORT=${VOS_PORT:-18080}
DISK=build/xen/storage-disk.img
if [ ! -x "$VOSCTL" ]; then
	echo "demo-xen: $VOSCTL is not built (run make first)" >&2
	exit 1
fi

# Runs in dom0 under libvirtuos (vosctl up --exec): this shell itself never
# touches /storage; each program it starts does, and with VOS_STATS=1 prints
# its channel counters to stderr when it exits.
SCENARIO='
set -e
step() { echo; echo "== $*"; }
export VOS_STATS=1
step "sqlite3 (unmodified, in dom0) creates a table of 1000 rows in /storage/demo.db"
rm -f /storage/demo.db
sqlite3 /storage/demo.db "CREATE TABLE squares(n INTEGER PRIMARY KEY, sq INTEGER);
  WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000)
  INSERT INTO squares SELECT n, n * n FROM c;
  SELECT '\''rows: '\'' || count(*) || '\'', sum of squares: '\'' || sum(sq) FROM squares;
  SELECT '\''integrity: '\'' || integrity_check FROM pragma_integrity_check;"
step "cp: a dom0 file (libvirtuos.so itself) to /storage, then sha256sum of both"
cp /opt/virtuos/lib/libvirtuos.so /storage/libvirtuos.so.copy
sha256sum /opt/virtuos/lib/libvirtuos.so /storage/libvirtuos.so.copy
step "ls -l /storage (the storage domain'\''s ext4 disk, seen from dom0)"
ls -l /storage
step "a socket: netfile fetches http://127.0.0.1:80/ - 127.0.0.1 is the network domain'\''s loopback (its sockets live there), its test page"
/opt/virtuos/tests/system/netfile get 127.0.0.1 80 /index.html
unset VOS_STATS
'

echo "demo-xen: boots Xen + dom0 + the storage and network domains under QEMU (TCG),"
echo "runs the scenario in dom0 under libvirtuos and shuts down: 1-3 minutes."
echo "Counter lines (libvirtuos: PROGRAM[PID]: ...): requests/completions = forwarded calls;"
echo "*_notifies = event-channel kicks; *_sleeps = times a side went to sleep waiting."
echo
set +e
"$VOSCTL" up --port "$PORT" --exec "$SCENARIO"
rc=$?
set -e
if [ "$rc" != 0 ]; then
	echo "demo-xen: the scenario failed (exit $rc); vosctl logs shows the consoles" >&2
	exit "$rc"
fi

echo
echo "== The same bytes, read by the host from the storage domain's disk image"
if command -v debugfs >/dev/null; then
	debugfs -R 'ls -l /' "$DISK" 2>/dev/null | grep -E 'demo.db|libvirtuos.so.copy' || true
	debugfs -R 'cat /libvirtuos.so.copy' "$DISK" 2>/dev/null | sha256sum | sed 's/-$/(host: libvirtuos.so.copy)/'
else
	echo "(debugfs missing: install e2fsprogs)"
fi
