# Links that leave the export.  Natively the kernel follows a link's
# absolute target (or a ".." that climbs out) in the process's own name
# space.  Forwarded, the service never follows such a link itself (it
# answers where the path continues, and the client goes on in its own
# name space), so the program sees the same files as natively: its own,
# with its own permissions, never the service's.  (That the service never
# acts outside its export is checked by tests/unit/test_serviced_paths.c
# and test_serviced_view.c.)  Every target is a scratch file in $T:
# nothing outside the case is read or written.  Compared with native.
body() {
	mkdir "$T/host"
	echo "host file" > "$T/host/file"
	ln -s "$T/host/file" "$D/abs"
	ln -s "$T/host" "$D/absdir"
	ln -s / "$D/rootlink"
	# As many ".." as D has components, then T's path: climbs out to "/".
	up=$(echo "$D" | sed 's|[^/][^/]*|..|g; s|^/||')
	ln -s "$up$T/host/file" "$D/rel"
	ln -s "../$up$T/host" "$D/reldir"
	cat "$D/abs" "$D/rel" "$D/absdir/file" "$D/reldir/file" "$D/rootlink$T/host/file"
	echo appended >> "$D/abs"
	cat "$T/host/file"
	echo created > "$D/absdir/new"
	cat "$T/host/new"
	mkdir "$D/reldir/sub"
	ls "$T/host"
	ls "$D/absdir/" "$D/absdir/../host"
	[ -L "$D/abs" ] && echo "abs is a symlink"
	[ -d "$D/absdir" ] && echo "absdir is a directory"
	stat -L -c '%s %F' "$D/abs"
	stat -c '%F' "$D/abs"
	rm "$D/abs" "$D/absdir/new"
	ls "$T/host"
	[ -e "$T/host/file" ] && echo "the target is kept"
	(cd "$D/absdir" && pwd -P && ls)
	"$PY" - "$D" "$T" <<'PYEOF'
import errno, os, sys
d, t = sys.argv[1], sys.argv[2]
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
for rel, want in (("absdir/file", "file"), ("rel", "file"), ("reldir/sub", "sub"),
                  ("rootlink" + t + "/host/file", "file"), ("absdir/none", "none")):
    try:
        st = os.stat(rel, dir_fd=fd)
        print("stat via dirfd", rel.replace(t, "@T"), "->", st.st_ino == os.stat(t + "/host/" + want).st_ino)
    except OSError as e:
        print("stat via dirfd", rel.replace(t, "@T"), "->", errno.errorcode[e.errno])
print("lstat rel is a link", os.path.islink(os.path.join(d, "rel")))
print("realpath", os.path.realpath(os.path.join(d, "reldir/sub")) == os.path.realpath(t + "/host/sub"))
try:
    os.open("rel", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=fd)
except OSError as e:
    print("O_NOFOLLOW on rel", errno.errorcode[e.errno])
PYEOF
}
