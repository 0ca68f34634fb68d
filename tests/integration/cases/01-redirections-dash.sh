# Shell redirections in dash: the shell itself opens, dups and closes the
# files, and hands them to the programs it starts (remote fds across fork+exec).
body() {
	echo hi > "$D/f"
	cat < "$D/f"
	echo more >> "$D/f"
	cat "$D/f"
	printf 'a\nb\nc\n' > "$D/lines"
	while read -r l; do echo "line $l"; done < "$D/lines"
	exec 3< "$D/lines"
	read -r x <&3
	read -r y <&3
	echo "read from fd 3: $x$y"
	cat <&3
	exec 3<&-
	exec 4> "$D/out4"
	echo via4 >&4
	sh -c 'echo from a child >&4'
	exec 4>&-
	cat "$D/out4"
	cat "$D/missing" 2> "$D/err"
	echo "cat status $?"
	cat "$D/err"
	cat > "$D/heredoc" <<-END
		first
		second $x
	END
	cat "$D/heredoc"
	echo rw > "$D/rw"
	exec 5<> "$D/rw"
	echo XY >&5
	exec 5>&-
	cat "$D/rw"
	set -C
	echo clobber > "$D/f"
	echo "noclobber status $?"
	set +C
	echo ok >| "$D/f" 2>/dev/null || echo ok > "$D/f"
	cat "$D/f"
	: > "$D/empty"
	wc -c < "$D/empty"
	cd "$D" || exit 1
	echo relative > rel.txt
	cat rel.txt
	pwd
	/bin/pwd
	ls
	for f in *; do echo "glob: $f"; done
	echo "$D"/l*
	cd / && ls "$D" | wc -l
}
