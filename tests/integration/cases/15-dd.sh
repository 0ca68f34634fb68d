# dd with bs=1, 512, 4096, 65536 and 1M; count, skip, seek, conv=notrunc,
# append, sync flags; truncate; sparse files.
body() {
	seq 1 1000000 > "$T/data"
	dd if="$T/data" of="$D/a" bs=1M count=3 status=noxfer
	dd if="$D/a" of="$D/b" bs=4096 skip=10 count=100 status=noxfer
	dd if="$D/a" of="$D/c" bs=65536 seek=3 count=5 status=noxfer
	dd if="$D/a" of="$D/d" bs=512 count=40 status=noxfer
	dd if="$D/a" of="$D/d" bs=512 skip=3 seek=7 count=9 conv=notrunc status=noxfer
	dd if="$D/a" of="$D/e" bs=1 skip=100 count=3000 status=noxfer
	dd if=/dev/zero of="$D/a" bs=1 seek=1000 count=10 conv=notrunc status=noxfer
	dd if="$D/b" of="$D/d" bs=4096 count=2 oflag=append conv=notrunc status=noxfer
	dd if="$D/b" of="$D/f" bs=65536 conv=fsync status=noxfer
	dd if="$D/b" of="$D/g" bs=4096 oflag=sync conv=fdatasync status=noxfer
	# dd's record counts go to a file: printed straight to stderr they race
	# with sha256sum's output (dd closes the pipe, then prints them).
	dd if="$D/a" bs=1M skip=1 status=noxfer 2>"$T/dd.err" | sha256sum
	cat "$T/dd.err"
	dd if="$D/nothere" of="$D/x" status=noxfer
	echo "status $?"
	truncate -s 10M "$D/big"
	truncate -s 100 "$D/e"
	truncate -s +50 "$D/e"
	for f in a b c d e f g big; do
		stat -c '%n %s' "$D/$f"
		sha256sum < "$D/$f"
	done
	# allocation of the sparse files (not of the others: how ext4 places
	# O_SYNC writes, and so its extent blocks, varies from run to run)
	du -k "$D/c" "$D/big"
	cmp "$D/b" "$D/f" && cmp "$D/b" "$D/g" && echo "fsync and sync copies equal"
}
