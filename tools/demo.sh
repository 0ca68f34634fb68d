#!/bin/sh
# A short local-mode demonstration (`make run-local`): unmodified Debian programs
# whose files live behind the storage service.  vosctl starts vos-serviced on
# a scratch export directory, runs the program with libvirtuos.so preloaded
# (its /storage paths are forwarded through the shared-memory channel), and
# --stats makes each program print its channel counters when it exits.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
VOSCTL=$BUILD/bin/vosctl
if [ ! -x "$VOSCTL" ]; then
	echo "demo: $VOSCTL is not built (run make first)" >&2
	exit 1
fi

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/vos-demo.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT
chmod 755 "$ROOT"

step() {
	echo
	echo "== $*"
}

echo "The storage service exports $ROOT; the programs see it as /storage."
echo "Counter lines: requests/completions = forwarded calls; *_notifies = wake-ups"
echo "sent (eventfd writes); *_sleeps = times a side went to sleep waiting."

step "sqlite3: a table of 10000 rows in /storage/demo.db"
"$VOSCTL" local run --stats --storage-root "$ROOT" -- sqlite3 /storage/demo.db \
	"CREATE TABLE squares(n INTEGER PRIMARY KEY, sq INTEGER);
	 WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 10000)
	 INSERT INTO squares SELECT n, n * n FROM c;
	 SELECT 'rows: ' || count(*) || ', sum of squares: ' || sum(sq) FROM squares;
	 SELECT 'integrity: ' || integrity_check FROM pragma_integrity_check;"

step "tar: pack /usr/share/doc/sqlite3 into /storage/docs.tgz (tar and its gzip)"
"$VOSCTL" local run --stats --storage-root "$ROOT" -- \
	tar czf /storage/docs.tgz -C /usr/share/doc sqlite3

step "tar: unpack it under /storage/unpacked and list /storage"
"$VOSCTL" local run --storage-root "$ROOT" -- sh -c \
	'mkdir /storage/unpacked && tar xzf /storage/docs.tgz -C /storage/unpacked &&
	 ls -l --time-style=+%H:%M /storage && find /storage/unpacked -type f | sort'

step "The same bytes, read directly from the export directory on the host"
ls -l --time-style=+%H:%M "$ROOT"
sqlite3 "$ROOT/demo.db" "SELECT 'host sees rows: ' || count(*) FROM squares;"
tar tzf "$ROOT/docs.tgz" | sort | head -n 5
