# F_SETLEASE and F_NOTIFY on routed files: refused with EINVAL (the lease
# break or notify signal would go to the service's shadow, not to the
# program), as by a file system without leases or dnotify.  Natively both
# work, so this case checks the forwarded run only (tests/programs/fcntl-misc).
CASE_MODE=expect
body() {
	"$PROGS/fcntl-misc" --leases "$D"
}
expected() {
	cat <<END
F_SETLEASE F_RDLCK                   -1 EINVAL
F_NOTIFY on the directory            -1 EINVAL
END
}
