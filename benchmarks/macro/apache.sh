# shellcheck shell=bash
# apache.sh - Apache httpd serving static files, native vs in the primary
# under libvirtuos (sourced by run.sh; the contract is in its header).
#
# Each repetition starts two apache2 servers per side, one with the prefork
# MPM and one with event (a generated minimal config, as
# tests/integration/cases/apache.inc does): natively with DocumentRoot in the
# native directory; "ours" under `vosctl local run` (DocumentRoot on
# /storage, the listening socket in the network service).  `ab` runs from
# outside (no library: what a user's load generator is) against each.
# A configuration is MPM-FILE-cC: MPM prefork or event, FILE f4k, f64k or
# f1m (4 KiB, 64 KiB, 1 MiB), C the concurrency (ab -c).
# Value: requests/s (ab's "Requests per second"); a run with failed or
# incomplete requests (ab's "Failed requests", non-2xx) fails the sample.

apache_describe() { echo "Apache httpd static files, ab from outside (requests/s)"; }

apache_check() {
	command -v apache2 >/dev/null && command -v ab >/dev/null ||
		{ echo "apache: apache2 and ab (apache2, apache2-utils) are not installed" >&2; return 1; }
}

apache_configs() {
	local m f c
	if [ "$PROFILE" = quick ]; then
		echo prefork-f4k-c1 prefork-f64k-c25
		return
	fi
	for m in prefork event; do
		for f in f4k f64k f1m; do
			for c in 1 25 100; do
				echo "$m-$f-c$c"
			done
		done
	done
}

# The MPMs this profile's configurations use (only those are started).
apache_mpms() { apache_configs | tr ' ' '\n' | cut -d- -f1 | sort -u | tr '\n' ' '; }

apache_unit() { echo "req/s"; }
apache_target() { echo "-"; }

apache_requests() { [ "$PROFILE" = quick ] && echo 200 || echo 2000; }

# A free TCP port on 127.0.0.1.
apache_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

apache_conf() {   # DIR MPM PORT DOCROOT
	local d=$1 mpm=$2 port=$3 root=$4
	mkdir -p "$d"
	chmod 777 "$d"
	{
		echo "ServerRoot /usr/lib/apache2"
		echo "LoadModule mpm_${mpm}_module modules/mod_mpm_${mpm}.so"
		echo "LoadModule authz_core_module modules/mod_authz_core.so"
		echo "LoadModule mime_module modules/mod_mime.so"
		echo "ServerName 127.0.0.1"
		echo "Listen 127.0.0.1:$port"
		echo "PidFile $d/httpd.pid"
		echo "ErrorLog $d/error.log"
		echo "LogLevel warn"
		echo "Mutex file:$d default"
		echo "DefaultRuntimeDir $d"
		echo "TypesConfig /etc/mime.types"
		echo "DocumentRoot $root"
		echo "<Directory $root>"
		echo "    Require all granted"
		echo "</Directory>"
		echo "MaxRequestWorkers 150"
		[ "$(id -u)" = 0 ] && echo "User www-data" && echo "Group www-data"
	} >"$d/httpd.conf"
}

apache_round_begin() {   # SIDE REP
	local side=$1 m d port root i
	mkdir -p "$NATIVE_ROOT/www" "$OURS_ROOT/www"
	for f in f4k:4096 f64k:65536 f1m:1048576; do
		[ -f "$NATIVE_ROOT/www/${f%%:*}" ] || head -c "${f#*:}" /dev/urandom >"$NATIVE_ROOT/www/${f%%:*}"
		cp "$NATIVE_ROOT/www/${f%%:*}" "$OURS_ROOT/www/${f%%:*}"
	done
	chmod -R a+rX "$NATIVE_ROOT" "$OURS_ROOT"
	# The children run as www-data (when started as root): they must reach
	# the native DocumentRoot through the work directory (mktemp's 0700).
	chmod a+x "$WORK"
	for m in $(apache_mpms); do
		d=$WORK/apache-$side-$m
		port=$(apache_port)
		echo "$port" >"$WORK/apache-$side-$m.port"
		root=$NATIVE_ROOT/www
		[ "$side" = ours ] && root=/storage/www
		apache_conf "$d" "$m" "$port" "$root"
		# Its own session: prefork signals its whole process group at shutdown.
		if [ "$side" = native ]; then
			setsid apache2 -f "$d/httpd.conf" -DFOREGROUND >"$d/out" 2>&1 &
		else
			"$VOSCTL" local run --storage-root "$OURS_ROOT" -- \
				setsid apache2 -f "$d/httpd.conf" -DFOREGROUND >"$d/out" 2>&1 &
		fi
		echo $! >"$d/launcher.pid"
		for ((i = 0; i < 200; i++)); do
			curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/f4k" && break
			sleep 0.1
		done
		curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/f4k" ||
			say "apache: $side $m did not start: $(cat "$d/out" "$d/error.log" 2>/dev/null | tail -3)"
	done
}

apache_round_end() {   # SIDE REP
	local side=$1 m d p i
	for m in $(apache_mpms); do
		d=$WORK/apache-$side-$m
		[ -f "$d/httpd.pid" ] && kill "$(cat "$d/httpd.pid")" 2>/dev/null
		p=$(cat "$d/launcher.pid" 2>/dev/null) || continue
		for ((i = 0; i < 150; i++)); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$p" 2>/dev/null && { say "apache: $side $m did not stop; killing it"; kill -9 "$p"; }
		wait "$p" 2>/dev/null || true
		grep -E '\[(emerg|alert|crit|error)\]' "$d/error.log" 2>/dev/null | head -3 | sed 's/^/macro:   apache: /' >&2 || true
	done
}

apache_measure() {   # SIDE CONFIG REP
	local side=$1 config=$2 m f c port out
	IFS=- read -r m f c <<<"$config"
	c=${c#c}
	port=$(cat "$WORK/apache-$side-$m.port")
	out=$WORK/apache-ab.out
	timeout -s KILL 120 ab -n "$(apache_requests)" -c "$c" "http://127.0.0.1:$port/$f" >"$out" 2>&1 ||
		{ cat "$out" >&2; return 1; }
	awk '/^Complete requests:/ { done = $3 }
	     /^Failed requests:/ { failed = $3 }
	     /^Non-2xx responses:/ { failed += $3 }
	     /^Requests per second:/ { rps = $4 }
	     END { if (failed == 0 && done > 0) print rps; else { print "failed: " failed > "/dev/stderr"; exit 1 } }' "$out"
}
