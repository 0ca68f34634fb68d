# helpers.sh - functions every integration case may use (lib/runcase.sh
# sources this file before the case, so they exist in body, setup, expected
# and custom).

# Wait (bounded, polling every 0.1 s) until FILE exists; fails if it still
# does not after SECONDS.
wait_for() {  # FILE SECONDS
	i=0
	while [ ! -e "$1" ] && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -e "$1" ]
}
