# find with -type/-name/-size/-empty/-exec, xargs, du.
body() {
	mkdir -p "$D/t/a/b/c" "$D/t/x" "$D/t/empty"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		seq 1 $((i * 500)) > "$D/t/a/f$i.txt"
	done
	seq 1 100000 > "$D/t/a/b/big.dat"
	echo hi > "$D/t/a/b/c/deep.txt"
	: > "$D/t/x/zero.txt"
	ln -s ../a/f1.txt "$D/t/x/link"
	find "$D/t" | sort
	find "$D/t" -type f -name '*.txt' | sort
	find "$D/t" -type d | sort
	find "$D/t" -type l
	find "$D/t" -empty | sort
	find "$D/t" -size +20k | sort
	find "$D/t" -maxdepth 2 -mindepth 2 | sort
	find "$D/t" -name '*.txt' -exec wc -l {} + | sort
	find "$D/t" -type f -print0 | sort -z | xargs -0 cat | sha256sum
	find "$D/t" -path '*/b/*' | sort
	find "$D/t" -name 'f1*' -delete
	find "$D/t/a" | sort
	find "$D/nothere"
	echo "status $?"
	du -ab "$D/t" | sort -k2
	du -a --apparent-size "$D/t" | sort -k2
	du -a "$D/t" | sort -k2
	du -s "$D/t"
	du -sh "$D/t"
}
