#!/usr/bin/env bash
# t3140-launch-sshproxy-netns: the sshproxy engine launcher starts all of
# a host's engines through one ssh connection: 3 engines on a network
# namespace "host" (netns_up, as t3065) behind one ssh process, under
# one remote shell, all registered and running tasks there; the
# SSHLauncher.to_send file is copied by scp before they start and the
# to_fetch one back after.  Everything is configured in the profile's
# ipcluster_config.py.  "launch stop" leaves nothing running.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
netns_sshd
ok "sshd inside $NS on $NSA:$SSH_PORT"

# the namespace shares our file system: "remote" paths are visible here
echo "sent by to_send" >"$T_DIR/local.txt"
mkdir -p "$PROFILE"
cat >"$PROFILE/ipcluster_config.py" <<PYEOF
c.Cluster.engine_launcher_class = 'sshproxy'
c.Cluster.controller_ip = '$HOSTA'
c.Cluster.engine_timeout = 60
c.SSHProxyEngineSetLauncher.engines = {'$NSA': 3}
c.SSHLauncher.ssh_args = ['-tt', '-F', '$S/ssh_config']
c.SSHLauncher.scp_args = ['-F', '$S/ssh_config']
c.SSHLauncher.to_send = [('$T_DIR/local.txt', '$T_DIR/remote/sent.txt')]
c.SSHLauncher.to_fetch = [('$T_DIR/remote/sent.txt', '$T_DIR/back/fetched.txt')]
PYEOF
launch_cmd start --daemonize >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; tail "$PROFILE"/log/*.log; no "start (sshproxy)"; exit 1; }
check "3 engines registered" grep -q "registered: 3/3" "$T_DIR/out" ||
    { cat "$T_DIR/out"; exit 1; }
ok "3 engines in $NS registered"
check "to_send copied the file before the start" cmp -s "$T_DIR/local.txt" "$T_DIR/remote/sent.txt"
check "to_fetch copied it back" cmp -s "$T_DIR/local.txt" "$T_DIR/back/fetched.txt"

pids=$(launch_pids)
check "two processes recorded: the controller and one ssh" test "$(echo $pids | wc -w)" -eq 2
sshes=0
for p in $pids; do
	case "$(tr '\0' ' ' </proc/"$p"/cmdline)" in ssh\ *) sshes=$((sshes + 1)) ;; esac
done
check "one ssh process for the host" test $sshes -eq 1
engines=$(pgrep -f -- "^$T_TOP/engined/engined --profile-dir=$PROFILE" | tr '\n' ' ')
check "3 engine processes" test "$(echo $engines | wc -w)" -eq 3
parents=$(for p in $engines; do ps -o ppid= -p "$p"; done | sort -u | tr -d ' ')
check "under one remote shell" test "$(echo $parents | wc -w)" -eq 1
for p in $engines; do
	[ "$(ip netns identify "$p")" = "$NS" ] || no "engine $p is not in $NS"
done

$PY - "$PROFILE" "$NS" <<'PYEOF' || no "tasks on the namespace host"
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(3, timeout=30)
r = c[:].apply_sync(lambda: __import__("socket").gethostname())
assert r == [sys.argv[2]] * 3, r
print("ok - tasks ran on host", r[0])
c.close()
PYEOF

launch_cmd stop >/dev/null 2>&1 || no "stop"
# shellcheck disable=SC2086
check "stop ended the ssh session, the remote shell and the engines" \
    wait_for 15 pids_gone $pids $engines $parents
exit $fail
