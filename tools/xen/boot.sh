#!/bin/sh
# boot.sh - start the guest set (Xen + dom0) in QEMU, in the background.
#
# Usage: tools/xen/boot.sh [--images DIR] [--run DIR] [--disk FILE] [--port N]
#
#   --images DIR  where build-images.sh put the images (default build/xen)
#   --run DIR     runtime directory (default DIR/run of --images): qemu.pid,
#                 console.sock + console.log (serial 0: Xen and dom0's console),
#                 control.sock (virtio serial port "vos.control": dom0's
#                 vos-agent), monitor.sock (QEMU's human monitor)
#   --disk FILE   the storage domain's disk (default IMAGES/storage-disk.img)
#   --port N      host port forwarded to the network domain's port 80
#                 (default HTTP_PORT from configs/xen/qemu.conf, 18080)
#   --app-port N  host port forwarded to the network domain's port 8080, where
#                 a dom0 program's listener lives (its sockets are the network
#                 service's) (default APP_PORT from qemu.conf, 18081)
#
# Machine settings come from configs/xen/qemu.conf; every variable there can be
# overridden from the environment.  VOS_ACCEL=tcg (default) or kvm or auto
# (auto: use KVM only if a probe boot of dom0 under KVM reaches user space).
# Prints QEMU's pid and returns once QEMU runs; vosctl waits for the domains.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMAGES=$ROOT/build/xen
RUN=""
DISK=""
PORT=""
APP=""

die() { echo "boot: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--images) IMAGES=$2; shift 2 ;;
	--run) RUN=$2; shift 2 ;;
	--disk) DISK=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--app-port) APP=$2; shift 2 ;;
	-h|--help) sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

# Environment overrides win over the config file.
for v in QEMU_MACHINE QEMU_CPU QEMU_SMP QEMU_MEM QEMU_IOMMU XEN_CMDLINE DOM0_CMDLINE HTTP_PORT APP_PORT; do
	eval "[ -n \"\${$v+x}\" ] && _env_$v=\$$v" || true
done
# shellcheck source=/dev/null
. "$ROOT/configs/xen/qemu.conf"
for v in QEMU_MACHINE QEMU_CPU QEMU_SMP QEMU_MEM QEMU_IOMMU XEN_CMDLINE DOM0_CMDLINE HTTP_PORT APP_PORT; do
	eval "[ -n \"\${_env_$v+x}\" ] && $v=\$_env_$v" || true
done

RUN=${RUN:-$IMAGES/run}
DISK=${DISK:-$IMAGES/storage-disk.img}
PORT=${PORT:-$HTTP_PORT}
APP=${APP:-$APP_PORT}
case "$PORT" in ''|*[!0-9]*) die "bad port '$PORT'" ;; esac
case "$APP" in ''|*[!0-9]*) die "bad port '$APP'" ;; esac
[ "$APP" != "$PORT" ] || die "--port and --app-port must differ ($PORT)"

for f in xen vmlinuz dom0.cpio.gz; do
	[ -f "$IMAGES/$f" ] || die "missing $IMAGES/$f (run tools/xen/build-images.sh)"
done
[ -f "$DISK" ] || die "missing disk $DISK"
command -v qemu-system-x86_64 >/dev/null || die "missing qemu-system-x86_64 (qemu-system-x86)"

mkdir -p "$RUN"
if [ -f "$RUN/qemu.pid" ] && kill -0 "$(cat "$RUN/qemu.pid")" 2>/dev/null; then
	die "already running (pid $(cat "$RUN/qemu.pid")); vosctl down first"
fi
rm -f "$RUN/qemu.pid" "$RUN/console.sock" "$RUN/control.sock" "$RUN/monitor.sock" "$RUN/console.log"

# Multiboot modules are separated by commas, so no path may contain one.
case "$IMAGES$DISK" in *,*) die "image paths must not contain ','" ;; esac

# QEMU common arguments; the disk and NIC are legacy virtio devices (ids
# 1af4:1001 and 1af4:1000) because that is what dom0 looks for.
qemu_args() {
	accel=$1
	if [ "$accel" = kvm ]; then
		echo "-accel kvm -cpu host"
	else
		echo "-accel tcg,thread=multi -cpu $QEMU_CPU"
	fi
	echo "-machine $QEMU_MACHINE -smp $QEMU_SMP -m $QEMU_MEM -device $QEMU_IOMMU"
	echo "-display none -vga none -no-reboot -nodefaults"
	echo "-kernel $IMAGES/xen"
}

# KVM only when it demonstrably works: boot dom0 with a probe init that prints
# a marker and powers off.  On the machines this was developed on /dev/kvm
# exists, but a standard guest hangs under it.
kvm_works() {
	[ -w /dev/kvm ] || return 1
	probe_log=$RUN/kvm-probe.log
	# shellcheck disable=SC2046
	timeout 60 qemu-system-x86_64 $(qemu_args kvm) -append "console=com1 dom0_mem=512M" \
		-initrd "$IMAGES/vmlinuz console=hvc0 rdinit=/sbin/vos-probe,$IMAGES/dom0.cpio.gz" \
		-serial "file:$probe_log" >/dev/null 2>&1 || true
	grep -q VOS-PROBE-OK "$probe_log" 2>/dev/null
}

ACCEL=tcg
case "${VOS_ACCEL:-tcg}" in
tcg) ;;
kvm) ACCEL=kvm ;;
auto) if kvm_works; then ACCEL=kvm; else echo "boot: KVM probe failed, using TCG"; fi ;;
*) die "VOS_ACCEL must be tcg, kvm or auto" ;;
esac

# shellcheck disable=SC2046
qemu-system-x86_64 $(qemu_args $ACCEL) \
	-append "$XEN_CMDLINE" \
	-initrd "$IMAGES/vmlinuz $DOM0_CMDLINE,$IMAGES/dom0.cpio.gz" \
	-drive "file=$DISK,if=none,id=disk0,format=raw,cache=writeback" \
	-device virtio-blk-pci,drive=disk0,disable-modern=on \
	-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$PORT-:80,hostfwd=tcp:127.0.0.1:$APP-:8080" \
	-device virtio-net-pci,netdev=net0,disable-modern=on \
	-chardev "socket,id=con0,path=$RUN/console.sock,server=on,wait=off,logfile=$RUN/console.log" \
	-serial chardev:con0 \
	-chardev "socket,id=ctl0,path=$RUN/control.sock,server=on,wait=off" \
	-device virtio-serial-pci,disable-modern=on \
	-device virtserialport,chardev=ctl0,name=vos.control \
	-monitor "unix:$RUN/monitor.sock,server=on,wait=off" \
	-pidfile "$RUN/qemu.pid" -daemonize
echo "$ACCEL" > "$RUN/accel"
echo "$PORT" > "$RUN/http-port"
echo "$APP" > "$RUN/app-port"
echo "boot: QEMU ($ACCEL) pid $(cat "$RUN/qemu.pid"), console log $RUN/console.log, http 127.0.0.1:$PORT," \
	"network domain :8080 at 127.0.0.1:$APP"
