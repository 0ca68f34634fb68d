# MariaDB with its datadir on /storage and InnoDB's default settings (no
# innodb-use-native-aio=0: the library makes io_uring_setup and io_setup fail
# with ENOSYS, and InnoDB falls back to its own I/O threads).  The server runs
# as the mysql user, as Debian runs it; its socket, pid file and error log are
# in the local scratch directory.  mariadb-install-db, a server that creates,
# fills, alters and queries InnoDB and Aria tables, four clients at once, the
# record lock InnoDB holds on ibdata1, a clean restart, a crash (SIGKILL) and
# InnoDB's recovery from its redo log (the restarted server takes the killed
# one's locks at once), mariadb-dump, and the server's error log: no error or
# warning that the native run does not have, except InnoDB's documented
# fallback from io_uring/libaio.
#
# --no-defaults: the host's /etc/mysql (pid file in /run/mysqld, ...) is not
# part of the test; every InnoDB setting keeps its default.

DB_SOCK=
DB_PID=

db_start() {
	mariadbd --no-defaults --user=mysql --datadir="$D/data" --skip-networking \
		--socket="$DB_SOCK" --pid-file="$T/run/pid" --log-error="$T/run/err.log" \
		2> "$T/run/stderr.log" &
	DB_PID=$!
	# ready when it answers on its socket (bounded: 60 s)
	i=0
	while ! mariadb-admin --socket="$DB_SOCK" ping > /dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$DB_PID" 2> /dev/null; then
			echo "server did not start"
			return 1
		fi
		sleep 0.1
	done
	echo "server up"
}

db_stop() {
	mariadb-admin --socket="$DB_SOCK" shutdown
	wait "$DB_PID"
	echo "server exit status $?"
}

sql() {
	mariadb --socket="$DB_SOCK" --batch "$@"
}

# The error log's errors and warnings, without time stamps; InnoDB's fallback
# from io_uring and libaio (a note natively, warnings forwarded) left out.
db_problems() {
	cat "$T/run/stderr.log" "$T/run/err.log" |
	grep -E 'ERROR|Warning|EBADF|EINVAL|errno|io_uring|aio' |
	grep -v -e 'Using io_uring' -e 'io_uring_queue_init() failed with ENOSYS' \
		-e 'create_uring failed: falling back to libaio' \
		-e 'io_setup([0-9]*) returned Function not implemented' \
		-e 'native AIO failed: falling back to innodb_use_native_aio=OFF' \
		-e 'Could not increase number of max_open_files' |
	sed 's/^[0-9-]* [0-9:]* [0-9]* //'
}

body() {
	mkdir -p "$T/run" && chmod 777 "$T/run"
	DB_SOCK=$T/run/sock
	mariadb-install-db --no-defaults --user=mysql --datadir="$D/data" > "$T/install.log" 2>&1
	echo "install-db: status $?"
	grep -c '^OK$' "$T/install.log"
	ls "$D/data"
	stat -c '%U %a %n' "$D/data" "$D/data/ibdata1" | sed "s|$D|D|"

	db_start || { cat "$T/run/err.log"; return 1; }
	sql -e "SELECT @@innodb_flush_method, @@innodb_doublewrite, @@innodb_log_file_size, @@innodb_page_size;"
	sql -e "CREATE DATABASE shop; SHOW DATABASES;"
	sql shop <<-'SQL'
	CREATE TABLE item (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40),
	                   price DECIMAL(10,2), qty INT, KEY (name)) ENGINE=InnoDB;
	CREATE TABLE note (id INT PRIMARY KEY, txt TEXT) ENGINE=Aria;
	INSERT INTO item (name, price, qty)
	    SELECT CONCAT('item-', seq), seq * 1.25, seq % 17 FROM seq_1_to_20000;
	INSERT INTO note VALUES (1, 'aria row'), (2, REPEAT('x', 5000));
	SELECT COUNT(*), SUM(price), SUM(qty), MIN(name), MAX(name) FROM item;
	SELECT qty, COUNT(*) FROM item GROUP BY qty ORDER BY qty LIMIT 5;
	BEGIN; DELETE FROM item WHERE id % 2 = 0; ROLLBACK;
	SELECT COUNT(*) FROM item;
	UPDATE item SET price = price * 2 WHERE qty = 3;
	DELETE FROM item WHERE id > 15000;
	ALTER TABLE item ADD COLUMN tag CHAR(3) DEFAULT 'abc', ADD KEY (qty);
	ALTER TABLE item ENGINE=InnoDB;
	SELECT COUNT(*), SUM(price), COUNT(DISTINCT tag) FROM item;
	SELECT name FROM item WHERE qty = 5 ORDER BY id LIMIT 3;
	CREATE TABLE gone (a INT) ENGINE=InnoDB;
	DROP TABLE gone;
	TRUNCATE TABLE note;
	INSERT INTO note VALUES (3, 'after truncate');
	CHECK TABLE item, note;
	SQL
	echo "sql: status $?"
	ls "$D/data/shop"
	# Four clients at once, 100 commits each (each one flushes the redo
	# log): the server's threads in the service together.  The ids they get
	# interleave differently each run, so the rows go again afterwards.
	pids=
	for w in 1 2 3 4; do
		seq 1 100 | sed "s/.*/INSERT INTO item (name, price, qty) VALUES ('c$w-&', &, $w);/" |
			sql shop &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086
	wait $pids
	sql shop -e "SELECT qty, COUNT(*), SUM(price) FROM item WHERE name LIKE 'c%' GROUP BY qty;
		DELETE FROM item WHERE name LIKE 'c%'; SELECT COUNT(*) FROM item;"
	# InnoDB holds a write lock (fcntl F_SETLK) on ibdata1 while it runs.
	"$PY" -c 'import fcntl, sys
f = open(sys.argv[1], "r+b")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("ibdata1: not locked")
except OSError as e:
    print("ibdata1: locked:", e.strerror)' "$D/data/ibdata1"
	db_stop

	db_start || { cat "$T/run/err.log"; return 1; }
	sql shop -e "SELECT COUNT(*), SUM(price) FROM item; SELECT * FROM note;"
	sql shop -e "INSERT INTO item (name, price, qty) VALUES ('after-restart', 1, 1);"
	# A crash: InnoDB must find the committed row again from its redo log.
	kill -KILL "$DB_PID"
	wait "$DB_PID"
	echo "killed: status $?"
	rm -f "$DB_SOCK"
	db_start || { cat "$T/run/err.log"; return 1; }
	grep -c 'InnoDB: Starting crash recovery' "$T/run/err.log"
	sql shop -e "SELECT id, name FROM item WHERE name = 'after-restart'; SELECT COUNT(*) FROM item;"
	sql shop -e "CHECK TABLE item EXTENDED;"
	mariadb-dump --socket="$DB_SOCK" --skip-dump-date --skip-comments shop | sha256sum
	db_stop
	db_problems
	# a clean shutdown removes the temporary tablespace and the pid file
	for f in "$D/data/ibtmp1" "$T/run/pid"; do
		[ -e "$f" ] && echo "left after shutdown: $f"
	done
	echo "done"
}
