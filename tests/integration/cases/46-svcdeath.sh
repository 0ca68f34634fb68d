# tests/programs/svcdeath under a service that is SIGKILLed and started again
# by the program itself (its KILL_CMD and RESTART_CMD): stale fds fail with
# EIO, opens fail while the service is down and work after the restart.  The
# expected output is the program's own svcdeath.expected (the system test
# checks the same over Xen).
CASE_MODE=custom
custom() {
	R=$T/root
	RD=$T/run
	mkdir -p "$R/x" "$RD"
	trap 'kill $(cat "$RD/storage.pid" 2>/dev/null) 2>/dev/null' EXIT
	"$VOSCTL" local serve --storage-root "$R" --rundir "$RD" 2> "$T/serve1.log" &
	wait_for "$RD/storage.pid" 10 || { echo "service did not start:"; cat "$T/serve1.log"; return 1; }
	ENVLINES=$("$VOSCTL" local env --rundir "$RD") || return 1
	# The commands run from inside the program (system()), so with the
	# library preloaded: the restarted service must not inherit it.
	KILL="kill -KILL \$(cat $RD/storage.pid); while [ -e $RD/storage.pid ]; do sleep 0.05; done"
	RESTART="env -u LD_PRELOAD $VOSCTL local serve --storage-root $R --rundir $RD 2>$T/serve2.log & \
while [ ! -e $RD/storage.pid ]; do sleep 0.05; done"
	timeout 60 sh -c 'eval "$1"; shift; exec "$@"' sh "$ENVLINES" \
		"$PROGS/svcdeath" /storage/x "$KILL" "$RESTART"
	echo "svcdeath: exit $?"
}
expected() {
	cat "$TOP/tests/programs/svcdeath.expected"
	echo "svcdeath: exit 0"
}
