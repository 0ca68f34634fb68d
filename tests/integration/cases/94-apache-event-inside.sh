# Apache httpd, event MPM, as in 93-apache-event, fetched from inside: curl and
# `ab -n 200 -c 10` under libvirtuos too (both ends of every connection
# forwarded; curl polls, ab waits in epoll).
body() {
	. "$TOP/tests/integration/cases/apache.inc"
	apache_files || return 1
	apache_start event || return 1
	apache_fetch inside
	apache_ab inside
	apache_stop
}
