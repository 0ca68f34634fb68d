# A python3 script doing file I/O: open/write/read/seek, raw fds, dir_fd
# calls, os.listdir/scandir/walk/fwalk, rename, stat, shutil, pathlib,
# threads (tests/integration/lib/fileio.py).
body() {
	"$PY" "$TOP/tests/integration/lib/fileio.py" "$D"
}
