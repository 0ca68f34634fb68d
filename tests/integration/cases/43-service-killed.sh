# The storage service is SIGKILLed while a program reads a /storage file in a
# loop: the program gets EIO (bounded: no hang), its stale fd keeps failing
# the same way, and once the service runs again on the same run directory a
# new open works without restarting the program.
CASE_MODE=custom
custom() {
	R=$T/root
	RD=$T/run
	mkdir -p "$R" "$RD"
	echo "the data" > "$R/f"
	S1= S2= C=
	trap 'kill $S1 $S2 $C 2>/dev/null' EXIT
	"$VOSCTL" local serve --storage-root "$R" --rundir "$RD" 2> "$T/serve1.log" &
	S1=$!
	wait_for "$RD/storage.pid" 10 || { echo "service did not start:"; cat "$T/serve1.log"; return 1; }
	ENVLINES=$("$VOSCTL" local env --rundir "$RD") || return 1
	timeout 30 sh -c 'eval "$1"; exec "$PY" - "$2"' sh "$ENVLINES" "$T" > "$T/client.out" 2>&1 <<'PYEOF' &
import errno, os, sys, time
T = sys.argv[1]
def mark(name):
    open(os.path.join(T, name), "w").close()
def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))
fd = os.open("/storage/f", os.O_RDONLY)
print("first read:", os.pread(fd, 100, 0).decode().strip())
mark("reading")
deadline = time.time() + 20
while True:
    try:
        os.pread(fd, 100, 0)
    except OSError as e:
        print("read after the kill:", name(e))
        break
    if time.time() > deadline:
        print("reads never failed")
        sys.exit(1)
for what, call in (("fstat", lambda: os.fstat(fd)), ("read", lambda: os.read(fd, 10)),
                   ("lseek", lambda: os.lseek(fd, 0, os.SEEK_SET))):
    try:
        call()
        print("stale fd", what, "worked")
    except OSError as e:
        print("stale fd", what, name(e))
try:
    os.open("/storage/f", os.O_RDONLY)
    print("open while the service is down worked")
except OSError as e:
    print("open while the service is down failed")
mark("saw-error")
deadline = time.time() + 20
while True:
    try:
        fd2 = os.open("/storage/f", os.O_RDONLY)
        break
    except OSError:
        if time.time() > deadline:
            print("no open worked after the restart")
            sys.exit(1)
        time.sleep(0.05)
print("read after the restart:", os.read(fd2, 100).decode().strip())
with open("/storage/g", "w") as f:
    f.write("written after the restart\n")
try:
    os.pread(fd, 100, 0)
    print("stale fd read worked after the restart")
except OSError as e:
    print("stale fd after the restart:", name(e))
PYEOF
	C=$!
	wait_for "$T/reading" 10 || { echo "client did not start:"; cat "$T/client.out"; return 1; }
	kill -KILL "$(cat "$RD/storage.pid")"
	wait "$S1"
	echo "first service: exit $?"
	S1=
	wait_for "$T/saw-error" 25 || { echo "client did not see the error:"; cat "$T/client.out"; return 1; }
	"$VOSCTL" local serve --storage-root "$R" --rundir "$RD" 2> "$T/serve2.log" &
	S2=$!
	wait_for "$RD/storage.pid" 10 || { echo "service did not restart:"; cat "$T/serve2.log"; return 1; }
	wait "$C"
	echo "client: exit $?"
	C=
	cat "$T/client.out"
	cat "$R/g"
	kill -TERM "$S2"
	wait "$S2"
	echo "second service: exit $?"
	S2=
	# anything else the services said (their start and stop lines aside)
	grep -v -e '^vosctl: [a-z]* service ready' -e '^vosctl: in another shell' \
		-e '^vosctl: the storage service was killed by signal 9' \
		-e '^vos-serviced: ready (' -e '^vos-serviced: stopping (' "$T/serve1.log" "$T/serve2.log"
	true
}
expected() {
	cat <<END
first service: exit 137
client: exit 0
first read: the data
read after the kill: EIO
stale fd fstat EIO
stale fd read EIO
stale fd lseek EIO
open while the service is down failed
read after the restart: the data
stale fd after the restart: EIO
written after the restart
second service: exit 0
END
}
