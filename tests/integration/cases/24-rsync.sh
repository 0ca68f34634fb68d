# rsync -a into /storage and back (rsync opens files relative to a local
# directory fd, e.g. openat(fd of "/", "storage/..."), and walks with
# *at() calls), compared with native.
body() {
	mkdir -p "$T/src/a/b" "$T/src/empty" "$T/src/priv"
	seq 1 20000 > "$T/src/a/numbers"
	head -c 100000 /usr/bin/bash > "$T/src/a/b/binary"
	echo secret > "$T/src/priv/key"
	chmod 600 "$T/src/priv/key"
	chmod 750 "$T/src/priv"
	ln -s ../numbers "$T/src/a/b/link"
	ln "$T/src/a/numbers" "$T/src/hardlink"
	touch -d '2020-01-02 03:04:05' "$T/src/a/numbers" "$T/src/priv/key"
	rsync -aH "$T/src/" "$D/dst/"
	echo "rsync to D status $?"
	diff -r "$T/src" "$D/dst" && echo "dst equal"
	(cd "$D/dst" && find . | sort)
	stat -c '%n %a %F %h' "$D/dst/priv" "$D/dst/a/b/link" "$D/dst/hardlink"
	stat -c '%n %a %F %h %Y' "$D/dst/priv/key" "$D/dst/a/numbers"
	readlink "$D/dst/a/b/link"
	# a second run: nothing to do; then one change, deleted file
	rsync -a "$T/src/" "$D/dst/"
	echo "second rsync status $?"
	echo changed >> "$T/src/a/numbers"
	rm "$T/src/priv/key"
	rsync -a --delete "$T/src/" "$D/dst/"
	echo "rsync --delete status $?"
	diff -r "$T/src" "$D/dst" && echo "dst equal after update"
	rsync -aH "$D/dst/" "$T/back/"
	echo "rsync back status $?"
	diff -r "$T/src" "$T/back" && echo "back equal"
	stat -c '%n %h' "$T/back/hardlink"
	rsync -a "$D/dst/" "$D/copy/"
	echo "rsync within D status $?"
	diff -r "$D/dst" "$D/copy" && echo "copy equal"
	rsync -a "$T/nothere/" "$D/x/" 2>&1 | sed 's/ (code.*//; s/\[[a-z]*=[0-9.]*\]//'
}
