#!/usr/bin/env bash
# tests/setup/sge-up.sh - a single-node (Son of) Grid Engine for tests:
# Debian's
# gridengine-* cell in /var/lib/gridengine, qmaster and execd on this
# host, queue all.q with 8 slots, jobs of root allowed, scheduling every
# second.  The cell is machine-wide (Grid Engine has no per-user state
# directory); the daemons this script starts are recorded in STATE_DIR
# so that sge-down.sh stops only those.
# usage: sge-up.sh STATE_DIR      exit 77 when Grid Engine cannot run here
#
# The packages are not installed here: gridengine-client and Debian's
# slurm-wlm-torque both provide /usr/bin/qsub and conflict, so the
# choice is the CI job's (scripts/deps.sh sge).
set -eu
S=$1
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
[ -x /usr/sbin/sge_qmaster ] && [ -x /usr/sbin/sge_execd ] &&
    command -v qconf >/dev/null ||
    { echo "gridengine-master/-exec/-client are not installed (scripts/deps.sh sge)"; exit 77; }
C=$SGE_ROOT/$SGE_CELL/common
[ -f "$C/bootstrap" ] || { echo "no Grid Engine cell in $C (installed without debconf preseeding?)"; exit 77; }
pgrep -x sge_qmaster >/dev/null && { echo "a qmaster already runs here"; exit 77; }
H=$(hostname)
getent hosts "$H" >/dev/null || { echo "host name '$H' does not resolve"; exit 77; }
mkdir -p "$S"
echo "$H" >"$C/act_qmaster"
# 127.0.0.1 reverse-resolves to "localhost" while gethostname() says $H;
# commlib refuses clients whose names differ unless they are aliases
echo "$H localhost" >"$C/host_aliases"
chown sgeadmin:sgeadmin "$C/act_qmaster" "$C/host_aliases"
mkdir -p /run/gridengine /var/spool/gridengine/execd
chown sgeadmin:sgeadmin /run/gridengine /var/spool/gridengine/execd

SGE_MASTER_PIDFILE=$S/qmaster.pid /usr/sbin/sge_qmaster
for _ in $(seq 100); do qstat >/dev/null 2>&1 && break; sleep 0.1; done
qstat >/dev/null || { echo "qmaster did not come up"; exit 1; }
W=$S/conf
mkdir -p "$W"
# root's jobs (min_uid 1000 by default fails them "before job"); the file
# must be called "global", execd reads it once, so before execd starts
qconf -sconf global | sed -e 's/^min_uid .*/min_uid 0/' \
    -e 's/^min_gid .*/min_gid 0/' >"$W/global"
qconf -Mconf "$W/global" >/dev/null
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
    -e 's/^flush_submit_sec .*/flush_submit_sec 1/' \
    -e 's/^flush_finish_sec .*/flush_finish_sec 1/' >"$W/sched"
qconf -Msconf "$W/sched" >/dev/null
qconf -sh | grep -qx "$H" || qconf -ah "$H" >/dev/null
qconf -ss 2>/dev/null | grep -qx "$H" || qconf -as "$H" >/dev/null
printf 'hostname %s\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' \
    "$H" >"$W/ehost"
qconf -sel 2>/dev/null | grep -qx "$H" || qconf -Ae "$W/ehost" >/dev/null
# every qconf -a* form opens an editor: files only
{
	printf 'qname all.q\nhostlist %s\nseq_no 0\nload_thresholds NONE\n' "$H"
	printf 'suspend_thresholds NONE\nnsuspend 1\nsuspend_interval 00:05:00\n'
	printf 'priority 0\nmin_cpu_interval 00:05:00\nprocessors UNDEFINED\n'
	printf 'qtype BATCH INTERACTIVE\nckpt_list NONE\npe_list NONE\nrerun FALSE\n'
	printf 'slots 8\ntmpdir /tmp\nshell /bin/sh\nprolog NONE\nepilog NONE\n'
	printf 'shell_start_mode posix_compliant\nstarter_method NONE\n'
	printf 'suspend_method NONE\nresume_method NONE\nterminate_method NONE\n'
	printf 'notify 00:00:60\nowner_list NONE\nuser_lists NONE\nxuser_lists NONE\n'
	printf 'subordinate_list NONE\ncomplex_values NONE\nprojects NONE\n'
	printf 'xprojects NONE\ncalendar NONE\ninitial_state default\n'
	for l in s_rt h_rt s_cpu h_cpu s_fsize h_fsize s_data h_data s_stack \
	    h_stack s_core h_core s_rss h_rss s_vmem h_vmem; do
		printf '%s INFINITY\n' "$l"
	done
} >"$W/queue"
if qconf -sql 2>/dev/null | grep -qx all.q; then
	qconf -Mq "$W/queue" >/dev/null
else
	qconf -Aq "$W/queue" >/dev/null
fi
/usr/sbin/sge_execd
# execd writes its pid file in its spool directory
for _ in $(seq 50); do
	[ -s "/var/spool/gridengine/execd/$H/execd.pid" ] && break
	sleep 0.1
done
cp "/var/spool/gridengine/execd/$H/execd.pid" "$S/execd.pid" 2>/dev/null || true
for _ in $(seq 150); do
	line=$(qstat -f -q all.q 2>/dev/null | grep "^all.q@" || true)
	load=$(echo "$line" | awk '{ print $4 }')
	st=$(echo "$line" | awk '{ print $6 }')
	[ -n "$line" ] && [ "$load" != "-NA-" ] && [[ "$st" != *u* ]] && exit 0
	sleep 0.2
done
echo "execd did not report"; qstat -f
exit 1
