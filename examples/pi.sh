#!/usr/bin/env bash
# pi.sh - Monte Carlo estimate of pi through ippfs.
# usage: pi.sh MOUNTPOINT [TASKS] [SAMPLES]
# Submits TASKS load-balanced tasks with tasks/new, each counting how
# many of SAMPLES random points fall inside the unit circle, then
# combines the counts: pi ~= 4 * inside / (TASKS * SAMPLES).
set -eu
mnt=$1 ntasks=${2:-8} samples=${3:-200000}
ids=()
for _ in $(seq "$ntasks"); do
	exec 3<>"$mnt/tasks/new"
	printf 'import random\nsum(random.random()**2 + random.random()**2 < 1 for _ in range(%d))\n' \
	    "$samples" >&3
	read -r id <&3
	exec 3>&-
	ids+=("$id")
done
inside=0
for id in "${ids[@]}"; do
	inside=$((inside + $(cat "$mnt/tasks/$id/result")))
done
# four decimals with shell integer arithmetic
milli=$((40000 * inside / (ntasks * samples)))
printf '%d.%04d\n' $((milli / 10000)) $((milli % 10000))
