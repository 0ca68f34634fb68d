# sqlite3: a database on /storage, 10k inserts in one transaction, queries,
# an index, updates, deletes, VACUUM, PRAGMA integrity_check.
body() {
	{
		echo "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, name TEXT, v REAL);"
		echo "BEGIN;"
		seq 1 10000 | awk '{ printf "INSERT INTO t(k, name, v) VALUES (%d, %cname-%d%c, %d.25);\n", ($1 * 37) % 101, 39, $1, 39, $1 % 997 }'
		echo "COMMIT;"
	} > "$T/load.sql"
	sqlite3 "$D/db.sqlite" < "$T/load.sql"
	echo "load status $?"
	sqlite3 "$D/db.sqlite" "SELECT count(*), sum(k), min(v), max(v), avg(v) FROM t;"
	sqlite3 "$D/db.sqlite" "SELECT k, count(*) FROM t GROUP BY k ORDER BY count(*) DESC, k LIMIT 5;"
	sqlite3 "$D/db.sqlite" "CREATE INDEX tk ON t(k); SELECT name FROM t WHERE k = 42 ORDER BY id LIMIT 3;"
	sqlite3 "$D/db.sqlite" "BEGIN; UPDATE t SET v = v * 2 WHERE k < 10; DELETE FROM t WHERE id % 3 = 0; COMMIT; SELECT count(*), sum(v) FROM t;"
	sqlite3 "$D/db.sqlite" "BEGIN; DELETE FROM t; ROLLBACK; SELECT count(*) FROM t;"
	sqlite3 "$D/db.sqlite" "VACUUM; PRAGMA integrity_check;"
	sqlite3 "$D/db.sqlite" "PRAGMA integrity_check; PRAGMA quick_check;"
	sqlite3 "$D/db.sqlite" ".dump" | sha256sum
	cp "$D/db.sqlite" "$T/copy.sqlite"
	sqlite3 "$T/copy.sqlite" "SELECT count(*) FROM t;"
	ls "$D"
	sqlite3 "$D/nodir/db.sqlite" "CREATE TABLE x(a);"
	echo "status $?"
}
