#!/bin/bash
# System test: boot the Xen guest set under QEMU and check each domain does its job.
#
#   dom0      runs the toolstack (xl list shows storage and network running) and
#             unmodified programs (sqlite3, tar+gzip, coreutils)
#   storage   owns the virtio disk: its init writes /hello-from-storage and
#             appends to /boots on the ext4 file system; after shutdown the
#             host reads both from the disk image with debugfs
#   network   owns the virtio NIC: the host fetches its web page through
#             QEMU's port forward; it runs vos-serviced --role network over
#             the Xen transport, so dom0 programs' AF_INET sockets live in
#             its stack: a dom0 server's listener is listed there (not in
#             dom0), the host fetches a /storage file from it through the
#             port forward, a dom0 client fetches from a server on the
#             host's loopback through QEMU's gateway (bodies checksummed),
#             and the net_* programs run forwarded as the others
#   platform  vector registers survive context switches in dom0 (vecregs)
#   xen       dom0 programs under libvirtuos (vos-run) work on /storage, which
#             the storage domain serves over the Xen transport: coreutils,
#             tar+gzip, sqlite3 and every C program of tests/programs give
#             the same output as on a native dom0 directory, and the bytes
#             are on its disk; svcdeath sees the domain destroyed and
#             re-created under it (EIO, then new calls work)
#   faults    vosctl kill storage / restart storage: the domain comes back and
#             its data is still there; a dom0 program whose storage domain
#             dies gets EIO (no hang) and works again after the restart
#
# Environment: BUILD (default build) - where vosctl is built (SAN as for make);
#              VOS_TEST_PORT (default 18089) - host port for the web page;
#              VOS_TEST_APP_PORT (default 18090) - host port forwarded to the
#              network domain's :8080 (a dom0 server's listener);
#              VOS_TEST_OUTSIDE_PORT (default 18091) - a server on the host's
#              loopback that dom0 programs reach through the network domain;
#              VOS_TEST_BOOT_TIMEOUT (default 600) - seconds allowed for the boot.
# Bounded: every step has a timeout, and the guest set is always stopped.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
BUILD=${BUILD:-build}
PORT=${VOS_TEST_PORT:-18089}
APP_PORT=${VOS_TEST_APP_PORT:-18090}
OUTSIDE_PORT=${VOS_TEST_OUTSIDE_PORT:-18091}
BOOT_TIMEOUT=${VOS_TEST_BOOT_TIMEOUT:-600}
VOSCTL=$ROOT/$BUILD/bin/vosctl
DISK=$ROOT/build/xen/system-test-disk.img
OUT=$ROOT/build/xen/system-test
pass=0
fail=0

# Every command in dom0 is bounded too.
vx() { "$VOSCTL" exec --timeout 300 "$@"; }
# vr 'COMMAND': COMMAND in dom0 under libvirtuos (vos-run), /storage in the storage domain.
q() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }
vr() { vx "timeout 200 vos-run $(q "$1")"; }
ok() { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
	echo "system test: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit $?
}

tools/install-deps.sh || { echo "system test: cannot install the Debian packages it needs"; exit 1; }

# vosctl is required; the service daemon and libvirtuos go into the images if
# they build (they are other parts of the tree and may be in progress).
make -s BUILD="$BUILD" SAN="${SAN:-}" "$BUILD/bin/vosctl" || { bad "build vosctl"; finish; }
make -s BUILD="$BUILD" SAN="${SAN:-}" "$BUILD/bin/vos-serviced" "$BUILD/lib/libvirtuos.so" >/dev/null 2>&1 ||
	echo "note: vos-serviced/libvirtuos.so did not build; the images go without them"
