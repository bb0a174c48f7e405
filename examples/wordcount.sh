#!/usr/bin/env bash
# wordcount.sh - parallel word count through ippfs.
# usage: wordcount.sh MOUNTPOINT FILE
# Splits FILE into one chunk per live engine, pushes each chunk as raw
# bytes into engines/N/ns/chunk.raw, counts words on the engines with
# engines/N/exec, and adds the results up.
set -eu
mnt=$1 file=$2
engines=()
while read -r id state _; do
	[ "$state" = dead ] || engines+=("$id")
done < "$mnt/engines/index"
n=${#engines[@]}
[ "$n" -gt 0 ] || { echo "wordcount: no engines" >&2; exit 1; }
lines=$(wc -l < "$file")
per=$(((lines + n - 1) / n))
ids=()
for i in "${!engines[@]}"; do
	e=${engines[$i]}
	tail -n +$((i * per + 1)) "$file" | head -n "$per" > "$mnt/engines/$e/ns/chunk.raw"
	exec 3<>"$mnt/engines/$e/exec"
	printf 'len(chunk.split())\n' >&3
	read -r id <&3
	exec 3>&-
	ids+=("$id")
done
total=0
for id in "${ids[@]}"; do
	total=$((total + $(cat "$mnt/tasks/$id/result")))
done
echo "$total"
