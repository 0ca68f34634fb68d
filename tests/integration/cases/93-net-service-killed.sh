# tests/programs/net_svcdeath under a network service that is SIGKILLed and
# started again by the program itself (its KILL_CMD and RESTART_CMD): a
# blocked recv and a blocked accept return, calls on the old sockets fail
# with the documented errnos (ECONNRESET, EPIPE + SIGPIPE, ENOTCONN,
# EINVAL for accept), socket() fails with ENETDOWN while it is down, and
# after the restart a new connection echoes without restarting the program.
CASE_MODE=custom
custom() {
	RD=$T/run
	CONF=$T/vos.conf
	mkdir -p "$RD"
	printf 'service network network\nroute-family inet network\nroute-family inet6 network\n' > "$CONF"
	trap 'kill $(cat "$RD/network.pid" 2>/dev/null) 2>/dev/null' EXIT
	"$VOSCTL" local serve --config "$CONF" --rundir "$RD" 2> "$T/serve1.log" &
	wait_for "$RD/network.pid" 10 || { echo "service did not start:"; cat "$T/serve1.log"; return 1; }
	ENVLINES=$("$VOSCTL" local env --config "$CONF" --rundir "$RD") || return 1
	# The commands run from inside the program (system()), so with the
	# library preloaded: the restarted service must not inherit it.
	KILL="kill -KILL \$(cat $RD/network.pid); while [ -e $RD/network.pid ]; do sleep 0.05; done"
	RESTART="env -u LD_PRELOAD $VOSCTL local serve --config $CONF --rundir $RD 2>$T/serve2.log & \
while [ ! -e $RD/network.pid ]; do sleep 0.05; done"
	timeout 60 sh -c 'eval "$1"; shift; exec "$@"' sh "$ENVLINES" \
		"$PROGS/net_svcdeath" "$KILL" "$RESTART"
	echo "net_svcdeath: exit $?"
}
expected() {
	cat <<END
connected before                     yes
recv and accept wait                 yes
blocked recv returned                yes
  recv                               -1 ECONNRESET
blocked accept returned              yes
  accept                             -1 EINVAL
poll after death                     1
  revents                            IN OUT RDHUP ERR HUP
select after death                   2
  sets                               read write
recv after death                     -1 ECONNRESET
read after death                     -1 ECONNRESET
send MSG_NOSIGNAL after death        -1 EPIPE
  SIGPIPE raised                     0
write after death                    -1 EPIPE
  SIGPIPE raised                     1
connect after death                  -1 ECONNRESET
getsockopt SO_ERROR after death      0
  SO_ERROR                           ECONNRESET
getpeername after death              -1 ENOTCONN
shutdown after death                 -1 ENOTCONN
listen after death                   -1 ENOTCONN
accept after death                   -1 EINVAL
socket while the service is down     -1 ENETDOWN
close after death                    0
new listener and connection          yes
  send on the new connection         4
  recv on the other end              4
  echo back                          4
  recv the echo                      4
  echoed                             yes
old socket still dead                -1 ECONNRESET
close old sockets                    0
close new sockets                    0
net_svcdeath: exit 0
END
}
