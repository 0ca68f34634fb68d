# sort with input and -o output on /storage (also in place), uniq, wc, head,
# tail, split, cut, paste.
body() {
	seq 1 30000 | awk '{ print ($1 * 7919) % 10007, "line", $1 }' > "$D/in"
	sort "$D/in" -o "$D/sorted"
	sort -n "$D/in" > "$D/numeric"
	sort -n -k3 "$D/sorted" -o "$D/sorted"
	cmp "$D/sorted" "$D/in" && echo "in-place numeric sort restored the input"
	sha256sum < "$D/numeric"
	cut -d' ' -f1 "$D/in" | sort | uniq -c | sort -rn | head -5
	sort -u -k1,1n "$D/in" | wc -l
	head -n 3 "$D/numeric"
	tail -n 3 "$D/numeric"
	tail -c 20 "$D/numeric"
	wc "$D/in" "$D/numeric"
	split -l 7000 "$D/numeric" "$D/part."
	ls "$D"
	cat "$D"/part.* | cmp - "$D/numeric" && echo "split parts join up"
	paste -d, "$D/part.aa" "$D/part.ab" | head -2
	sort -m "$D"/part.* | sha256sum
	sort "$D/nothere"
}
