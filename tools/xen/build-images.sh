#!/bin/bash
# build-images.sh - build the Xen guest set's images from Debian packages.
#
# Usage: tools/xen/build-images.sh [--out DIR] [--bin-build DIR] [--force]
#        tools/xen/build-images.sh --make-disk FILE [SIZE_MIB]
#
# Outputs (default DIR = build/xen):
#   xen               the hypervisor (xen-hypervisor-4.17-amd64, unzipped: QEMU
#                     loads it as a multiboot ELF)
#   vmlinuz           the Debian kernel (linux-image-6.1.0-N-amd64), used by
#                     dom0 and both service domains
#   storage.cpio.gz   storage domain initramfs
#   network.cpio.gz   network domain initramfs
#   dom0.cpio.gz      primary domain initramfs (contains the two above, the
#                     kernel and the xl configs, so dom0 can create the DomUs)
#   storage-disk.img  the storage domain's ext4 disk (created once, kept)
#
# Project binaries are taken from --bin-build (default build): bin/vos-serviced,
# lib/libvirtuos.so, bin/vosctl, bin/vos-reap and bin/vos-xsbroker (dom0),
# tests/programs/* and tests/system/* (the system test's helpers), whichever exist.
#
# An image is rebuilt only when one of its inputs changed: each image has a
# stamp holding a hash over every input file's path, size and mtime, the
# package versions and this script.  --force rebuilds everything.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/xen
BIN_BUILD=$ROOT/build
FORCE=0
DISK_MIB=256

XEN_GZ=/boot/xen-4.17-amd64.gz
XEN_BIN=/usr/lib/xen-4.17/bin
XEN_TOOLS="xl xenstored xenconsoled xen-init-dom0 xenconsole libxl-save-helper"
# Unmodified programs the system test (and users) run in dom0; xenstore-utils
# (xenstore-read, xenstore-list) is what /sbin/vos-clients lists channels with;
# curl fetches through the network domain (its sockets are the network service's).
DOM0_PACKAGES=(coreutils findutils diffutils tar gzip sqlite3 dash strace xenstore-utils curl)

log() { echo "[images] $*"; }
die() { echo "build-images: $*" >&2; exit 1; }

usage() {
	sed -n '2,23s/^# \{0,1\}//p' "$0"
}

make_disk() {
	local file=$1 mib=${2:-$DISK_MIB}
	mkdir -p "$(dirname "$file")"
	rm -f "$file.tmp"
	truncate -s "${mib}M" "$file.tmp"
	mkfs.ext4 -F -q -L vos-storage "$file.tmp"
	mv "$file.tmp" "$file"
	log "disk $file: ext4, $mib MiB"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--out) OUT=$(realpath -m "$2"); shift 2 ;;
	--bin-build) BIN_BUILD=$(realpath -m "$2"); shift 2 ;;
	--force) FORCE=1; shift ;;
	--make-disk) [ -n "${2:-}" ] || die "--make-disk needs a file"
		make_disk "$2" "${3:-$DISK_MIB}"; exit 0 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

for tool in zcat gzip cpio depmod modprobe dpkg dpkg-deb apt-get apt-cache mkfs.ext4 ldd sha256sum; do
	command -v "$tool" >/dev/null || die "missing $tool (run tools/install-deps.sh)"
done
[ -x /bin/busybox ] || die "missing /bin/busybox (busybox-static; run tools/install-deps.sh)"
[ -f "$XEN_GZ" ] || die "missing $XEN_GZ (xen-hypervisor-4.17-amd64; run tools/install-deps.sh)"
for t in $XEN_TOOLS; do
	[ -x "$XEN_BIN/$t" ] || die "missing $XEN_BIN/$t (xen-utils-4.17; run tools/install-deps.sh)"
done

mkdir -p "$OUT"
START=$(date +%s)
pkgver() { dpkg-query -W -f='${Package}=${Version} ' "$@" 2>/dev/null; }

# ---------------------------------------------------------------- hypervisor
if [ "$FORCE" = 1 ] || [ ! -f "$OUT/xen" ] || [ "$XEN_GZ" -nt "$OUT/xen" ]; then
	log "xen: $XEN_GZ -> $OUT/xen"
	zcat "$XEN_GZ" > "$OUT/xen.tmp" && mv "$OUT/xen.tmp" "$OUT/xen"
else
	log "xen: up to date"
fi

# -------------------------------------------------------------------- kernel
# linux-image-amd64 depends on the current linux-image-6.1.0-N-amd64.
kernel_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}
KPKG=$(kernel_package)
if [ -z "$KPKG" ]; then
	log "kernel: apt-cache knows no linux-image-amd64, running apt-get update"
	apt-get update -qq || true
	KPKG=$(kernel_package)
fi
KDIR=$OUT/kernel
if [ -z "$KPKG" ]; then
	# Offline: keep using an already unpacked kernel rather than failing.
	[ -f "$KDIR/.package" ] || die "cannot find the Debian kernel package (apt-cache depends linux-image-amd64)"
	KPKG=$(cat "$KDIR/.package")
	log "kernel: package index unavailable, keeping $KPKG"
