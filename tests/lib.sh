# tests/lib.sh - shared setup for scenario tests (sourced, bash).
#
# Each test gets a scratch directory $T_DIR (removed at exit unless
# KEEP=1) with its own IPython profile, and every process it starts with
# spawn() runs in its own process group, recorded by PID and killed with
# its children at exit.  Waits are bounded: wait_for SECONDS CMD...
set -u
T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ipptest.XXXXXX")
T_PIDS=()
T_HOOKS=()	# commands run by t_cleanup before the processes are killed
PY=/usr/bin/python3
HUBD=$T_TOP/hubd/hubd
PROFILE=$T_DIR/profile
export IPYTHONDIR=$T_DIR/ipython
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH=$T_TOP/tests/py${PYTHONPATH:+:$PYTHONPATH}

t_cleanup() {
	local rc=$? pid hook
	for hook in "${T_HOOKS[@]}"; do
		eval "$hook" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL -- "-$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	done
	t_leftovers
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# kept $T_DIR"
	else
		rm -rf "$T_DIR"
	fi
	# a test that reported "not ok" fails, however it exits
	if [ "$rc" = 0 ] && [ "$fail" != 0 ]; then
		exit 1
	fi
}
trap t_cleanup EXIT

# t_leftovers: after the cleanup, any process whose command line names
# $T_DIR is one the test started and lost track of (an engine started in
# a $(...) subshell, say).  Left alive it would reconnect to ports a later
# test's controller may take, so it fails this test, by PID, and is killed.
# Processes get 5 s to finish exiting (children of a launcher that was
# just stopped).  grep reads the name from a pipe, so that its own
# command line does not hold it.
t_leftovers() {
	local f p cmd left=() i
	for i in $(seq 20); do
		left=()
		for f in $(grep -laFf <(printf '%s\n' "$T_DIR") \
		    /proc/[0-9]*/cmdline 2>/dev/null); do
			p=${f#/proc/}
			p=${p%/cmdline}
			[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] || left+=("$p")
		done
		[ ${#left[@]} -eq 0 ] && return 0
		sleep 0.25
	done
	for p in "${left[@]}"; do
		cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || continue
		no "the test left pid $p running: ${cmd:0:160}"
		kill -KILL "$p" 2>/dev/null
	done
}
trap 'exit 130' INT TERM

skip() {
	echo "SKIP: $*"
	exit 77
}

# spawn NAME CMD...: run CMD in its own process group, log to $T_DIR/NAME.log;
# sets SPAWNED to its PID.
spawn() {
	local name=$1
	shift
	setsid "$@" >"$T_DIR/$name.log" 2>&1 </dev/null &
	SPAWNED=$!
	T_PIDS+=("$SPAWNED")
}

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
	local limit=$1 t0
	shift
	t0=$(date +%s%N)
	until "$@" 2>/dev/null; do
		if [ $((($(date +%s%N) - t0) / 1000000)) -ge $((limit * 1000)) ]; then
			echo "# timed out after ${limit}s waiting for: $*"
			return 1
		fi
		sleep 0.05
	done
}

# The one way a test reports (TAP lines; tests/t0150 checks that no test
# prints its own).  ok WHAT / no WHAT / check WHAT CMD...: report a check
# and go on; a test built of them ends with "exit $fail", and one that
# said "not ok" fails however it exits (t_cleanup).  check and is return
# the check's status, so a test can stop where later steps need it:
#	check "started" launch_cmd start || { cat log; exit 1; }
# or use "{ no WHAT; exit 1; }" where the failure is the branch taken.
fail=0
ok() { echo "ok - $*"; }
no() { echo "not ok - $*"; fail=1; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else no "$what"; return 1; fi
}
# is WHAT EXPECTED CMD...: check that the output of CMD (stdout and
# stderr) equals EXPECTED, showing both when not
is() {
	local what=$1 want=$2 got
	shift 2
	got=$("$@" 2>&1)
	if [ "$got" = "$want" ]; then ok "$what"; else
		no "$what"; echo "#   got:  '$got'"; echo "#   want: '$want'"
		return 1
	fi
}

need_python_ipp() {
	$PY -c 'import ipyparallel' 2>/dev/null ||
	    skip "python3-ipyparallel is not installed"
}

# start_hubd [ARGS...]: hubd on 127.0.0.1 with the test profile; waits
# for its connection files.  HUB_PID is set.
start_hubd() {
	[ -x "$HUBD" ] || { echo "hubd not built"; exit 1; }
	spawn hubd "$HUBD" --profile-dir="$PROFILE" --ip=127.0.0.1 "$@"
	HUB_PID=$SPAWNED
	wait_for 10 test -s "$PROFILE/security/ipcontroller-engine.json" ||
	    { cat "$T_DIR/hubd.log"; exit 1; }
	wait_for 10 test -s "$PROFILE/security/ipcontroller-client.json"
}

# restart_hubd NAME [ARGS...]: hubd again (the test stopped the first),
# logging to NAME.log; waits until it is ready.  HUB_PID is set.
restart_hubd() {
	local name=$1
	shift
	spawn "$name" "$HUBD" --profile-dir="$PROFILE" --ip=127.0.0.1 "$@"
	HUB_PID=$SPAWNED
	wait_for 20 grep -q "hubd ready" "$T_DIR/$name.log" ||
	    { cat "$T_DIR/$name.log"; exit 1; }
}

# client_done PID SECONDS: wait for a spawned Python client that prints
# TAP lines to client.log, show them, and fail on any "not ok".
client_done() {
	wait_for "$2" eval "! kill -0 $1" || no "client finished"
	cat "$T_DIR/client.log"
	! grep -q "^not ok" "$T_DIR/client.log" || fail=1
}

# start_ipcontroller [ARGS...]: the real controller, for comparisons.
start_ipcontroller() {
	spawn ipcontroller $PY -m ipyparallel.controller \
	    --profile-dir="$PROFILE" --ip=127.0.0.1 "$@"
	HUB_PID=$SPAWNED
	wait_for 30 test -s "$PROFILE/security/ipcontroller-engine.json" ||
	    { cat "$T_DIR/ipcontroller.log"; exit 1; }
}

# start_ipengines N: N real ipengines; ENGINE_PIDS holds their PIDs.
ENGINE_PIDS=()
start_ipengines() {
	local i
	for i in $(seq "$1"); do
		spawn "ipengine$i" $PY -m ipyparallel.engine \
		    --profile-dir="$PROFILE" --log-level=WARN
		ENGINE_PIDS+=("$SPAWNED")
	done
}

# wait_engines N [SECONDS]: until the controller reports N engines.
wait_engines() {
	$PY - "$PROFILE" "$1" "${2:-30}" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(int(sys.argv[2]), timeout=float(sys.argv[3]))
c.close()
PYEOF
}

# start_engined N [ARGS...]: N engined engines; ENGINE_PIDS holds PIDs.
ENGINED=$T_TOP/engined/engined
start_engined() {
	local i n=$1
	shift
	for i in $(seq "$n"); do
		spawn "engined$i" "$ENGINED" --profile-dir="$PROFILE" "$@"
		ENGINE_PIDS+=("$SPAWNED")
	done
}

# one_engine_py: hubd without task history (it would keep every buffer)
# and one engined, then the Python on stdin, run with t (a Tap), c (a
# Client) and e (engine 0, blocking) already made (its line numbers are
# 7 more than the test's); its failing, and the engine's end, fail the
# test.
one_engine_py() {
	start_hubd --nodb
	start_engined 1
	{ cat <<'PYEOF'
import sys, ipyparallel as ipp
from tap import Tap
t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=20)
e = c[0]
e.block = True
PYEOF
	  cat; } | $PY - "$PROFILE" || fail=1
	check "engine still running" kill -0 "${ENGINE_PIDS[0]}"
}

# mount_ippfs [ARGS...]: ippfs -f on $T_DIR/mnt (MNT) for the test profile;
# waits for the mount and unmounts it at exit.  IPPFS_PID is set.
IPPFS=$T_TOP/ippfs/ippfs
mount_ippfs() {
	[ -x "$IPPFS" ] || { echo "ippfs not built"; exit 1; }
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "fusermount3 is not installed"
	MNT=$T_DIR/mnt
	mkdir -p "$MNT"
	spawn ippfs "$IPPFS" --profile-dir="$PROFILE" -f "$@" "$MNT"
	IPPFS_PID=$SPAWNED
	T_HOOKS+=("fusermount3 -u '$MNT' || umount -l '$MNT'")
	wait_for 10 mountpoint -q "$MNT" ||
	    { cat "$T_DIR/ippfs.log"; exit 1; }
}

# interop_suites: the controller interop suite, then engine behaviour,
# driven by the real Python Client against the test profile's cluster.
interop_suites() {
	$PY "$T_TOP/tests/py/interop_hub.py" "$PROFILE" full || exit 1
	$PY "$T_TOP/tests/py/interop_engine.py" "$PROFILE" || exit 1
}

# ms: milliseconds now.  submit FILE CODE: write CODE to an ippfs code
# file (exec, tasks/new, ...) on one fd and print the task id read back.
ms() { echo $(($(date +%s%N) / 1000000)); }
submit() {
	local id
	exec 3<>"$1"; printf '%s\n' "$2" >&3; read -r id <&3; exec 3>&-
	echo "$id"
}

# ippfs_cluster N: hubd, N engined engines registered, and ippfs mounted
# on MNT, the working directory from then on.
ippfs_cluster() {
	start_hubd
	start_engined "$1"
	wait_engines "$1" || exit 1
	mount_ippfs
	cd "$MNT" || exit 1
}

# task_ends FD: the ids of the tasks whose end (done, failed, aborted,
# lost, timeout) the events file open on FD says, in its order; reads
# what is there now (poll(2) says when a read would block).
task_ends() {
	$PY - "$1" <<'EOF'
import os, select, sys
fd, data = int(sys.argv[1]), b""
while select.select([fd], [], [], 1.0)[0]:
    data += os.read(fd, 65536)
for line in data.decode().splitlines():
    f = line.split()
    if len(f) >= 4 and f[1] == "task" and f[3] in ("done", "failed", "aborted", "lost", "timeout"):
        print(f[2])
EOF
}

# --- launch (t3xxx) ---------------------------------------------------
# launch_cmd ARGS...: our ipcluster on the test profile.  launch_pids:
# the PIDs recorded in the cluster's pid file (read before stopping).
LAUNCH=$T_TOP/launch/launch
launch_cmd() {
	"$LAUNCH" "$@" --profile-dir="$PROFILE"
}
launch_pids() {
	cat "$PROFILE/pid/ipcluster${1:+-$1}.pid" 2>/dev/null
}
# pids_gone PID...: every PID has exited (zombies awaiting reaping count)
pids_gone() {
	local p st
	for p in "$@"; do
		st=$(ps -o stat= -p "$p" 2>/dev/null) || continue
		case "$st" in Z*) ;; *) echo "# pid $p still running ($st)"; return 1 ;; esac
	done
}

