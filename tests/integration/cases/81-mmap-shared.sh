# mmap of a file on /storage with MAP_SHARED fails with ENODEV (documented in
# libvirtuos/interpose/README.md: a shared mapping of a remote file could not
# stay coherent with the file); MAP_PRIVATE, read-only and copy-on-write,
# works.  Python's mmap module: ACCESS_READ/ACCESS_WRITE are MAP_SHARED,
# ACCESS_COPY is MAP_PRIVATE.
CASE_MODE=expect
body() {
	printf 'abcdefgh' > "$D/f"
	"$PY" - "$D/f" <<'PYEOF'
import errno, mmap, sys
for name, mode, access in (("read", "rb", mmap.ACCESS_READ),
                           ("write", "r+b", mmap.ACCESS_WRITE),
                           ("copy", "r+b", mmap.ACCESS_COPY)):
    with open(sys.argv[1], mode) as f:
        try:
            m = mmap.mmap(f.fileno(), 0, access=access)
            m[0:1] = b"X" if access == mmap.ACCESS_COPY else m[0:1]
            print(name, "mapped", bytes(m[:4]))
            m.close()
        except OSError as e:
            print(name, errno.errorcode[e.errno])
print(open(sys.argv[1], "rb").read())
PYEOF
}
expected() {
	cat <<END
read ENODEV
write ENODEV
copy mapped b'Xbcd'
b'abcdefgh'
END
}