fi
KVER=${KPKG#linux-image-}
if [ "$FORCE" = 1 ] || [ "$(cat "$KDIR/.package" 2>/dev/null)" != "$KPKG" ]; then
	mkdir -p "$OUT/dl"
	deb=$(find "$OUT/dl" -maxdepth 1 -name "${KPKG}_*.deb" | head -n 1)
	if [ -z "$deb" ]; then
		log "kernel: apt-get download $KPKG"
		# As root apt warns that its sandbox user cannot write here: harmless.
		(cd "$OUT/dl" && apt-get download -q "$KPKG") 2>&1 | grep -v '^W: Download is performed unsandboxed' || true
		deb=$(find "$OUT/dl" -maxdepth 1 -name "${KPKG}_*.deb" | head -n 1)
		[ -n "$deb" ] || die "apt-get download $KPKG failed"
	fi
	log "kernel: unpacking $(basename "$deb")"
	rm -rf "$KDIR"
	mkdir -p "$KDIR"
	dpkg-deb -x "$deb" "$KDIR"
	depmod -b "$KDIR" "$KVER"
	echo "$KPKG" > "$KDIR/.package"
else
	log "kernel: $KPKG up to date"
fi
[ -f "$KDIR/boot/vmlinuz-$KVER" ] || die "no vmlinuz-$KVER in $KDIR"
if [ ! -f "$OUT/vmlinuz" ] || ! cmp -s "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz"; then
	cp "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
fi

# ------------------------------------------------------------- input lists
# An image is described by a list of "SOURCE<TAB>DEST" lines: every file that
# goes into it, DEST being its path inside the image.  The list is both the
# stamp's input and the build recipe.

# Shared libraries (and the dynamic loader) the given ELF files need.
ldd_closure() {
	local f
	for f in "$@"; do
		# ldd fails on static binaries and scripts: they need nothing.
		ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true
	done | sort -u
}

# Host files, copied to the same path inside the image.
host_files() {
	local f
	for f in "$@"; do printf '%s\t%s\n' "$f" "$f"; done
}

# What the given executables load, as host files.
libs_of() {
	local libs
	mapfile -t libs < <(ldd_closure "$@")
	host_files "${libs[@]}"
}

# Host executables plus everything they load.
with_libs() {
	host_files "$@"
	libs_of "$@"
}

# A repository tree copied into the image root.
tree() {
	local dir=$1 f
	(cd "$dir" && find . -type f | LC_ALL=C sort) | while read -r f; do
		printf '%s\t%s\n' "$dir/${f#./}" "/${f#./}"
	done
}

# Kernel modules named in a module list file, with their dependencies.
modules() {
	local list=$1 m
	grep -v '^[[:space:]]*\(#\|$\)' "$list" | while read -r m; do
		modprobe -d "$KDIR" -S "$KVER" --show-depends "$m" ||
			die "module $m not found in $KPKG"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r f; do
		printf '%s\t%s\n' "$f" "${f#"$KDIR"}"
	done
	# depmod on the image's tree wants these to know what is built in.
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		printf '%s\t%s\n' "$KDIR/lib/modules/$KVER/$f" "/lib/modules/$KVER/$f"
	done
}

# The project's binaries, laid out as in build/ under /opt/virtuos so that a
# binary finds its siblings relative to itself.
project_files() {
	local f rel
	for rel in "$@"; do
		for f in $BIN_BUILD/$rel; do
			[ -f "$f" ] || continue
			printf '%s\t/opt/virtuos/%s\n' "$f" "${f#"$BIN_BUILD"/}"
			libs_of "$f"
		done
	done
}

# Regular files in bin directories of the given Debian packages.
package_programs() {
	dpkg -L "$@" 2>/dev/null | grep -E '^/(usr/)?s?bin/[^/]+$' | while read -r f; do
		[ -f "$f" ] && [ ! -L "$f" ] && echo "$f"
	done | sort -u
}

storage_list() {
	tree "$ROOT/service-domains/storage-domain/rootfs"
	modules "$ROOT/service-domains/storage-domain/rootfs/etc/virtuos/modules"
	project_files bin/vos-serviced
}

network_list() {
	tree "$ROOT/service-domains/network-domain/rootfs"
	modules "$ROOT/service-domains/network-domain/rootfs/etc/virtuos/modules"
	project_files bin/vos-serviced
}

dom0_list() {
	local t progs=() pkg_progs f
	tree "$ROOT/primary-domain/rootfs"
	modules "$ROOT/primary-domain/rootfs/etc/virtuos/modules"
	modules "$ROOT/primary-domain/rootfs/etc/virtuos/modules.late"
	for t in $XEN_TOOLS; do progs+=("$XEN_BIN/$t"); done
	with_libs "${progs[@]}"
	# pthread_cancel in the Xen tools dlopens libgcc_s.
	host_files /lib/x86_64-linux-gnu/libgcc_s.so.1
	mapfile -t pkg_progs < <(package_programs "${DOM0_PACKAGES[@]}")
	with_libs "${pkg_progs[@]}"
	project_files bin/vos-serviced bin/vosctl bin/vos-reap bin/vos-xsbroker lib/libvirtuos.so 'tests/programs/*' 'tests/system/*' 'bench/*'
	# configs/vos.conf as it is: /storage goes to the storage domain, AF_INET
	# and AF_INET6 sockets to the network domain (its vos-serviced --role
	# network), both named by domain name.
	for f in "$ROOT"/configs/*; do
		[ -f "$f" ] || continue
		printf '%s\t/etc/virtuos/%s\n' "$f" "$(basename "$f")"
	done
	printf '%s\t/etc/xen/virtuos/storage.cfg\n' "$ROOT/configs/xen/storage.cfg"
	printf '%s\t/etc/xen/virtuos/network.cfg\n' "$ROOT/configs/xen/network.cfg"
	printf '%s\t/var/lib/virtuos/vmlinuz\n' "$OUT/vmlinuz"
	printf '%s\t/var/lib/virtuos/storage.cpio.gz\n' "$OUT/storage.cpio.gz"
	printf '%s\t/var/lib/virtuos/network.cpio.gz\n' "$OUT/network.cpio.gz"
}

# ---------------------------------------------------------------- building
SELF_HASH=$(sha256sum "$0" | cut -d' ' -f1)
VERSIONS="$(pkgver busybox-static xen-utils-4.17 libc6 "${DOM0_PACKAGES[@]}") $KPKG"

stamp_of() {
	local list=$1
	{
		echo "$SELF_HASH $VERSIONS"
		cut -f1 "$list" | xargs -r -d '\n' stat -L -c '%n %s %Y'
		cut -f2 "$list"
	} | sha256sum | cut -d' ' -f1
}

# Lay the files out, add busybox applets where no real program sits, pack.
pack() {
	local name=$1 list=$2 src dst a
	local stage=$OUT/stage-$name
	rm -rf "$stage"
	mkdir -p "$stage"/usr/bin "$stage"/usr/sbin "$stage"/usr/lib/x86_64-linux-gnu "$stage"/usr/lib64
	# Same merged-/usr layout as Debian 12, so host paths can be copied as they are.
	ln -s usr/bin "$stage/bin"
	ln -s usr/sbin "$stage/sbin"
	ln -s usr/lib "$stage/lib"
	ln -s usr/lib64 "$stage/lib64"
	mkdir -p "$stage"/{dev,proc,sys,run,tmp,root,etc,var/lib,var/log,export,mnt}
	ln -s ../run "$stage/var/run"
	chmod 1777 "$stage/tmp"
	while IFS=$'\t' read -r src dst; do
		mkdir -p "$stage$(dirname "$dst")"
		cp -L --preserve=mode "$src" "$stage$dst"
	done < "$list"
	# As on Debian, /bin/sh is dash where dash is in the image: a dynamically
	# linked shell, so that libvirtuos stays preloaded across system() and
	# `sh -c` (static busybox cannot be interposed).
	[ -x "$stage/usr/bin/dash" ] && ln -s dash "$stage/usr/bin/sh"
	cp /bin/busybox "$stage/usr/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		# busybox lists bin/, sbin/, usr/bin/, usr/sbin/; all land in usr/.
		case "$a" in bin/*|sbin/*) a=usr/$a ;; usr/*) ;; *) continue ;; esac
		[ -e "$stage/$a" ] || [ -L "$stage/$a" ] || ln -s /usr/bin/busybox "$stage/$a"
	done
	[ -e "$stage/init" ] || ln -s /usr/bin/busybox "$stage/init"
	# The kernel opens /dev/console for init before anyone mounts devtmpfs.
	mknod -m 600 "$stage/dev/console" c 5 1
	if [ -d "$stage/lib/modules/$KVER" ]; then
		depmod -b "$stage" "$KVER"
	fi
	(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 > "$OUT/$name.cpio.gz.tmp"
	mv "$OUT/$name.cpio.gz.tmp" "$OUT/$name.cpio.gz"
	rm -rf "$stage"
}

build_image() {
	local name=$1 list=$OUT/$1.list stamp
	"${name}_list" > "$list"
	stamp=$(stamp_of "$list")
	if [ "$FORCE" = 0 ] && [ -f "$OUT/$name.cpio.gz" ] && [ "$(cat "$OUT/.stamp-$name" 2>/dev/null)" = "$stamp" ]; then
		log "$name: up to date"
		return
	fi
	log "$name: building ($(wc -l < "$list") files)"
	pack "$name" "$list"
	echo "$stamp" > "$OUT/.stamp-$name"
	log "$name: $OUT/$name.cpio.gz ($(du -h "$OUT/$name.cpio.gz" | cut -f1))"
}

# dom0 embeds the two service domain images, so it comes last.
build_image storage
build_image network
build_image dom0

if [ ! -f "$OUT/storage-disk.img" ]; then
	make_disk "$OUT/storage-disk.img" "$DISK_MIB"
fi

log "done in $(( $(date +%s) - START ))s: $OUT/{xen,vmlinuz,dom0.cpio.gz,storage.cpio.gz,network.cpio.gz,storage-disk.img}"
