# ls: long listings (dates left out: --time-style=+), recursive, sorting.
body() {
	mkdir -p "$D/d/sub" "$D/e"
	printf 'x\n' > "$D/small"
	seq 1 3000 > "$D/d/medium"
	: > "$D/d/sub/empty"
	chmod 640 "$D/small"
	chmod 750 "$D/e"
	ln -s small "$D/link"
	ln "$D/d/medium" "$D/hard"
	ls "$D"
	ls -l --time-style=+ "$D"
	ls -la --time-style=+ "$D"
	ls -ln --time-style=+ "$D/d"
	ls -lR --time-style=+ "$D"
	ls -1S "$D/d"
	ls -d "$D"/*/
	ls -F "$D"
	ls -s "$D/d"
	ls -L -l --time-style=+ "$D/link"
	ls "$D/nope"
	echo "status $?"
	stat -c '%n %s %a %F %h %U %G' "$D"/* "$D/d/sub/empty"
}
