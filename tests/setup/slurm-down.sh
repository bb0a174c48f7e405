#!/usr/bin/env bash
# tests/setup/slurm-down.sh - stop what slurm-up.sh STATE_DIR started, by
# pid file: its jobs, slurmd, slurmctld, and munged if it started it.
# Bounded waits; a zombie waiting for init to reap it counts as gone.
# usage: slurm-down.sh STATE_DIR
S=$1
export SLURM_CONF=$S/slurm.conf
stop() {
	local p st
	[ -s "$1" ] || return 0
	p=$(cat "$1")
	kill "$p" 2>/dev/null || return 0
	for _ in $(seq 100); do
		st=$(ps -o stat= -p "$p" 2>/dev/null) || return 0
		case "$st" in Z*) return 0 ;; esac
		sleep 0.05
	done
	kill -9 "$p" 2>/dev/null || true
}
[ -f "$SLURM_CONF" ] && timeout 10 scancel --user="$(id -un)" 2>/dev/null
stop "$S/run/slurmd.pid"
stop "$S/run/slurmctld.pid"
stop "$S/run/munged.pid"
exit 0
