# Passing fds over a local AF_UNIX socket (SCM_RIGHTS) under libvirtuos: a
# local fd passes as natively; a remote one (an AF_INET socket of the
# network service, a /storage file) is refused with EBADF and nothing is
# sent, since the kernel would hand over its placeholder, not the socket or
# file.
CASE_MODE=custom
custom() {
	"$VOSCTL" local run -- "$PY" - <<'PYEOF'
import errno, os, socket
a, b = socket.socketpair()
r, w = os.pipe()
def send(what, fd):
    try:
        socket.send_fds(a, [b"m"], [fd])
        msg, fds, _, _ = socket.recv_fds(b, 16, 4)
        print(what, "passed:", msg.decode(), len(fds))
    except OSError as e:
        print(what, "refused:", errno.errorcode[e.errno])
send("a pipe", w)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
send("an AF_INET socket", t.fileno())
f = os.open("/storage/f", os.O_CREAT | os.O_RDWR, 0o644)
send("a /storage file", f)
send("a pipe again", r)
PYEOF
	echo "vosctl: exit $?"
}
expected() {
	echo "a pipe passed: m 1"
	echo "an AF_INET socket refused: EBADF"
	echo "a /storage file refused: EBADF"
	echo "a pipe again passed: m 1"
	echo "vosctl: exit 0"
}
