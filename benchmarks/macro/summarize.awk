#!/usr/bin/awk -f
# summarize.awk - one benchmark's samples (run.sh's raw.txt) into a CSV (path
# in -v csv=) and a Markdown table on stdout.  -v bench=NAME -v unit=UNIT.
#
#   SAMPLE <bench> <config> <native|ours> <rep> <value>
#   TARGET <bench> <config> <">=R" or "-">
#   STAT <bench> <config> <rep> requests=N notifies=N sleeps=N   (ours, VOS_STATS)
#   FAILED <bench> <config> <side> <rep>
#
# Values are rates (higher is better); ratio = ours median / native median;
# a configuration with a target ">=R" meets it if ratio >= R.  Configurations
# come in the order of their first sample.

function median(list,    v, n, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	lo = v[1]; hi = v[n]; cnt = n
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

$2 != bench { next }
$1 == "SAMPLE" {
	if (!(($3) in seen)) { seen[$3] = 1; order[++nc] = $3 }
	vals[$3, $4] = vals[$3, $4] " " $6
}
$1 == "TARGET" { target[$3] = $4 }
$1 == "FAILED" { failed[$3] = failed[$3] + 1 }
$1 == "STAT" {
	for (i = 5; i <= NF; i++) { split($i, kv, "="); st[kv[1]] = kv[2] }
	if (st["requests"] > 0) {
		notif[$3] = notif[$3] " " st["notifies"] / st["requests"]
		sleeps[$3] = sleeps[$3] " " st["sleeps"] / st["requests"]
	}
}

END {
	print "bench,config,unit,native_median,native_min,native_max,ours_median,ours_min,ours_max,ratio,target,met,reps,notifies_per_request" > csv
	printf "## %s\n\n", bench
	printf "Medians of the repetitions (min-max); ratio = ours / native; notif/req = notifications (client + service) per forwarded request, from VOS_STATS.\n\n"
	printf "| config | native %s | ours %s | ratio | target | met | notif/req |\n", unit, unit
	print "|---|---|---|---|---|---|---|"
	for (k = 1; k <= nc; k++) {
		c = order[k]
		if (!((c, "native") in vals) || !((c, "ours") in vals)) {
			printf "| %s | %s | %s | - | - | one side missing |  |\n", c, \
				((c, "native") in vals) ? "ok" : "FAILED", ((c, "ours") in vals) ? "ok" : "FAILED"
			continue
		}
		nm = median(vals[c, "native"]); nlo = lo; nhi = hi; n1 = cnt
		om = median(vals[c, "ours"]); olo = lo; ohi = hi; n2 = cnt
		ratio = nm > 0 ? om / nm : 0
		t = (c in target) ? target[c] : "-"
		met = "-"
		if (t ~ /^>=/) met = (ratio >= substr(t, 3) + 0) ? "yes" : "no"
		nr = (c in notif) ? sprintf("%.3g", median(notif[c])) : "-"
		reps = n1 < n2 ? n1 : n2
		printf "%s,%s,%s,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.3f,%s,%s,%d,%s\n", bench, c, unit, \
			nm, nlo, nhi, om, olo, ohi, ratio, t, met, reps, nr > csv
		printf "| %s | %.4g (%.4g-%.4g) | %.4g (%.4g-%.4g) | %.2f | %s | %s | %s |\n", c, \
			nm, nlo, nhi, om, olo, ohi, ratio, t, met == "no" ? "**no**" : met, nr
	}
	for (c in failed)
		printf "\n%d run(s) of %s failed (see the progress lines).\n", failed[c], c
}