# The test programs and micro-benchmarks run in dom0 too.
extra=()
for f in tests/programs/*.c; do extra+=("$BUILD/tests/programs/$(basename "$f" .c)"); done
for f in benchmarks/micro/*.c; do extra+=("$BUILD/bench/$(basename "$f" .c)"); done
make -s BUILD="$BUILD" SAN="${SAN:-}" "${extra[@]}" >/dev/null 2>&1 ||
	echo "note: some test programs or benchmarks did not build"
# The system test's own helper for dom0 (an HTTP/1.0 file server and client
# with plain blocking socket calls); build-images.sh puts $BUILD/tests/system/*
# into dom0.
make -s BUILD="$BUILD" SAN="${SAN:-}" "$BUILD/tests/system/netfile" >/dev/null 2>&1 ||
	echo "note: tests/system/netfile did not build"

mkdir -p "$OUT"
# shellcheck disable=SC2317  # called by the trap
cleanup() { "$VOSCTL" down --timeout 60 >/dev/null 2>&1 || true; }
trap cleanup EXIT

# A fresh disk, so that the counts below do not depend on earlier runs.
tools/xen/build-images.sh --make-disk "$DISK" 64 >/dev/null || { bad "create test disk"; finish; }

t0=$(date +%s)
APP_PORT=$APP_PORT "$VOSCTL" up --timeout "$BOOT_TIMEOUT" --port "$PORT" --disk "$DISK" > "$OUT/up.log" 2>&1
rc=$?
cat "$OUT/up.log"
if [ "$rc" != 0 ] || ! grep -q 'all domains up after' "$OUT/up.log"; then
	bad "guest set boots (vosctl up exit $rc; diagnostics above)"
	finish
fi
ok "guest set boots ($(( $(date +%s) - t0 )) s, image check included)"

# --- dom0 and the toolstack
vx xl list > "$OUT/xl-list.txt" 2>&1
cat "$OUT/xl-list.txt"
check "xl list shows storage running" grep -Eq '^storage[[:space:]]+[0-9]+[[:space:]].*[[:space:]](r-----|-b----)' "$OUT/xl-list.txt"
check "xl list shows network running" grep -Eq '^network[[:space:]]+[0-9]+[[:space:]].*[[:space:]](r-----|-b----)' "$OUT/xl-list.txt"
"$VOSCTL" status > "$OUT/status.txt" 2>&1
check "vosctl status reports both domains" grep -q 'storage: running' "$OUT/status.txt"

# --- vosctl status lists client channels (and not those of killed clients)
# A dom0 program holding a /storage channel (exec keeps pid and channel: no fork
# with a live channel), listed as connected; after kill -9 it must be gone
# (status runs dom0's vos-reap first).  Separate from the forwarding checks.
vx 'vos-run sh -c "exec 3</storage/boots; exec sleep 120" >/dev/null 2>&1 & echo $! > /tmp/status-client.pid; cat /tmp/status-client.pid' > "$OUT/status-client.pid" 2>&1
cpid=$(tr -dc 0-9 < "$OUT/status-client.pid")
listed=0
for _ in 1 2 3 4 5; do   # the channel connects in the background
	"$VOSCTL" status > "$OUT/status-client.txt" 2>&1
	grep -Eq "^ *storage +[0-9]+ +[0-9]+ +${cpid:-none} +sleep .* connected$" "$OUT/status-client.txt" && { listed=1; break; }
	sleep 2
done
cat "$OUT/status-client.txt"
check "vosctl status lists a connected dom0 client (pid ${cpid:-?}, sleep, storage)" [ "$listed" = 1 ]
vx "kill -9 ${cpid:-none}" >/dev/null 2>&1
"$VOSCTL" status > "$OUT/status-killed.txt" 2>&1
check "vosctl status no longer lists the killed client" \
	bash -c "grep -q '^clients' '$OUT/status-killed.txt' && ! grep -Eq '^ *storage +[0-9]+ +[0-9]+ +${cpid:-none} ' '$OUT/status-killed.txt'"

vx 'exit 7' >/dev/null 2>&1
rc=$?
check "vosctl exec returns the command's status (7, got $rc)" [ "$rc" = 7 ]

out=$(vx 'sqlite3 /tmp/t.db "create table t(x); insert into t values(6*7); select x from t;"' 2>&1)
check "sqlite3 runs in dom0 (got '$out')" [ "$out" = 42 ]
out=$(vx 'cd /tmp && mkdir -p d && seq 1 1000 > d/f && tar czf d.tgz d && rm -r d && tar xzf d.tgz && sha256sum d/f' 2>&1)
want=$(seq 1 1000 | sha256sum | cut -d' ' -f1)
check "tar+gzip round trip in dom0" [ "${out%% *}" = "$want" ]

# The project's own binaries in dom0, in local mode (the storage service as a
# dom0 process) until the Xen transport exists.
# shellcheck disable=SC2016  # $VOS_CONFIG is dom0's
if vx 'test -x /opt/virtuos/bin/vosctl && test -f /opt/virtuos/lib/libvirtuos.so && test -x /opt/virtuos/bin/vos-serviced && test -f "$VOS_CONFIG"' >/dev/null 2>&1; then
	# A sanitizer build of libvirtuos needs its runtime preloaded first (the
	# image holds it at the host's path: it is in libvirtuos.so's ldd closure).
	san_rt=$(ldd "$ROOT/$BUILD/lib/libvirtuos.so" 2>/dev/null | awk '/lib[at]san/ { print $3 }')
	pre=""
	[ -n "$san_rt" ] && pre="VOS_LIBVIRTUOS='$san_rt /opt/virtuos/lib/libvirtuos.so' "
	out=$(vx "${pre}vosctl local run -- dash -c 'echo forwarded > /storage/f && cat /storage/f'" 2>&1)
	check "vosctl local run works in dom0 (got '$out')" [ "$out" = forwarded ]
else
	check "vosctl, libvirtuos.so, vos-serviced and vos.conf are in the dom0 image" false
fi

# --- the platform: vector registers survive context switches in dom0
# (Xen's lazy FPU switching loses them under TCG: configs/xen/qemu.conf).
# Every forwarded read and write is a memcpy that depends on it.
out=$(vx 'timeout 120 /opt/virtuos/tests/programs/vecregs /tmp 8 3000' 2>&1)
check "vector registers survive context switches in dom0 (got '$out')" [ "$out" = "vecregs: all copies intact" ]

# --- network service: dom0 programs' AF_INET sockets live in the network domain
# (vos.conf: route-family inet network; its vos-serviced --role network over
# the Xen transport).  XEN_PENDING: checks that wait for work not merged yet,
# with the reason; one that passes is a failure (remove it then), as in
# tests/integration/pending.list.
XEN_PENDING=""
pending_check() { # pending_check NAME DESCRIPTION COMMAND...
	local name=$1 what=$2 why
	shift 2
	why=$(printf '%s\n' "$XEN_PENDING" | sed -n "s/^[[:space:]]*$name:\(.*\)/\1/p")
	if [ -z "$why" ]; then check "$what" "$@"; return; fi
	if "$@"; then bad "$what: now passes, remove '$name' from XEN_PENDING"
	else echo "PENDING: $what ($why)"; fi
}
vx cat /var/log/xen/guest-network.log > "$OUT/network-0.log" 2>&1
if grep -q 'vos-serviced running (Xen transport, network role)' "$OUT/network-0.log"; then
	NF=/opt/virtuos/tests/system/netfile
	ok "network domain runs vos-serviced --role network over the Xen transport"
	# A dom0 server under libvirtuos listens on :8080 and serves a /storage
	# file: the file comes from the storage domain, the socket is the
	# network domain's, so the host reaches it through QEMU's forward to
	# the network domain's eth0 (dom0 has no NIC at all).
	want=$(vr "head -c 300000 /dev/urandom > /storage/app.bin && sha256sum < /storage/app.bin" 2>&1)
	vx "(timeout 250 vos-run $NF serve 8080 /storage/app.bin 1 > /tmp/app.out 2>&1; echo \"exit \$?\" >> /tmp/app.out) </dev/null >/dev/null 2>&1 &
		for i in \$(seq 120); do grep -q listening /tmp/app.out && break; sleep 1; done; cat /tmp/app.out" > "$OUT/app-start.txt" 2>&1
	cat "$OUT/app-start.txt"
	curl -s -m 30 "http://127.0.0.1:$PORT/cgi-bin/sockets" > "$OUT/network-sockets.txt" 2>&1
	cat "$OUT/network-sockets.txt"
	check "a dom0 server's listener (:8080) is in the network domain's stack (its netstat -ltn)" \
		grep -Eq '^tcp +[0-9]+ +[0-9]+ +[0-9.:]*:8080 +.*LISTEN' "$OUT/network-sockets.txt"
	vx 'netstat -ltn' > "$OUT/dom0-sockets.txt" 2>&1
	check "... and not in dom0's (netstat -ltn in dom0)" \
		bash -c "grep -q 'Local Address' '$OUT/dom0-sockets.txt' && ! grep -q ':8080 ' '$OUT/dom0-sockets.txt'"
	got=$(curl -s -m 120 "http://127.0.0.1:$APP_PORT/app.bin" | sha256sum)
	check "the host fetches a /storage file from the dom0 server through the network domain's port forward (127.0.0.1:$APP_PORT), same sha256" \
		[ "${got%% *}" = "${want%% *}" ]
	# shellcheck disable=SC2016  # dom0's shell expands them
	vx 'for i in $(seq 30); do grep -q "^exit" /tmp/app.out && break; sleep 1; done; cat /tmp/app.out' > "$OUT/app-end.txt" 2>&1
	check "... and the dom0 server ends normally" grep -q '^exit 0$' "$OUT/app-end.txt"

	# dom0 clients reach a server on the host's loopback through the network
	# domain and QEMU's user-network gateway 10.0.2.2 (no other address).
	mkdir -p "$OUT/www"
	head -c 500000 /dev/urandom > "$OUT/www/outside.bin"
	want=$(sha256sum < "$OUT/www/outside.bin")
	(cd "$OUT/www" && exec timeout 600 python3 -m http.server --bind 127.0.0.1 "$OUTSIDE_PORT") > "$OUT/outside-httpd.log" 2>&1 &
	outside_pid=$!
	for _ in $(seq 50); do curl -s -m 2 -o /dev/null "http://127.0.0.1:$OUTSIDE_PORT/" && break; sleep 0.2; done
	got=$(vr "$NF get 10.0.2.2 $OUTSIDE_PORT /outside.bin | sha256sum" 2>&1)
	check "a dom0 program (netfile) fetches from a server on the host's loopback via 10.0.2.2, same sha256" \
		[ "${got%% *}" = "${want%% *}" ]
	got=$(vx "timeout 60 $NF get 10.0.2.2 $OUTSIDE_PORT /outside.bin >/dev/null" 2>&1)
	check "... which dom0's own stack cannot reach (native: '$got')" grep -q 'connect: Network is unreachable' <<<"$got"
	got=$(vr "curl -sS -m 60 http://10.0.2.2:$OUTSIDE_PORT/outside.bin | sha256sum" 2>&1)
	pending_check curl-outside "curl in dom0 fetches from the host's loopback via 10.0.2.2, same sha256 (got '$got')" \
		[ "${got%% *}" = "${want%% *}" ]
	kill "$outside_pid" 2>/dev/null
else
	check "network domain runs vos-serviced --role network over the Xen transport" false
fi

# --- dom0 programs on /storage, served by the storage domain over the Xen transport
vx cat /var/log/xen/guest-storage.log > "$OUT/storage-0.log" 2>&1
if grep -q 'vos-serviced running (Xen transport)' "$OUT/storage-0.log" &&
   vx 'test -x /sbin/vos-run && test -f /opt/virtuos/lib/libvirtuos.so' >/dev/null 2>&1; then
	xen_ok=1
else
	xen_ok=0
	check "storage domain serves dom0 over the Xen transport (vos-serviced --transport xen running, vos-run and libvirtuos.so in dom0)" false
fi

if [ "$xen_ok" = 1 ]; then
	out=$(vr 'echo over-xen > /storage/xen-hello && cat /storage/xen-hello' 2>&1)
	check "shell redirection + cat on /storage from dom0 (got '$out')" [ "$out" = over-xen ]
	want=$(seq 1 20000 | sha256sum | cut -d' ' -f1)
	out=$(vr 'seq 1 20000 > /tmp/src && cp /tmp/src /storage/copied && sha256sum /storage/copied' 2>&1)
	check "cp to /storage + sha256sum" [ "${out%% *}" = "$want" ]
	# A shell that holds a /storage channel (its cwd) forks children.
	out=$(vr 'cd /storage && mkdir -p tree/a/b && seq 1 1000 > tree/a/b/f && ls tree/a/b && cat tree/a/b/f | wc -l' 2>&1)
	check "a shell in /storage forks programs that use it (got '$(echo $out)')" [ "$(echo $out)" = "f 1000" ]
	# tar+gzip through a directory tree on /storage: create, remove, extract.
	want=$(seq 1 1000 | sha256sum | cut -d' ' -f1)
	out=$(vr 'cd /storage && tar czf tree.tgz tree && rm -r tree && test ! -e tree && tar xzf tree.tgz && sha256sum tree/a/b/f && rm -r tree tree.tgz' 2>&1)
	check "tar+gzip round trip of a tree on /storage, rm -r in between (got '${out%% *}')" [ "${out%% *}" = "$want" ]
	out=$(vr 'rm -f /storage/t.db && sqlite3 /storage/t.db "create table t(x); begin; $(seq -f "insert into t values(%g);" 1 200 | tr -d "\n") commit; pragma integrity_check; select sum(x) from t;"' 2>&1)
	check "sqlite3 inserts + integrity_check on /storage (got '$(echo $out)')" [ "$(echo $out)" = "ok 20100" ]

	# Many short programs in a row: every one works, and dom0's grant table
	# does not grow.  Run before the C programs below: the table's size is a
	# high-water mark, and their children (fork_threads') hold channels
	# too.  A client that exits lets its shadow unmap first (transport.h,
	# goodbye); without that Linux defers each grant and frees ten a
	# second, and the table (64 frames of 512 grants) filled after some 250
	# programs: every later open got EIO.
	vx 'ok=0; for i in $(seq 100); do vos-run cat /storage/xen-hello >/dev/null 2>&1 && ok=$((ok + 1)); done
		echo "ok=$ok"; xl debug-keys g; xl dmesg | grep -A1 "grant-table for remote d0" | tail -n 1' > "$OUT/many.txt" 2>&1
	cat "$OUT/many.txt"
	check "100 short dom0 programs on /storage in a row all work" grep -q '^ok=100$' "$OUT/many.txt"
	frames=$(sed -n 's/.* \([0-9]*\) frames (.*/\1/p' "$OUT/many.txt" | tail -n 1)
	check "dom0's grant table stays small after them (${frames:-?} of 64 frames in use)" \
		[ "${frames:-999}" -le 16 ]

	# The C programs of tests/programs (the integration suite's), each run
	# natively on a dom0 directory and under libvirtuos on /storage: the
	# outputs must be equal.  svcdeath needs a service to kill (below).
	# Both outputs name their directory as @D, and the dispatcher's one-line
	# notice of a non-root program's slow path is left out (as in
	# tests/integration/run.sh).  XEN_DIFFERS: programs whose output differs
	# in this guest set for a reason of its own (listed with the reason); one
	# that matches is a failure, so the list cannot rot.
	XEN_DIFFERS="
		fcntl-misc:F_GET_SEALS on a regular file: 1 on dom0's tmpfs, EINVAL on the storage domain's ext4
		fsize:stdio's buffer follows st_blksize, which differs between dom0's tmpfs and the storage domain's ext4
		locks_killed:a killed client's locks are freed when its shadow sees the hang-up; the local-mode wait for it uses host pids
		lockwait_mt:/proc/locks in dom0 does not list the storage domain's locks
		tmpfile_link:dom0's /dev has no fd link, so the native side says ENOENT"
	# XEN_UNTIMED: PROGRAM:REGEX:REASON, lines whose result depends on timing
	# in this guest set, left out of both outputs (the rest must be equal).
	XEN_UNTIMED="
		net_prefork:^(connect after the last child|children whose listener was gone):a child's sockets close at its exit through a call to the network domain bounded to 1 s (libvirtuos/interpose/service.c); under TCG one child in 20 was still listening after waitpid (issue 9 point 3)"
	for src in tests/programs/*.c; do
		p=$(basename "$src" .c)
		[ "$p" = svcdeath ] && continue
		mask=$(printf '%s\n' "$XEN_UNTIMED" | sed -n "s/^[[:space:]]*$p:\([^:]*\):.*/\1/p")
		filter=cat
		if [ -n "$mask" ]; then
			filter="grep -v -E '$mask'"
			echo "NOTE: program $p: lines matching $mask left out over Xen ($(printf '%s\n' "$XEN_UNTIMED" | sed -n "s/^[[:space:]]*$p:[^:]*:\(.*\)/\1/p"))"
		fi
		vx "P=/opt/virtuos/tests/programs/$p
			rm -rf /tmp/native-$p && mkdir -p /tmp/native-$p
			timeout 120 \$P /tmp/native-$p > /tmp/$p.native 2>&1; echo \"exit \$?\" >> /tmp/$p.native
			timeout 120 vos-run sh -c 'rm -rf /storage/prog-$p && mkdir /storage/prog-$p && exec '\$P' /storage/prog-$p' > /tmp/$p.xen 2>&1
			echo \"exit \$?\" >> /tmp/$p.xen
			sed 's#/tmp/native-$p#@D#g' /tmp/$p.native | $filter > /tmp/$p.native.n
			grep -v '^libvirtuos: dispatch: page 0 cannot be mapped' /tmp/$p.xen | sed 's#/storage/prog-$p#@D#g' | $filter > /tmp/$p.xen.n
			diff /tmp/$p.native.n /tmp/$p.xen.n" > "$OUT/prog-$p.diff" 2>&1
		rc=$?
		why=$(printf '%s\n' "$XEN_DIFFERS" | sed -n "s/^[[:space:]]*$p:\(.*\)/\1/p")
		if [ -n "$why" ]; then
			check "program $p: differs over Xen as listed ($why)" [ "$rc" != 0 ]
			[ "$rc" != 0 ] && head -8 "$OUT/prog-$p.diff"
			continue
		fi
		check "program $p: same output on /storage over Xen as native in dom0" [ "$rc" = 0 ]
		[ "$rc" = 0 ] || head -30 "$OUT/prog-$p.diff"
	done

	# The storage domain dies under a program and comes back: calls on the
	# fds it had fail with EIO, new opens fail with EIO while it is down and
	# work after the restart (same expectations as in local mode).
	t1=$(date +%s)
	vx "mkdir -p /tmp/sd && timeout 250 vos-run /opt/virtuos/tests/programs/svcdeath /storage \
		'vos-domains destroy storage >/tmp/sd/kill.log 2>&1' \
		'vos-domains create storage >/tmp/sd/create.log 2>&1'" > "$OUT/svcdeath.got" 2>&1
	check "svcdeath: storage domain destroyed and re-created under a dom0 program ($(( $(date +%s) - t1 )) s): EIO, then new calls work" \
		cmp -s tests/programs/svcdeath.expected "$OUT/svcdeath.got"
	cmp -s tests/programs/svcdeath.expected "$OUT/svcdeath.got" || diff tests/programs/svcdeath.expected "$OUT/svcdeath.got"

	# A reader for the vosctl kill test below: dd reads a /storage file over
	# and over (each dd a new program) until a read fails.
	vr 'head -c 4194304 /dev/zero > /tmp/big && cp /tmp/big /storage/big' >/dev/null 2>&1
	vx '(timeout 200 vos-run "while dd if=/storage/big of=/dev/null bs=4096 2>/tmp/dd.err; do :; done; cat /tmp/dd.err") > /tmp/loop.out 2>&1 &
		echo $! > /tmp/loop.pid' >/dev/null 2>&1
	sleep 3
