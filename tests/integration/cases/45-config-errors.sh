# vos.conf is read by one parser: vosctl refuses a bad config with
# "FILE:LINE: what" and exit status 2 before it starts anything, and
# libvirtuos refuses the same config with the same message and exit status
# 127 (a config vosctl accepts can no longer stop every program).  A config
# both accept normalises "//" and "." in a prefix the same way.  A path
# route to a network service (which takes route-family lines) is refused
# before anything starts.
CASE_MODE=custom
bad_configs() {  # DIR: writes DIR/bad-*.conf
	{
		echo "service storage storage"
		i=1
		while [ $i -le 17 ]; do echo "route /r$i storage"; i=$((i + 1)); done
	} > "$1/bad-17-routes.conf"
	printf 'service storage storage\nroute /storage store\n' > "$1/bad-undeclared.conf"
	printf '# prefixes\nservice s storage\nroute /a/../s s\n' > "$1/bad-dotdot.conf"
	printf 'service s storage\nroute / s\n' > "$1/bad-root.conf"
	printf 'service s disk\nroute /s s\n' > "$1/bad-role.conf"
	printf 'service s storage\nroute /s s\nroute /s/ s\n' > "$1/bad-duplicate.conf"
	printf 'route /storage storage\n' > "$1/bad-old-syntax.conf"
}
custom() {
	lib=${VOS_LIBVIRTUOS:-$(dirname "$VOSCTL")/../lib/libvirtuos.so}
	bad_configs "$T"
	for f in "$T"/bad-*.conf; do
		"$VOSCTL" local run --config "$f" -- true 2> "$T/vosctl.err"
		echo "vosctl: exit $?"
		sed 's/^vosctl: //' "$T/vosctl.err" > "$T/vosctl.msg"
		cat "$T/vosctl.msg"
		VOS_CONFIG=$f LD_PRELOAD=$lib /bin/true 2> "$T/lib.err"
		echo "libvirtuos: exit $?"
		sed 's/^libvirtuos: //' "$T/lib.err" > "$T/lib.msg"
		cmp -s "$T/vosctl.msg" "$T/lib.msg" && echo "same message"
	done
	printf 'service storage storage\nroute //storage/./ storage\n' > "$T/good.conf"
	"$VOSCTL" local run --config "$T/good.conf" -- sh -c 'echo routed > /storage/f && cat /storage/f'
	echo "good config: exit $?"
	printf 'service storage storage\nservice net network\nroute /storage storage\nroute /net net\n' \
		> "$T/network.conf"
	"$VOSCTL" local run --config "$T/network.conf" -- echo "must not run" 2> "$T/net.err"
	echo "network service with a path route: exit $?"
	grep '^vosctl: ' "$T/net.err"
}
expected() {
	for m in "17-routes.conf:18: too many routes (at most 16)" \
		 "dotdot.conf:3: route prefix '/a/../s' has a '..' component" \
		 "duplicate.conf:3: prefix '/s' is routed twice (first on line 2)" \
		 "old-syntax.conf:1: route to undeclared service 'storage' (declare it first: service storage storage|network)" \
		 "role.conf:1: service 's': unknown role 'disk' (roles: storage, network)" \
		 "root.conf:2: route prefix '/' is / itself (that would route every path)" \
		 "undeclared.conf:2: route to undeclared service 'store' (declare it first: service store storage|network)"; do
		echo "vosctl: exit 2"
		echo "$T/bad-$m"
		echo "libvirtuos: exit 127"
		echo "same message"
	done
	echo routed
	echo "good config: exit 0"
	echo "network service with a path route: exit 2"
	echo "vosctl: $T/network.conf:4: route /net: service 'net' has the network role, which takes route-family lines (route-family inet net)"
}
