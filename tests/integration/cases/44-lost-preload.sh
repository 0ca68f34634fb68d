# A program that loses LD_PRELOAD (env -i) but inherits remote fds must fail
# safely on them (EBADF on the placeholder), never read or write another file.
CASE_MODE=expect
body() {
	echo "the file" > "$D/f"
	exec 5< "$D/f"
	exec 6>> "$D/f"
	env -i PATH=/usr/bin:/bin sh -c 'cat <&5; echo "cat: $?"; echo x >&6; echo "echo: $?"' 2>&1 |
		sed -e 's/^sh: [0-9]*: //'
	exec 5<&- 6>&-
	cat "$D/f"
}
expected() {
	cat <<END
cat: -: Bad file descriptor
cat: 1
echo: echo: I/O error
echo: 1
the file
END
}
