# Two storage-kind services from one config (`storage` at /storage, `archive`
# at /archive): `vosctl local run` starts both, and real programs move files
# between them (cp, mv across services = copy and unlink after EXDEV, cp -r,
# sha256sum, cmp).  Compared with the same commands on two native
# directories; the files must land in each service's own export root.
CASE_MODE=custom
moves() {  # A B: the storage directory and the archive directory
	seq 1 20000 > "$1/data"
	cp "$1/data" "$2/copy"
	mkdir "$2/sub"
	mv "$2/copy" "$2/sub/moved"
	sha256sum < "$2/sub/moved"
	sha256sum < "$1/data"
	cp -r "$2/sub" "$1/back"
	mv "$1/data" "$2/data2"
	cmp "$2/data2" "$1/back/moved" && echo "same content"
	cat "$1/missing" 2>&1 | sed 's|.*: ||'
	(cd "$1" && ls -R)
	(cd "$2" && ls -R)
}
# What each export root holds afterwards.
roots() {  # A B
	echo "in the storage root:"
	(cd "$1" && find . | sort)
	echo "in the archive root:"
	(cd "$2" && find . | sort)
}
custom() {
	mkdir -p "$T/rs" "$T/ra"
	cat > "$T/vos.conf" <<END
service storage storage
service archive storage
route /storage storage
route /archive archive
END
	"$VOSCTL" local run --config "$T/vos.conf" --root storage="$T/rs" --root "archive=$T/ra" -- \
		sh -c '. "$1" && moves /storage /archive' sh "$CASEFILE"
	echo "vosctl: exit $?"
	roots "$T/rs" "$T/ra"
}
expected() {
	mkdir -p "$T/a" "$T/b"
	moves "$T/a" "$T/b"
	echo "vosctl: exit 0"
	roots "$T/a" "$T/b"
}
