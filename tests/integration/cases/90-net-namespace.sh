# `vosctl local run --net-namespace`: the network service runs in a network
# namespace of its own, so a forwarded program's TCP listener is in that
# stack (ss inside the service's namespace lists it) and not in this host's
# (ss here does not), and connections to it work from the program.  Needs
# root (unshare(CLONE_NEWNET)); otherwise the case says so and passes.
CASE_MODE=custom
custom() {
	if [ "$(id -u)" != 0 ]; then
		echo "skipped: --net-namespace needs root"
		return 0
	fi
	"$VOSCTL" local run --net-namespace --rundir "$T/run" -- "$PY" - "$T/run" <<'PYEOF'
import os, socket, subprocess, sys
rundir = sys.argv[1]
def daemon(role):
    for p in os.listdir("/proc"):
        try:
            argv = open("/proc/%s/cmdline" % p, "rb").read().split(b"\0")
        except OSError:
            continue
        if b"--role" in argv and argv[argv.index(b"--role") + 1] == role.encode() \
                and b"--rundir" in argv and argv[argv.index(b"--rundir") + 1] == rundir.encode():
            return p
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
port = s.getsockname()[1]
def listed(cmd):
    out = subprocess.run(cmd + ["ss", "-ltnH"], capture_output=True, text=True).stdout
    return any(l.split()[3].endswith(":%d" % port) for l in out.splitlines() if len(l.split()) > 3)
print("listener in the host's stack:", listed([]))
print("listener in the service's stack:", listed(["nsenter", "--net=/proc/%s/ns/net" % daemon("network")]))
c = socket.create_connection(("127.0.0.1", port))
a, _ = s.accept()
c.sendall(b"ping")
print("through it:", a.recv(4).decode())
PYEOF
	echo "vosctl: exit $?"
}
expected() {
	if [ "$(id -u)" != 0 ]; then
		echo "skipped: --net-namespace needs root"
		return 0
	fi
	echo "listener in the host's stack: False"
	echo "listener in the service's stack: True"
	echo "through it: ping"
	echo "vosctl: exit 0"
}
