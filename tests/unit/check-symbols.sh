#!/bin/sh
# check-symbols.sh - the preload library's boundary, checked on the built
# libvirtuos.so and its objects (tests/run-unit.sh runs it for each variant).
#
#   tests/unit/check-symbols.sh [BUILD_DIR]        (default: build)
#
# (a) exports: libvirtuos.so exports exactly the names listed in
#     libvirtuos/interpose/libvirtuos.map; every one of them is a name glibc
#     exports too (the library exports only what it interposes); the
#     interposer's objects mark exactly those names default-visible
#     (VOS_EXPORT); no internal vos_* function is exported.
# (b) libxenstore: not NEEDED, and no xs_* function referenced by name (the
#     Xen client loads libxenstore with dlopen when it is used: local mode
#     never loads it).
# (c) no re-entry: no object of libvirtuos/channel or libvirtuos/client that
#     goes into libvirtuos.so refers to a name libvirtuos.so exports (that
#     call would land in the library's own wrapper), except those in ALLOWED.
# (d) no service-side code: nothing defined by the service-side objects
#     (Makefile CHANNEL_SERVICE_SRC: the transports' back halves, reaping, the
#     broker's checks) is in libvirtuos.so, not even as a local symbol.
#
# (e) at run time (plain builds only: a sanitizer build needs its runtime
#     preloaded first): a program under the library in local mode has no
#     libxenstore mapped; with VOS_TRANSPORT=xen, as root on the direct path,
#     it is mapped before main (loaded at start-up, not inside a first
#     connect: channel/xen/xs.h).
#
# Prints one line per failed rule and "check-symbols: N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1

BUILD=${1:-build}
LIB=$BUILD/lib/libvirtuos.so
MAP=libvirtuos/interpose/libvirtuos.map

# (c) exceptions, one "object symbol" per line, each with its reason
#   (none today).
ALLOWED="
"

pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL  check-symbols: $*"; fail=$((fail + 1)); }

