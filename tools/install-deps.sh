#!/bin/sh
# Install the Debian packages the build and the tests need, if any is missing.
# Runs apt-get only when something is missing (it needs root then).
set -eu
PKGS="build-essential pkg-config libcmocka-dev liburcu-dev libxen-dev gnuplot-nox
      coreutils findutils tar gzip sqlite3 python3 util-linux e2fsprogs
      busybox-static cpio kmod qemu-system-x86 xen-hypervisor-4.17-amd64 xen-utils-4.17
      xenstore-utils rsync git autoconf automake perl make python3-venv
      mariadb-server mariadb-client iproute2 curl socat libzydis-dev"
missing=""
# make bench-macro (benchmarks/macro/): sysbench fileio; ps finds the service's shadows
PKGS="$PKGS sysbench procps"
# Apache httpd in the primary (tests/integration/cases/93-apache-*, 94-*; benchmarks): apache2, ab
PKGS="$PKGS apache2 apache2-utils"
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
