# Escape attempts from the export.  The service resolves paths in a view of
# the client's name space that holds only the export (at /storage): an
# absolute link to /storage/... works as it does natively, while links to
# /etc/passwd or ../../../etc/passwd, .. chains from a remote dirfd and
# writes through such links never reach the host's files.  (Paths like
# /storage/../etc/x are local by routing: they never reach the service.)
# Checked against fixed output.
CASE_MODE=expect
body() {
	before=$(sha256sum < /etc/passwd)
	ln -s /etc/passwd "$D/evil"
	ln -s ../../../../../../etc/passwd "$D/evil2"
	ln -s / "$D/rootlink"
	ln -s ../../../../.. "$D/up"
	ln -s /storage/etc/passwd "$D/good"
	cat "$D/evil"
	cat "$D/evil2"
	cat "$D/up/etc/hostname"
	ls "$D/rootlink/"
	ls "$D/up/"
	mkdir "$D/../etc"
	echo "export's own passwd" > "$D/../etc/passwd"
	cat "$D/evil"
	cat "$D/evil2"
	cat "$D/good"
	cat "$D/rootlink/storage/etc/passwd"
	cat "$D/up/storage/etc/passwd"
	echo pwned 2>/dev/null > "$D/evil" || echo "write through evil failed"
	echo pwned 2>/dev/null >> "$D/evil2" || echo "append through evil2 failed"
	mkdir "$D/rootlink/newdir" 2>/dev/null || echo "mkdir in the view root failed"
	[ "$(sha256sum < /etc/passwd)" = "$before" ] && echo "host /etc/passwd unchanged"
	"$PY" - "$D" <<'PYEOF'
import errno, os, sys
d = sys.argv[1]
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
for rel in ("../../../../etc/passwd", "../../../../etc/hostname", "../" * 40 + "etc/passwd",
            "evil", "../../../../storage/etc/passwd", "up/storage/etc/passwd", "up/etc/passwd"):
    try:
        f = os.open(rel, os.O_RDONLY, dir_fd=fd)
        print("dirfd open", rel.replace("../" * 40, "(40 x ../)"), "->", os.read(f, 100).decode().strip())
        os.close(f)
    except OSError as e:
        print("dirfd open", rel.replace("../" * 40, "(40 x ../)"), "->", errno.errorcode[e.errno])
for rel in ("../../../..", "../..", ".."):
    print("listdir via dirfd", rel, sorted(os.listdir(os.open(rel, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd))))
try:
    os.open("../../../../etc/shadow", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
    print("create outside the export worked")
except OSError as e:
    print("create outside the export failed")
PYEOF
}
expected() {
	cat <<END
cat: $D/evil: No such file or directory
cat: $D/evil2: No such file or directory
cat: $D/up/etc/hostname: No such file or directory
storage
storage
cat: $D/evil: No such file or directory
cat: $D/evil2: No such file or directory
export's own passwd
export's own passwd
export's own passwd
write through evil failed
append through evil2 failed
mkdir in the view root failed
host /etc/passwd unchanged
dirfd open ../../../../etc/passwd -> ENOENT
dirfd open ../../../../etc/hostname -> ENOENT
dirfd open (40 x ../)etc/passwd -> ENOENT
dirfd open evil -> ENOENT
dirfd open ../../../../storage/etc/passwd -> export's own passwd
dirfd open up/storage/etc/passwd -> export's own passwd
dirfd open up/etc/passwd -> ENOENT
listdir via dirfd ../../../.. ['storage']
listdir via dirfd ../.. ['storage']
listdir via dirfd .. ['etc', 'work']
create outside the export failed
END
}