# batch_up SYSTEM: the private batch system of tests/setup/SYSTEM-up.sh,
# in BATCH_DIR=$T_DIR/SYSTEM, taken down by SYSTEM-down.sh at exit.
# Skips when SYSTEM-up.sh does (77); any other failure ends the test.
batch_up() {
	local sys=$1 rc
	BATCH_DIR=$T_DIR/$sys
	"$T_TOP/tests/setup/$sys-up.sh" "$BATCH_DIR" >"$T_DIR/$sys-up.log" 2>&1
	rc=$?
	[ $rc -eq 77 ] && skip "$(tail -1 "$T_DIR/$sys-up.log")"
	T_HOOKS+=("\"\$T_TOP/tests/setup/$sys-down.sh\" \"\$BATCH_DIR\"")
	[ $rc -eq 0 ] || { cat "$T_DIR/$sys-up.log"; no "$sys-up"; exit 1; }
}

# job_task N SECONDS VAR WHAT: wait up to SECONDS for N engines, run a
# task on each that reads the environment variable VAR its batch job
# sets, and fail unless every engine has it ("inside WHAT <value>").
job_task() {
	$PY - "$PROFILE" "$@" <<'PYEOF'
import sys, ipyparallel as ipp
n, secs, var, what = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(n, timeout=secs)
r = c[:].apply_sync(lambda v: __import__("os").environ.get(v), var)
assert all(r), r
print("ok - %d engines ran a task inside %s %s" % (len(r), what, r[0]))
c.close()
PYEOF
}

