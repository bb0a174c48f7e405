#!/usr/bin/env bash
# progress.sh - wait for tasks with a progress bar, built only on the
# mount's tasks/waitall.
# usage: progress.sh MOUNTPOINT [ID...]
# With ids, waits for those tasks; without, for every task queued or
# running now.  tasks/waitall gives one "ID STATE DONE/TOTAL" line per
# task as it ends and end of file after the last; the bar is drawn on
# stderr (when it is a terminal, or always with PROGRESS_BAR=1), and a
# summary goes to stdout: "N tasks: D done, F failed ...".  Exits 1 if
# any task did not end done.
set -eu
mnt=$1
shift
width=40
bar=0
{ [ -t 2 ] || [ "${PROGRESS_BAR:-0}" = 1 ]; } && bar=1
declare -A count=()
exec 3<>"$mnt/tasks/waitall"
[ $# -gt 0 ] && echo "$*" >&3
n=0 total=0
while read -r id state frac <&3; do
	n=${frac%/*} total=${frac#*/}
	count[$state]=$((${count[$state]:-0} + 1))
	if [ $bar = 1 ]; then
		fill=$((n * width / total))
		printf '\r[%-*s] %d/%d  last: %s %s ' "$width" \
		    "$(printf '%*s' "$fill" '' | tr ' ' '#')" "$n" "$total" \
		    "$id" "$state" >&2
	fi
done
exec 3>&-
[ $bar = 1 ] && printf '\n' >&2
summary="$total tasks:"
sep=" "
for s in done failed aborted lost timeout purged; do
	[ -n "${count[$s]:-}" ] || continue
	summary="$summary$sep${count[$s]} $s"
	sep=", "
done
echo "$summary"
[ "${count[done]:-0}" = "$total" ]
