# tar czf of a tree + tar xzf elsewhere + diff -r, on /storage and across.
body() {
	mkdir -p "$D/tree/a/b" "$D/tree/empty" "$D/tree/priv"
	seq 1 50000 > "$D/tree/a/numbers"
	head -c 200000 /usr/bin/bash > "$D/tree/a/b/binary"
	echo secret > "$D/tree/priv/key"
	chmod 600 "$D/tree/priv/key"
	chmod 750 "$D/tree/priv"
	ln -s ../numbers "$D/tree/a/b/link"
	ln "$D/tree/a/numbers" "$D/tree/hardlink"
	tar czf "$D/t.tgz" -C "$D" tree
	echo "tar czf status $?"
	tar tzf "$D/t.tgz" | sort
	mkdir "$D/x" "$T/x"
	tar xzf "$D/t.tgz" -C "$D/x"
	echo "tar xzf status $?"
	diff -r "$D/tree" "$D/x/tree" && echo "extracted tree equal"
	tar xzf "$D/t.tgz" -C "$T/x"
	diff -r "$D/tree" "$T/x/tree" && echo "extracted locally, equal"
	stat -c '%n %a %h %F' "$D/x/tree/priv" "$D/x/tree/priv/key" "$D/x/tree/hardlink" "$D/x/tree/a/b/link"
	readlink "$D/x/tree/a/b/link"
	(cd "$T/x" && tar cf - tree) | (cd "$D" && mkdir y && cd y && tar xf -)
	diff -r "$T/x/tree" "$D/y/tree" && echo "pipe copy equal"
	gzip -c "$D/tree/a/numbers" > "$D/n.gz"
	gunzip -c "$D/n.gz" | cmp - "$D/tree/a/numbers" && echo "gzip round trip"
	tar xzf "$D/nothere.tgz" -C "$D"
	echo "status $?"
}
