# EACCES as an unprivileged user: files owned by root with mode 600, a private
# directory; the same commands as `nobody` fail the same way natively and
# forwarded.  Also what nobody creates is owned by nobody with its umask.
setup() {
	echo secret > "$D/secret"
	chmod 600 "$D/secret"
	echo public > "$D/public"
	chmod 644 "$D/public"
	mkdir "$D/private"
	echo hidden > "$D/private/f"
	chmod 700 "$D/private"
	mkdir "$D/tmp"
	chmod 1777 "$D/tmp"
	echo mine > "$D/tmp/roots"
	chmod 666 "$D/tmp/roots"
	chown -R root:root "$D"
}
body() {
	nob() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	nob id -u
	nob cat "$D/secret"
	echo "status $?"
	nob sh -c 'echo x > "$1"' sh "$D/secret"
	echo "status $?"
	nob cat "$D/public"
	nob ls "$D/private"
	nob cat "$D/private/f"
	nob touch "$D/newfile"
	nob rm -f "$D/public"
	nob mkdir "$D/newdir"
	nob chmod 666 "$D/secret"
	nob stat -c '%n %a %U' "$D/secret"
	nob sh -c 'echo hi > "$1/tmp/n"; umask 077; echo m > "$1/tmp/m"; mkdir "$1/tmp/d"' sh "$D"
	stat -c '%n %a %U %G' "$D/tmp/n" "$D/tmp/m" "$D/tmp/d"
	nob rm "$D/tmp/roots"
	nob sh -c 'echo more >> "$1"' sh "$D/tmp/roots"
	cat "$D/tmp/roots"
	cd "$D" || exit 1
	cat secret
	nob cat secret
	nob cat public
	exec 3< "$D/secret"
	nob sh -c 'read -r l <&3; echo "inherited fd still reads: $l"'
	exec 3<&-
	nob sh -c 'cat secret; cd "$1"; cat private/f' sh "$D"
	cat "$D/private/f"
}
