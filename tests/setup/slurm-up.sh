#!/usr/bin/env bash
# tests/setup/slurm-up.sh - a private single-node Slurm for tests:
# slurmctld and slurmd
# on 127.0.0.1 with their config, state, logs and pid files in STATE_DIR
# (SLURM_CONF points the client commands at it; /etc/slurm is not
# touched).  munged is started only when none runs, and recorded so that
# slurm-down.sh stops only what this script started.
# usage: slurm-up.sh STATE_DIR      exit 77 when Slurm cannot run here
set -eu
S=$1
command -v slurmctld >/dev/null && command -v munged >/dev/null ||
    { echo "slurm-wlm or munge is not installed"; exit 77; }
for port in 6817 6818; do
	if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
		echo "port $port is in use (another Slurm?)"; exit 77
	fi
done
NODE=$(hostname -s)
getent hosts "$NODE" >/dev/null || { echo "hostname '$NODE' does not resolve"; exit 77; }
MEM=$(awk '/MemTotal/{print int($2/1024)-512}' /proc/meminfo)
mkdir -p "$S"/spool/ctld "$S"/spool/d "$S"/log "$S"/run

# munge: the key and daemon are machine-wide; reuse a running one
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 0755 /run/munge
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key --force
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n >/dev/null 2>&1; then
	runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
	cp /run/munge/munged.pid "$S/run/munged.pid"
	for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null

cat >"$S/slurm.conf" <<CONF
ClusterName=ipptest
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$S/spool/ctld
SlurmdSpoolDir=$S/spool/d
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
InactiveLimit=0
MinJobAge=300
KillWait=2
Waittime=0
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=8 Sockets=1 CoresPerSocket=8 ThreadsPerCore=1 RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF=$S/slurm.conf
slurmctld -c -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 150); do
	case "$(sinfo -h -N -o '%T' 2>/dev/null)" in idle*|mixed*|alloc*) exit 0 ;; esac
	sleep 0.2
done
echo "slurm did not come up"; tail "$S"/log/*.log
exit 1
