#!/bin/bash
# run-in-guests.sh - run the Xen transport tests (xen_channel_test, and
# xen_client_test for the client call engine) between a dom0 process and a
# process in a PV DomU named "storage", under QEMU (TCG).
#
# Usage: tests/xen/run-in-guests.sh [--out DIR] [--timeout SECONDS] [--asan] [--keep]
#
# Self-contained test guest set (no PCI passthrough, no disk: only the
# transport is under test), built into DIR (default build/h8/xen-test):
#   dom0  busybox + Xen toolstack + the test programs; its init boots the DomU,
#         waits for the server, runs "xen_channel_test all", "... exec",
#         "xen_client_test all", "... exec" and "xen_channel_test domain-death"
#         (destroying the DomU under a call in flight), prints the DomU's
#         console log and powers off
#   DomU  busybox + the test program running "serve"
# The hypervisor, the Debian kernel and its modules come from the project's
# image build (build/xen, made by tools/xen/build-images.sh, which is run if
# they are missing).  Prints the XT- lines of the serial console; exits 0 iff
# they show "XT-RESULT PASS", "XT-OK exec", both "XT-OK domain-death",
# "XC-RESULT PASS" and both "XC-OK exec".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/h8/xen-test
BASE=$ROOT/build/xen
TIMEOUT=900
KEEP=0
SANFLAGS=""