[ -f "$LIB" ] || { echo "check-symbols: $LIB not built" >&2; exit 2; }
tmp=$(mktemp -d /tmp/vos-symbols.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT

sets=$(make -s --no-print-directory BUILD="$BUILD" print-link-sets) || exit 2
set_of() { echo "$sets" | sed -n "s/^$1: //p" | tr ' ' '\n' | grep .; }
set_of channel > "$tmp/channel"
set_of client > "$tmp/client"
set_of interpose > "$tmp/interpose"
set_of service > "$tmp/service"
for o in $(cat "$tmp/channel" "$tmp/client" "$tmp/interpose" "$tmp/service"); do
	[ -f "$o" ] || { echo "check-symbols: $o not built" >&2; exit 2; }
done

# Defined dynamic symbols, without versions.
nm -D --defined-only "$LIB" | awk '{ print $3 }' | sed 's/@.*//' | sort -u > "$tmp/exports"
# The names in the map's global section.
sed -e 's|/\*.*\*/||' -e '/^[[:space:]]*\*/d' -e '1,/global:/d' -e '/local:/,$d' "$MAP" |
	tr ' \t;' '\n\n\n' | grep . | sort -u > "$tmp/map"
libc=$(${CC:-gcc} -print-file-name=libc.so.6)
nm -D --defined-only "$libc" | awk '{ print $3 }' | sed 's/@.*//' | sort -u > "$tmp/libc"

# (a)
if [ ! -s "$tmp/map" ]; then
	bad "(a) no names read from $MAP"
elif ! diff "$tmp/map" "$tmp/exports" > "$tmp/diff"; then
	bad "(a) exports differ from $MAP (< map only, > exported only):"
	sed 's/^/    /' "$tmp/diff"
else
	ok
fi
notlibc=$(comm -23 "$tmp/exports" "$tmp/libc" | tr '\n' ' ')
if [ -n "$notlibc" ]; then bad "(a) exported but not a glibc name: $notlibc"; else ok; fi
for o in $(cat "$tmp/interpose"); do
	readelf -sW "$o" | awk '$5 != "LOCAL" && $6 == "DEFAULT" && $7 != "UND" &&
		($4 == "FUNC" || $4 == "OBJECT" || $4 == "IFUNC") { print $8 }'
done | sort -u > "$tmp/marked"
if ! diff "$tmp/map" "$tmp/marked" > "$tmp/diff"; then
	bad "(a) VOS_EXPORT in the interposer differs from $MAP (< map only, > marked only):"
	sed 's/^/    /' "$tmp/diff"
else
	ok
fi
internal=$(grep '^vos_' "$tmp/exports" | tr '\n' ' ')
if [ -n "$internal" ]; then bad "(a) internal names exported: $internal"; else ok; fi

# (b)
if readelf -d "$LIB" | grep NEEDED | grep -q libxenstore; then
	bad "(b) $LIB needs libxenstore"
else
	ok
fi
xs=$(nm -D --undefined-only "$LIB" | awk '{ print $2 }' | grep '^xs_' | tr '\n' ' ')
if [ -n "$xs" ]; then bad "(b) $LIB calls libxenstore by name: $xs"; else ok; fi

# (c)
reentry=""
: > "$tmp/used"
for o in $(cat "$tmp/channel" "$tmp/client"); do
	case $o in */libvirtuos/channel/*|*/libvirtuos/client/*) ;; *) continue ;; esac
	for s in $(nm -u "$o" | awk '{ print $2 }' | sed 's/@.*//' | sort -u | comm -12 - "$tmp/exports"); do
		if echo "$ALLOWED" | grep -qx "$(basename "$o") $s"; then
			echo "$(basename "$o") $s" >> "$tmp/used"
			continue
		fi
		reentry="$reentry ${o#"$BUILD"/obj/}:$s"
	done
done
if [ -n "$reentry" ]; then
	bad "(c) engine/channel code calls the library's own wrappers:$reentry"
else
	ok
fi
echo "$ALLOWED" | grep . | while read -r e; do
	grep -qx "$e" "$tmp/used" || echo "note: ALLOWED entry '$e' is no longer needed: remove it"
done

# (d)
nm "$LIB" | awk '{ print $NF }' | sort -u > "$tmp/all"
if ! grep -qx vos_channel_format "$tmp/all"; then
	bad "(d) $LIB has no symbol table (stripped?): cannot check"
else
	for o in $(cat "$tmp/service"); do
		nm --defined-only -g "$o" | awk '{ print $3 }'
	done | sort -u > "$tmp/svc"
	# The names the issue names, in case the service-side list ever loses them.
	printf '%s\n' vos_local_listen vos_local_accept vos_local_accept_fd vos_local_attach \
		vos_local_reply vos_local_conn_send vos_local_conn_recv vos_xen_listen \
		vos_xen_accept vos_xen_attach vos_xen_reply vos_xen_listener_fd \
		vos_xen_reap_stale vos_xen_present vos_xsb_check_request >> "$tmp/svc"
	leaked=$(sort -u "$tmp/svc" | comm -12 - "$tmp/all" | tr '\n' ' ')
	if [ -n "$leaked" ]; then bad "(d) service-side code in $LIB: $leaked"; else ok; fi
fi

# (e)
if ldd "$LIB" | grep -q -e libasan -e libtsan; then
	:       # sanitizer build: the plain build's run checks it
else
	lib=$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")
	n=$(env -u VOS_TRANSPORT LD_PRELOAD="$lib" cat /proc/self/maps | grep -c libxenstore)
	if [ "$n" != 0 ]; then bad "(e) local mode maps libxenstore"; else ok; fi
	if [ "$(id -u)" = 0 ]; then
		n=$(env VOS_TRANSPORT=xen VOS_XEN_BROKER=0 LD_PRELOAD="$lib" cat /proc/self/maps | grep -c libxenstore)
		if [ "$n" = 0 ]; then bad "(e) VOS_TRANSPORT=xen: libxenstore not loaded at start-up"; else ok; fi
	fi
fi

echo "check-symbols: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
