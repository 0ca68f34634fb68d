# Remote fds across fork and exec in ordinary tools: inherited fds, xargs -P,
# pipelines, command substitution, a shell script stored on /storage.
body() {
	seq 1 40 > "$D/list"
	exec 3< "$D/list"
	read -r first <&3
	echo "parent read $first"
	sh -c 'read -r l; echo "child read $l"' <&3
	(read -r l; echo "subshell read $l") <&3
	sh -c 'head -n 2' <&3
	exec 3<&-
	seq 1 20 | xargs -P 4 -I{} sh -c 'echo {} > "$1/p{}"' sh "$D"
	cat "$D"/p* | sort -n | tr '\n' ' '
	echo
	echo "lines: $(wc -l < "$D/list")"
	printf '#!/bin/sh\necho "script on storage: $1"\n' > "$D/script.sh"
	chmod +x "$D/script.sh"
	"$D/script.sh" arg
	sh "$D/script.sh" viash
	. "$D/script.sh"
	env -i PATH=/usr/bin:/bin sh -c 'echo "no preload: $LD_PRELOAD"'
	exec 4> "$D/shared-out"
	for i in 1 2 3; do sh -c "echo writer $i >&4" & done
	wait
	exec 4>&-
	sort "$D/shared-out"
	awk '{ s += $1 } END { print "awk sum", s }' "$D/list"
	sed -n '5,7p' "$D/list" > "$D/sed-out" && cat "$D/sed-out"
	sed -i 's/^1$/one/' "$D/list" && head -n 2 "$D/list"
	grep -c 1 "$D/list"
	tee "$D/tee1" "$D/tee2" < "$D/sed-out" > /dev/null
	cat "$D/tee1" "$D/tee2"
}
