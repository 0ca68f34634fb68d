# A bad tuning variable in the environment stops a program under libvirtuos
# at start-up with "libvirtuos: NAME=VALUE: what" and exit status 127,
# before it runs (never a silent default, never EIO on a later call).
CASE_MODE=custom
custom() {
	lib=${VOS_LIBVIRTUOS:-$(dirname "$VOSCTL")/../lib/libvirtuos.so}
	for v in VOS_TRANSPORT=bogus VOS_SLOTS=abc VOS_SLOTS=3 VOS_SLOT_SIZE=5000 VOS_DEAD_AFTER_MS=0; do
		env "$v" LD_PRELOAD="$lib" /bin/echo "must not run" 2> "$T/err"
		echo "$v: exit $?"
		grep '^libvirtuos: ' "$T/err"
	done
}
expected() {
	cat <<END
VOS_TRANSPORT=bogus: exit 127
libvirtuos: VOS_TRANSPORT=bogus: expected local or xen
VOS_SLOTS=abc: exit 127
libvirtuos: VOS_SLOTS=abc: expected a number in [2, 256]
VOS_SLOTS=3: exit 127
libvirtuos: VOS_SLOTS=3: must be a power of two
VOS_SLOT_SIZE=5000: exit 127
libvirtuos: VOS_SLOT_SIZE=5000: must be a multiple of 4096
VOS_DEAD_AFTER_MS=0: exit 127
libvirtuos: VOS_DEAD_AFTER_MS=0: expected a number in [1, 86400000]
END
}
