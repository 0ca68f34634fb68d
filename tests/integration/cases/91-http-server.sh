# `python3 -m http.server` serves a directory and curl fetches from it, both
# under libvirtuos: forwarded, the files are on /storage (the storage
# service) and the listening and fetching sockets in the network service.
# Bodies checksummed against the files; a directory file, a 404, and a
# socat echo through a forwarded TCP listener.  All three wait in poll or
# select across local and remote fds (libvirtuos/interpose/poll.c).
body() {
	seq 1 60000 > "$D/blob"
	mkdir "$D/sub"
	echo "in sub" > "$D/sub/x"
	(cd "$D" && exec "$PY" -u -m http.server --bind 127.0.0.1 0 > "$T/http.out" 2> "$T/http.err") &
	pid=$!
	port=
	i=0
	while [ $i -lt 400 ] && [ -z "$port" ]; do
		port=$(sed -n 's/.* port \([0-9][0-9]*\) .*/\1/p' "$T/http.out" 2>/dev/null)
		[ -n "$port" ] || sleep 0.05
		i=$((i + 1))
	done
	[ -n "$port" ] || { echo "the server did not start:"; cat "$T/http.err"; kill $pid; return 1; }
	curl -s --max-time 20 "http://127.0.0.1:$port/blob" | sha256sum
	sha256sum < "$D/blob"
	curl -s --max-time 20 "http://127.0.0.1:$port/sub/x"
	curl -s --max-time 20 -o /dev/null -w "missing: %{http_code}\n" "http://127.0.0.1:$port/missing"
	kill $pid
	wait $pid 2>/dev/null   # dash says "Terminated" only if the job ended before the wait
	echo "server: exit $?"
	# socat: an echo server on a port it picks, a client through it
	timeout 30 socat -d -d TCP-LISTEN:0,bind=127.0.0.1,reuseaddr EXEC:cat 2> "$T/socat.err" &
	spid=$!
	sport=
	i=0
	while [ $i -lt 400 ] && [ -z "$sport" ]; do
		sport=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\)$/\1/p' "$T/socat.err" 2>/dev/null)
		[ -n "$sport" ] || sleep 0.05
		i=$((i + 1))
	done
	[ -n "$sport" ] || { echo "socat did not listen:"; cat "$T/socat.err"; kill $spid; return 1; }
	seq 1 2000 | timeout 20 socat - "TCP:127.0.0.1:$sport" | sha256sum
	seq 1 2000 | sha256sum
	wait $spid
	echo "socat server: exit $?"
}
