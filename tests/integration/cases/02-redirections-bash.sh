# Shell redirections and file tests in bash, including bash-only forms.
body() {
	bash -c '
	D=$1
	echo hi > "$D/f"
	cat < "$D/f"
	echo more >> "$D/f"
	echo "content: $(< "$D/f")"
	exec {fd}< "$D/f"
	read -r -u "$fd" first
	echo "read -u: $first"
	exec {fd}<&-
	mapfile -t arr < "$D/f"
	echo "mapfile: ${#arr[@]} ${arr[1]}"
	ls "$D/nothere" &> "$D/both"
	cat "$D/both"
	echo appended &>> "$D/both"
	cat "$D/both"
	[[ -f $D/f ]] && echo "is a file"
	[[ -d $D ]] && echo "is a dir"
	[[ -s $D/f ]] && echo "not empty"
	[[ -e $D/nothere ]] || echo "nothere does not exist"
	[[ -r $D/f && -w $D/f && ! -x $D/f ]] && echo "rw, not x"
	mkdir -p "$D/g"; touch "$D/g/b.txt" "$D/g/a.txt" "$D/g/c.log"
	shopt -s nullglob
	for f in "$D"/g/*.txt; do echo "glob: $f"; done
	echo "$D"/g/*.none
	cd "$D/g" && echo "cwd: $PWD" && echo *
	cd .. && echo "up: $PWD"
	exec 7> "$D/seven"; printf "%s\n" x y z >&7; exec 7>&-
	wc -l < "$D/seven"
	while IFS= read -r line; do echo "<$line>"; done < "$D/seven"
	' bash "$D"
}
