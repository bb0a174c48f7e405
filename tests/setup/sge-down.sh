#!/usr/bin/env bash
# tests/setup/sge-down.sh - stop what sge-up.sh STATE_DIR started: its
# jobs, then execd and qmaster (Grid Engine's own shutdown requests, then
# their recorded PIDs).  Bounded waits; a zombie counts as gone.
# usage: sge-down.sh STATE_DIR
S=$1
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
timeout 10 qdel -u "$(id -un)" '*' >/dev/null 2>&1
timeout 10 qconf -ke "$(hostname)" >/dev/null 2>&1
timeout 10 qconf -km >/dev/null 2>&1
for f in "$S/execd.pid" "$S/qmaster.pid"; do
	[ -s "$f" ] || continue
	p=$(cat "$f")
	for i in $(seq 100); do
		st=$(ps -o stat= -p "$p" 2>/dev/null) || continue 2
		case "$st" in Z*) continue 2 ;; esac
		[ "$i" = 50 ] && kill "$p" 2>/dev/null
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
done
exit 0
