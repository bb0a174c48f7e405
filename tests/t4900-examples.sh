#!/usr/bin/env bash
# t4900-examples.sh - every script in examples/ run against a mounted
# cluster (hubd + engined), with its output checked, so they cannot rot.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_engined 3
wait_engines 3 || exit 1
mount_ippfs
ex=$T_TOP/examples

for i in $(seq 300); do echo "the quick brown fox $i"; done > "$T_DIR/text"
out=$(timeout 60 "$ex/wordcount.sh" "$MNT" "$T_DIR/text")
[ "$out" = 1500 ] && ok "wordcount: $out" || no "wordcount gave '$out', want 1500"

out=$(timeout 60 "$ex/pi.sh" "$MNT" 6 100000)
case $out in 3.1[0-9]*) ok "pi: $out" ;; *) no "pi gave '$out'" ;; esac

out=$(timeout 60 "$ex/sweep.sh" "$MNT" 5)
want=$(for k in 1 2 3 4 5; do
	s=0; for ((i = 0; i < k * 1000; i++)); do s=$((s + i * i)); done
	echo "$((k * 1000)) $((s % 1000003))"; done)
[ "$out" = "$want" ] && ok "sweep" || { no "sweep"; echo "$out"; echo "want:"; echo "$want"; }

# seeing the work (issue 14): progress bar, timeline picture, metrics
exec 3<>"$MNT/tasks/batch"; printf '6 * 7\n\036\n1/0\n\036\nsum(range(5))\n' >&3
ids=$(cat <&3); exec 3>&-
out=$(PROGRESS_BAR=1 timeout 60 "$ex/progress.sh" "$MNT" $ids 2>/dev/null)
[ "$out" = "3 tasks: 2 done, 1 failed" ] && ok "progress: $out" || no "progress gave '$out'"
out=$(timeout 60 "$ex/timeline.sh" "$MNT" "$T_DIR/t.svg" 50)
case $out in [0-9]*" tasks, "*" 1 failed"*) ok "timeline: $out" ;; *) no "timeline gave '$out'" ;; esac
grep -q '</svg>' "$T_DIR/t.svg" && ok "timeline wrote the SVG" || no "timeline wrote the SVG"
if command -v chromium >/dev/null; then
	timeout 90 "$ex/timeline.sh" "$MNT" "$T_DIR/t.png" >/dev/null
	[ "$(head -c 8 "$T_DIR/t.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
	    ok "timeline drew a PNG" || no "timeline drew a PNG"
else
	echo "# skipped: timeline.sh to PNG (no chromium)"
fi
out=$(timeout 30 "$ex/metrics.sh" "$MNT")
case $out in "engines 3 up, tasks "*" failed 0 running, mean "*) ok "metrics: $out" ;; *) no "metrics gave '$out'" ;; esac
exit $fail