# first_job_id: the batch job id of the first engine set of the cluster.
first_job_id() {
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(list(d["engines"]["sets"].values())[0]["state"]["job_id"])' \
	    "$PROFILE/security/cluster-.json"
}

# launch_stop: "launch stop", then every PID the pid file listed has exited.
launch_stop() {
	local pids
	pids=$(launch_pids)
	launch_cmd stop >/dev/null 2>&1 || { no "stop"; return 1; }
	# shellcheck disable=SC2086
	pids_gone $pids
}

# batch_second_job: the 2 engines of the cluster's first job run a task
# ("task N", defined by the test), "launch engines -n 1" adds a second
# job, and then 3 engines do.
batch_second_job() {
	task 2 || return 1
	launch_cmd engines -n 1 >"$T_DIR/out" 2>&1 || { cat "$T_DIR/out"; return 1; }
	task 3 || return 1
	ok "engines -n 1 added a second job"
}

# gone PID: the process has exited (a zombie counts as gone).
gone() {
	[ ! -e "/proc/$1" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# sshd_up DIR ADDR [NETNS]: a private key-only sshd on ADDR:$SSH_PORT with
# its keys and config in DIR, run in the foreground (spawned, so killed at
# exit); with NETNS inside that network namespace, with the namespace's
# name as its host name (own UTS namespace).  Writes DIR/ssh_config for
# "ssh -F"; waits until a login works.  Needs root and openssh-server.
sshd_up() {
	local dir=$1 addr=$2 ns=${3:-} tag=${3:-lo}
	SSH_PORT=${SSH_PORT:-$((22000 + RANDOM % 1000))}
	mkdir -p "$dir" /run/sshd
	chmod 700 "$dir"
	[ -f "$dir/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/hostkey"
	[ -f "$dir/id" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/id"
	cp "$dir/id.pub" "$dir/authorized_keys"
	cat >"$dir/sshd_config.$tag" <<CONF
ListenAddress $addr:$SSH_PORT
HostKey $dir/hostkey
PidFile $dir/sshd.$tag.pid
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
CONF
	cat >"$dir/ssh_config" <<CONF
Host *
  User $(id -un)
  Port $SSH_PORT
  IdentityFile $dir/id
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 5
CONF
	if [ -n "$ns" ]; then
		# nsenter, not "ip netns exec", which remounts /sys
		spawn "sshd-$tag" nsenter --net="/run/netns/$ns" unshare --uts \
		    sh -c "hostname $ns && exec /usr/sbin/sshd -D -e -f $dir/sshd_config.$tag"
	else
		spawn "sshd-$tag" /usr/sbin/sshd -D -e -f "$dir/sshd_config.$tag"
	fi
	wait_for 10 ssh -F "$dir/ssh_config" "$addr" true ||
	    { cat "$T_DIR/sshd-$tag.log"; return 1; }
}

# need_sshd: skip unless a private sshd can run here.
need_sshd() {
	[ -x /usr/sbin/sshd ] || skip "no sshd (apt-get install openssh-server)"
	command -v ssh >/dev/null || skip "no ssh client"
	# with UsePAM no, OpenSSH refuses key logins to a locked account
	case "$(getent shadow "$(id -un)" | cut -d: -f2)" in
	'!'*) skip "account $(id -un) is locked" ;;
	esac
}

# netns_sshd: a host in a network namespace (netns_up) with sshd on it
# (sshd_up), its config in S=$T_DIR/ssh; exits the test when it fails.
netns_sshd() {
	need_sshd
	netns_up
	S=$T_DIR/ssh
	sshd_up "$S" "$NSA" "$NS" || { no "sshd in $NS"; exit 1; }
}

# ssh_wrapper: $T_DIR/bin/ssh runs ssh with the private sshd's client
# settings ($S/ssh_config), as a user's ~/.ssh/config would; SSHPATH puts
# it first on PATH for the programs that start ssh themselves.
ssh_wrapper() {
	mkdir -p "$T_DIR/bin"
	printf '#!/bin/sh\nexec /usr/bin/ssh -F "%s" "$@"\n' "$S/ssh_config" \
	    >"$T_DIR/bin/ssh"
	chmod +x "$T_DIR/bin/ssh"
	SSHPATH=$T_DIR/bin:$PATH
}

# hubd_ns NAME [ARGS...]: hubd inside NS on its loopback, located at NSA
# (ARGS name the ssh server: --ssh or --enginessh); waits until ready.
# HUB_PID is set.
hubd_ns() {
	local name=$1
	shift
	spawn "$name" nsenter --net="/run/netns/$NS" "$HUBD" \
	    --profile-dir="$PROFILE" --ip=127.0.0.1 --location="$NSA" \
	    --ping=200 "$@"
	HUB_PID=$SPAWNED
	wait_for 20 grep -q "hubd ready" "$T_DIR/$name.log" ||
	    { cat "$T_DIR/$name.log"; no "$name"; exit 1; }
}

# behind_ssh FILE: checks that connection file FILE (in $PROFILE/security)
# names the namespace's sshd as its ssh server and that its registration
# port cannot be reached from here without it; REG is that port.
behind_ssh() {
	local f=$PROFILE/security/$1
	is "$1 names the ssh server" "$NSA:$SSH_PORT" $PY -c \
	    'import json,sys; print(json.load(open(sys.argv[1]))["ssh"])' "$f"
	REG=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"])' "$f")
	check "the controller cannot be reached directly from here" \
	    bash -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/$NSA/$REG' 2>/dev/null"
}

# netns_up: a second "host" for ssh tests: a network namespace NS joined
# to the root namespace by a veth pair on a private /30 of 10.0.0.0/8
# (nothing routed anywhere else); HOSTA is the root side (where a
# controller must listen: the namespace cannot see 127.0.0.1), NSA the
# namespace's.  Deleted at exit.  Skips without root or ip/nsenter.
netns_up() {
	local vh vn net
	[ "$(id -u)" -eq 0 ] || skip "needs root for ip netns"
	command -v ip >/dev/null && command -v nsenter >/dev/null ||
	    skip "no ip/nsenter (apt-get install iproute2 util-linux)"
	NS=ippt$$ vh=ippt$$h vn=ippt$$n
	for _ in $(seq 20); do
		net=10.$((RANDOM % 200 + 50)).$((RANDOM % 256)).$((RANDOM % 64 * 4))
		ip -4 -o addr | grep -q "inet ${net%.*}\." || break
	done
	HOSTA=${net%.*}.$((${net##*.} + 1))
	NSA=${net%.*}.$((${net##*.} + 2))
	ip netns add "$NS" || skip "ip netns add failed (no CAP_SYS_ADMIN?)"
	T_HOOKS+=("ip link del '$vh'; ip netns del '$NS'")
	ip link add "$vh" type veth peer name "$vn" &&
	    ip link set "$vn" netns "$NS" &&
	    ip addr add "$HOSTA/30" dev "$vh" && ip link set "$vh" up &&
	    ip -n "$NS" addr add "$NSA/30" dev "$vn" &&
	    ip -n "$NS" link set "$vn" up && ip -n "$NS" link set lo up ||
	    { no "veth pair"; exit 1; }
	# the namespace reaches the root side and nothing else
	ip -n "$NS" route | grep -q default && { no "default route"; exit 1; }
	ok "namespace $NS at $NSA, root side $HOSTA"
}