die() { echo "run-in-guests: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$(realpath -m "$2"); shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--asan) SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
		shift ;;
	-h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown option $1" ;;
	esac
done

for t in gcc cpio gzip depmod modprobe qemu-system-x86_64 ldd timeout; do
	command -v "$t" >/dev/null || die "missing $t"
done
[ -x /bin/busybox ] || die "missing /bin/busybox (busybox-static)"

if [ ! -f "$BASE/xen" ] || [ ! -f "$BASE/vmlinuz" ] || [ ! -f "$BASE/kernel/.package" ]; then
	echo "[h8] hypervisor/kernel missing in $BASE: running tools/xen/build-images.sh"
	"$ROOT/tools/xen/build-images.sh"
fi
KPKG=$(cat "$BASE/kernel/.package")
KVER=${KPKG#linux-image-}
KDIR=$BASE/kernel

mkdir -p "$OUT"
cp "$BASE/xen" "$OUT/xen"
cp "$BASE/vmlinuz" "$OUT/vmlinuz"

# ------------------------------------------------------------ test program
# Dynamic: libxenstore sizes its reader thread's stack with glibc's
# __pthread_get_minstack, found with dlsym, which a static binary lacks.
echo "[h8] building xen_channel_test"
# The transport, both sides (the channel, local/ and xen/ with their service
# halves) and libvirtuos/common, as the Makefile links vos-serviced.
shopt -s nullglob
CHANNEL_C=("$ROOT"/libvirtuos/channel/*.c "$ROOT"/libvirtuos/channel/*/*.c "$ROOT"/libvirtuos/common/*.c)
shopt -u nullglob
# shellcheck disable=SC2086
gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $SANFLAGS -I"$ROOT/libvirtuos" \
	"$ROOT/tests/xen/xen_channel_test.c" "${CHANNEL_C[@]}" \
	-o "$OUT/xen_channel_test" -Wl,--no-as-needed -lxenstore
# The client call engine (libvirtuos/client) over the Xen transport, dom0 only.
echo "[h9] building xen_client_test"
# shellcheck disable=SC2086
gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $SANFLAGS -I"$ROOT/libvirtuos" \
	"$ROOT/tests/xen/xen_client_test.c" "$ROOT"/libvirtuos/client/*.c "${CHANNEL_C[@]}" \
	-o "$OUT/xen_client_test" -Wl,--no-as-needed -lxenstore

# ------------------------------------------------------------------ staging
# Copy a host file to the same path in the stage, resolving symlinks.
put() {
	local stage=$1 f
	shift
	for f in "$@"; do
		mkdir -p "$stage$(dirname "$f")"
		cp -L --preserve=mode "$f" "$stage$f"
	done
}

libs_of() {
	local f
	for f in "$@"; do
		ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && NF == 2 { print $1 }'
	done | sort -u
}

put_modules() {
	local stage=$1 m f
	shift
	for m in "$@"; do
		modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | sort -u | while read -r f; do
		mkdir -p "$stage$(dirname "${f#"$KDIR"}")"
		cp "$f" "$stage${f#"$KDIR"}"
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		cp "$KDIR/lib/modules/$KVER/$f" "$stage/lib/modules/$KVER/$f"
	done
	depmod -b "$stage" "$KVER"
}

new_stage() {
	local stage=$1 a
	rm -rf "$stage"
	mkdir -p "$stage"/usr/bin "$stage"/usr/sbin "$stage"/usr/lib/x86_64-linux-gnu "$stage"/usr/lib64
	ln -s usr/bin "$stage/bin"
	ln -s usr/sbin "$stage/sbin"
	ln -s usr/lib "$stage/lib"
	ln -s usr/lib64 "$stage/lib64"
	mkdir -p "$stage"/{dev,proc,sys,run,tmp,root,etc,var/lib,var/log}
	ln -s ../run "$stage/var/run"
	cp /bin/busybox "$stage/usr/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		case "$a" in bin/*|sbin/*) a=usr/$a ;; usr/*) ;; *) continue ;; esac
		[ -e "$stage/$a" ] || ln -s /usr/bin/busybox "$stage/$a"
	done
	mknod -m 600 "$stage/dev/console" c 5 1
	# shellcheck disable=SC2046
	put "$stage" $(libs_of "$OUT/xen_channel_test")
	cp "$OUT/xen_channel_test" "$stage/usr/bin/xen_channel_test"
}

pack() {
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$2"
}

# ------------------------------------------------------------------- DomU
echo "[h8] DomU image"
S=$OUT/stage-domu
new_stage "$S"
put_modules "$S" xen-evtchn xen-gntdev
cat > "$S/init" <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
for m in xen-evtchn xen-gntdev; do modprobe $m || echo "XT-DOMU modprobe $m failed"; done
ls -l /dev/xen
export VOS_XEN_DEBUG=1
exec xen_channel_test serve --service storage --workers 2
EOF
chmod +x "$S/init"
pack "$S" "$OUT/domu.cpio.gz"

# ------------------------------------------------------------------- dom0
echo "[h8] dom0 image"
S=$OUT/stage-dom0
new_stage "$S"
XB=/usr/lib/xen-4.17/bin
TOOLS="$XB/xl $XB/xenstored $XB/xenconsoled $XB/xen-init-dom0 $XB/libxl-save-helper"
# shellcheck disable=SC2086
put "$S" $TOOLS $(libs_of $TOOLS) /lib/x86_64-linux-gnu/libgcc_s.so.1
put_modules "$S" xen-evtchn xenfs xen-privcmd xen-gntdev xen-gntalloc
# shellcheck disable=SC2046
put "$S" $(libs_of "$OUT/xen_client_test")
cp "$OUT/xen_client_test" "$S/usr/bin/xen_client_test"
mkdir -p "$S/etc/xen" "$S/var/lib/h8"
: > "$S/etc/xen/xl.conf"
cp "$OUT/vmlinuz" "$S/var/lib/h8/vmlinuz"
cp "$OUT/domu.cpio.gz" "$S/var/lib/h8/domu.cpio.gz"
cat > "$S/etc/xen/storage.cfg" <<'EOF'
name = "storage"
type = "pv"
kernel = "/var/lib/h8/vmlinuz"
ramdisk = "/var/lib/h8/domu.cpio.gz"
extra = "console=hvc0 quiet"
memory = 256
vcpus = 1
on_crash = "preserve"
EOF
cat > "$S/init" <<'EOF'
#!/bin/sh
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/xen /run/xenstored /var/log/xen /var/lib/xen /var/lib/xenstored
for m in xen-evtchn xenfs xen-privcmd xen-gntdev; do modprobe $m || echo "XT-DOM0 modprobe $m failed"; done
# gntalloc's default limit is 1024 grants for the whole domain: 7 channels.
modprobe xen-gntalloc limit=65536 || echo "XT-DOM0 modprobe xen-gntalloc failed"
mount -t xenfs xenfs /proc/xen
xenstored --pid-file=/run/xenstored.pid
xen-init-dom0 > /var/log/xen/init-dom0.log 2>&1
xenconsoled --log=guest --log-dir=/var/log/xen --pid-file=/run/xenconsoled.pid
echo "XT-DOM0 toolstack up"
t0=$(date +%s)
xl create /etc/xen/storage.cfg || echo "XT-DOM0 xl create failed"
i=0
until grep -q "XT-SERVER ready" /var/log/xen/guest-storage.log 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 120 ]; then echo "XT-DOM0 the DomU server never became ready"; break; fi
	sleep 1
done
echo "XT-DOM0 DomU server ready after $(( $(date +%s) - t0 ))s"
VOS_XEN_DEBUG=1 xen_channel_test all
echo "XT-DOM0 all: status $?"
xen_channel_test exec
echo "XT-DOM0 exec: status $?"
xen_client_test all
echo "XT-DOM0 client all: status $?"
xen_client_test exec
echo "XT-DOM0 client exec: status $?"
echo "XT-DOM0 xenstore after the tests:"
xenstore-ls -p /local/domain/0/device 2>/dev/null || true
# Last: destroy the service domain under a call in flight.
xen_channel_test domain-death > /tmp/death.log 2>&1 &
dpid=$!
i=0
until grep -q "XT-READY domain-death" /tmp/death.log; do
	i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1
done
sleep 1
xl destroy storage
wait $dpid
echo "XT-DOM0 domain-death: status $?"
cat /tmp/death.log
echo "XT-DOM0 ---- DomU console ----"
cat /var/log/xen/guest-storage.log
echo "XT-DOM0 ---- end ----"
sync
poweroff -f
EOF
chmod +x "$S/init"
# xenstore-ls for the report (from xenstore-utils, if installed).
if [ -x /usr/bin/xenstore-ls ]; then
	# shellcheck disable=SC2046
	put "$S" /usr/bin/xenstore-ls $(libs_of /usr/bin/xenstore-ls)
fi
pack "$S" "$OUT/dom0.cpio.gz"
[ "$KEEP" = 1 ] || rm -rf "$OUT/stage-dom0" "$OUT/stage-domu"

# ------------------------------------------------------------------- boot
LOG=$OUT/console.log
echo "[h8] booting (TCG, timeout ${TIMEOUT}s), console in $LOG"
start=$(date +%s)
set +e
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 2048 \
	-cpu max,-smap,-smep,-pku,-la57 -display none -vga none -no-reboot -nodefaults \
	-kernel "$OUT/xen" -append "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 spec-ctrl=eager-fpu" \
	-initrd "$OUT/vmlinuz console=hvc0 quiet,$OUT/dom0.cpio.gz" \
	-serial "file:$LOG" </dev/null
rc=$?
set -e
echo "[h8] QEMU exited with $rc after $(( $(date +%s) - start ))s"
grep -a -E '^(XT-|XC-|\(XEN\) .*(crash|Panic))' "$LOG" | sed 's/\r$//' || true
grep -a -q 'XT-RESULT PASS' "$LOG" && grep -a -q 'XT-OK exec' "$LOG" &&
	[ "$(grep -a -c 'XT-OK domain-death' "$LOG")" = 2 ] &&
	grep -a -q 'XC-RESULT PASS' "$LOG" && [ "$(grep -a -c 'XC-OK exec' "$LOG")" = 2 ]
