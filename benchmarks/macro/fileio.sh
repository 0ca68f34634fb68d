# shellcheck shell=bash
# fileio.sh - sysbench fileio, native vs /storage (sourced by run.sh; the
# contract is in its header).
#
# Each repetition prepares the file set on both sides (`sysbench fileio
# prepare`, whose write rate is recorded as configuration "prepare"), runs every
# configuration on both sides in turn and removes the files (`cleanup`).
# A configuration is MODE-Nt[-fsync]:
#   MODE   seqwr seqrewr seqrd rndrd rndwr rndrw (sysbench --file-test-mode)
#   N      --threads
#   fsync  sysbench's default fsync policy (fsync every 100 requests of a
#          file and at the end, --file-fsync-freq=100 --file-fsync-end=on);
#          without: --file-fsync-freq=0 --file-fsync-end=off.  Read-only
#          modes issue no fsync either way, so they run once.
# Value: MiB/s read + written (sysbench's "Throughput" lines), over --time.
# The file set (quick 64 MiB, full 512 MiB) is far larger than the channel's
# data area (32 slots of 16 KiB = 512 KiB) and than one slot; blocks are
# sysbench's 16 KiB (one slot: one request per read or write).  Both sides'
# files are in the page cache: this measures the forwarding path, not a disk.

FILEIO_BLOCK=16384

fileio_describe() { echo "sysbench fileio (MiB/s read + written)"; }

fileio_check() {
	command -v sysbench >/dev/null || { echo "fileio: sysbench is not installed" >&2; return 1; }
}

fileio_geometry() {   # sets FILEIO_FILES and FILEIO_MIB for the profile
	if [ "$PROFILE" = quick ]; then
		FILEIO_FILES=4 FILEIO_MIB=64
	else
		FILEIO_FILES=16 FILEIO_MIB=512
	fi
}

fileio_configs() {
	local m t
	if [ "$PROFILE" = quick ]; then
		echo seqwr-1t seqrewr-1t seqrd-1t rndrd-1t rndwr-1t rndrw-1t rndrw-4t rndwr-1t-fsync
		return
	fi
	for m in seqwr seqrewr seqrd rndrd rndwr rndrw; do
		for t in 1 4 16; do echo "$m-${t}t"; done
		case $m in seqrd|rndrd) continue ;; esac
		for t in 1 4 16; do echo "$m-${t}t-fsync"; done
	done
}

fileio_unit() { echo "MiB/s"; }

# Issue 10's targets: at 16 threads, >= 0.8x native for sequential modes and
# >= 0.7x for random ones.
fileio_target() {
	case $1 in
	seq*-16t*) echo ">=0.8" ;;
	rnd*-16t*) echo ">=0.7" ;;
	*) echo "-" ;;
	esac
}

fileio_sysbench() {   # SIDE OUTFILE ARGS... : sysbench fileio on SIDE, output in OUTFILE
	local side=$1 out=$2
	shift 2
	fileio_geometry
	on_side "$side" fileio sysbench fileio --file-num="$FILEIO_FILES" \
		--file-total-size="${FILEIO_MIB}M" --file-block-size="$FILEIO_BLOCK" "$@" \
		>"$out" 2>"$out.err"
}

fileio_round_begin() {   # SIDE REP
	local side=$1 rep=$2 out=$WORK/fileio-prepare.$1 v
	mkdir -p "$NATIVE_ROOT/fileio" "$OURS_ROOT/fileio"
	fileio_sysbench "$side" "$out" prepare || {
		cat "$out" "$out.err" >&2
		die "sysbench fileio prepare failed on $side"
	}
	# "536870912 bytes written in 0.81 seconds (630.12 MiB/sec)."
	v=$(sed -n 's/.*bytes written in .* seconds (\([0-9.]*\) MiB\/sec).*/\1/p' "$out" | tail -n 1)
	[ -n "$v" ] && sample fileio prepare "$side" "$rep" "$v"
	[ "$side" = ours ] && stat_note fileio prepare "$rep" "$out.err" sysbench
	true
}

fileio_round_end() {   # SIDE REP
	fileio_sysbench "$1" "$WORK/fileio-cleanup.$1" cleanup ||
		say "sysbench fileio cleanup failed on $1"
}

fileio_measure() {   # SIDE CONFIG REP
	local side=$1 config=$2 rep=$3 out=$WORK/fileio-run.$1 mode threads
	local args=()
	mode=${config%%-*}
	threads=${config#*-}
	threads=${threads%%t*}
	case $config in
	*-fsync) args+=(--file-fsync-freq=100 --file-fsync-end=on) ;;
	*) args+=(--file-fsync-freq=0 --file-fsync-end=off) ;;
	esac
	fileio_sysbench "$side" "$out" --file-test-mode="$mode" --threads="$threads" \
		--time="$RUN_TIME" --events=0 "${args[@]}" run || {
		cat "$out" "$out.err" >&2
		return 1
	}
	[ "$side" = ours ] && stat_note fileio "$config" "$rep" "$out.err" sysbench
	# "    read, MiB/s:                  2462.84" and "    written, MiB/s: ..."
	awk '/read, MiB\/s:/ { r = $3; n++ } /written, MiB\/s:/ { w = $3; n++ }
	     END { if (n == 2) printf "%.2f\n", r + w; else exit 1 }' "$out"
}
