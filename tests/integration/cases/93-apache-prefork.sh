# Apache httpd, prefork MPM, started in the program (forwarded: its listening
# socket in the network service, DocumentRoot on /storage); fetched from
# outside (no library: what users do) with curl, bodies checksummed, and
# `ab -n 200 -c 10`.  See apache.inc.
body() {
	. "$TOP/tests/integration/cases/apache.inc"
	apache_files || return 1
	apache_start prefork || return 1
	apache_fetch outside
	apache_ab outside
	apache_fetch outside
	apache_stop
}
