# sha256sum of files of many sizes (around the page and chunk boundaries),
# written on /storage from local data, and -c with a sum file on /storage.
body() {
	seq 1 1500000 > "$T/data"
	for n in 0 1 511 4095 4096 4097 65535 65536 65537 262144 1048575 1048577 5000000; do
		head -c $n "$T/data" > "$D/f$n"
	done
	cp "$T/data" "$D/whole"
	cp /usr/bin/bash "$D/bash"
	cd "$D" && sha256sum f* whole bash > "$D/SUMS"
	cat "$D/SUMS"
	sha256sum -c "$D/SUMS"
	cat "$D/whole" | sha256sum
	cmp "$D/whole" "$T/data" && echo "whole file equal"
	sha256sum < "$D/bash"
	sha256sum /usr/bin/bash | cut -d' ' -f1
}
