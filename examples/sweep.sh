#!/usr/bin/env bash
# sweep.sh - parameter sweep through ippfs.
# usage: sweep.sh MOUNTPOINT [N]
# Defines a model on every engine (engines/all/exec), submits one task
# per parameter value in a single write to tasks/batch, waits for each
# (tasks/ID/wait) and prints "parameter result" lines.
set -eu
mnt=$1 n=${2:-10}
exec 3<>"$mnt/engines/all/exec"
printf 'def model(k):\n    return sum(i * i for i in range(k)) %% 1000003\n' >&3
mapfile -t setup <&3
exec 3>&-
for id in "${setup[@]}"; do
	cat "$mnt/tasks/$id/wait" > /dev/null
done
exec 3<>"$mnt/tasks/batch"
for k in $(seq "$n"); do
	printf 'model(%d)\n\036\n' $((k * 1000)) >&3
done
mapfile -t ids <&3
exec 3>&-
for i in "${!ids[@]}"; do
	printf '%d %s\n' $(((i + 1) * 1000)) "$(cat "$mnt/tasks/${ids[$i]}/result")"
done