fi

# --- network domain: reachable from the host through the port forward
fetch() {
	if command -v curl >/dev/null; then curl -s -m 20 "$1"
	else wget -q -T 20 -O - "$1"; fi
}
page=""
for _ in 1 2 3 4 5; do
	page=$(fetch "http://127.0.0.1:$PORT/" 2>/dev/null) && [ -n "$page" ] && break
	sleep 2
done
check "host fetches the network domain's page on 127.0.0.1:$PORT" grep -q 'hello from the network domain' <<<"$page"

# --- storage domain: owns the disk
vx cat /var/log/xen/guest-storage.log > "$OUT/storage-1.log" 2>&1
check "storage domain mounted its disk and wrote the file" \
	grep -q 'hello=hello from the storage domain' "$OUT/storage-1.log"
# Each boot of the storage domain appends a line to /boots on its disk.
boots_want=$(grep -c 'VOS: storage disk' "$OUT/storage-1.log")

# --- faults: kill and restart the storage domain
"$VOSCTL" kill storage > "$OUT/kill.txt" 2>&1
if [ "$xen_ok" = 1 ]; then
	# The reader must end by itself (bounded: no hang) with a failed call.
	vx 'for i in $(seq 60); do kill -0 $(cat /tmp/loop.pid) 2>/dev/null || { echo ended; break; }; sleep 1; done; cat /tmp/loop.out' > "$OUT/loop.txt" 2>&1
	cat "$OUT/loop.txt"
	check "a dom0 program reading /storage fails (no hang) when the storage domain dies" \
		grep -q '^ended' "$OUT/loop.txt"
	check "... with EIO on /storage/big" grep -q "dd: .*/storage/big.*Input/output error" "$OUT/loop.txt"
