# rsync as people use it beyond -a, into /storage and back: -av with a
# source without a trailing slash, --inplace, --partial with --append-verify,
# --checksum, --link-dest (hard links to an earlier copy on /storage),
# --backup --suffix, --sparse, -z, --delete-after, --exclude, and a dry run
# with --itemize-changes (what it would do to files, sorted).
body() {
	mkdir -p "$T/src/docs/sub" "$T/src/skip"
	seq 1 50000 > "$T/src/big"
	printf 'alpha\n' > "$T/src/docs/a.txt"
	printf 'beta\n' > "$T/src/docs/sub/b.txt"
	echo skipped > "$T/src/skip/x"
	dd if=/dev/zero of="$T/src/sparse" bs=1024 seek=512 count=1 2>/dev/null
	touch -d '2021-05-06 07:08:09' "$T/src/big" "$T/src/docs/a.txt"
	rsync -av --exclude=skip "$T/src" "$D/" > "$T/av.log"
	echo "rsync -av: status $?"
	grep -v -e '^sent ' -e '^total size' -e '^$' "$T/av.log" | sort
	diff -r -x skip "$T/src" "$D/src" && echo "equal"
	[ -e "$D/src/skip" ] || echo "skip excluded"
	stat -c '%n %Y' "$D/src/big"
	echo gamma >> "$T/src/docs/a.txt"
	rsync -a --inplace "$T/src/" "$D/src/" && echo "--inplace ok"
	cmp "$T/src/docs/a.txt" "$D/src/docs/a.txt" && echo "a.txt updated in place"
	seq 50001 60000 >> "$T/src/big"
	rsync -a --partial --append-verify "$T/src/big" "$D/src/big" && echo "--append-verify ok"
	cmp "$T/src/big" "$D/src/big" && echo "big appended"
	rsync -a --checksum -z "$T/src/" "$D/src/" && echo "--checksum -z ok"
	rsync -a --link-dest="$D/src" "$T/src/" "$D/snap/" && echo "--link-dest ok"
	stat -c '%n %h' "$D/snap/big" "$D/src/big"
	echo delta > "$T/src/docs/a.txt"
	rsync -a --backup --suffix=.bak "$T/src/" "$D/src/" && echo "--backup ok"
	cat "$D/src/docs/a.txt.bak" | tail -n 1
	rsync -a --sparse "$T/src/sparse" "$D/sparse2" && cmp "$T/src/sparse" "$D/sparse2" && echo "--sparse equal"
	rm "$T/src/docs/sub/b.txt"
	# (directory lines left out: whether a directory's time differs
	# depends on when within a second the files in it changed)
	rsync -a --delete-after -n -i "$T/src/" "$D/src/" | grep -v '^\.d' | sort
	rsync -a --delete-after "$T/src/" "$D/src/" && echo "--delete-after ok"
	[ -e "$D/src/docs/sub/b.txt" ] || echo "b.txt deleted"
	rsync -a "$D/src" "$T/back/" && diff -r "$D/src" "$T/back/src" && echo "back equal"
}
