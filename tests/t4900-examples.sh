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
exit $fail