fi
vx xl list > "$OUT/xl-list-killed.txt" 2>&1
check "vosctl kill storage removes the domain" bash -c "! grep -q '^storage ' '$OUT/xl-list-killed.txt'"
check "network domain survives the storage domain's death" grep -q '^network ' "$OUT/xl-list-killed.txt"
t1=$(date +%s)
"$VOSCTL" restart storage > "$OUT/restart.txt" 2>&1
rc=$?
cat "$OUT/restart.txt"
check "vosctl restart storage ($(( $(date +%s) - t1 )) s)" [ "$rc" = 0 ]
vx cat /var/log/xen/guest-storage.log > "$OUT/storage-2.log" 2>&1
boots_want=$((boots_want + 1))
check "restarted storage domain finds its data (boots=$boots_want, same greeting)" \
	grep -q "boots=$boots_want, hello=hello from the storage domain" "$OUT/storage-2.log"

if [ "$xen_ok" = 1 ]; then
	out=$(vr 'cat /storage/xen-hello' 2>&1)
	check "a new dom0 program reads /storage after the restart (got '$out')" [ "$out" = over-xen ]
fi

# --- clean shutdown, then read the disk from the host
t1=$(date +%s)
"$VOSCTL" down --timeout 120 > "$OUT/down.txt" 2>&1
rc=$?
check "vosctl down stops QEMU ($(( $(date +%s) - t1 )) s)" [ "$rc" = 0 ]
check "no QEMU left" bash -c "! [ -f '$ROOT/build/xen/run/qemu.pid' ] || ! kill -0 \$(cat '$ROOT/build/xen/run/qemu.pid') 2>/dev/null"

hello=$(debugfs -R 'cat /hello-from-storage' "$DISK" 2>/dev/null)
check "host reads /hello-from-storage from the disk image (got '$hello')" \
	[ "$hello" = "hello from the storage domain" ]
boots=$(debugfs -R 'cat /boots' "$DISK" 2>/dev/null | grep -c boot)
check "host sees every boot of the storage domain (got $boots, want $boots_want)" [ "$boots" = "$boots_want" ]
if [ "$xen_ok" = 1 ]; then
	out=$(debugfs -R 'cat /xen-hello' "$DISK" 2>/dev/null)
	check "host reads what dom0 wrote through /storage from the disk image (got '$out')" [ "$out" = over-xen ]
	out=$(debugfs -R 'cat /copied' "$DISK" 2>/dev/null | sha256sum | cut -d' ' -f1)
	check "the file dom0 copied to /storage is on the disk, same bytes" [ "$out" = "$(seq 1 20000 | sha256sum | cut -d' ' -f1)" ]
fi
check "file system is clean after shutdown (e2fsck -fn)" bash -c "e2fsck -fn '$DISK' >/dev/null 2>&1"

echo "total $(( $(date +%s) - t0 )) s"
finish
