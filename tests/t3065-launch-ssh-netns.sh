#!/usr/bin/env bash
# t3065-launch-ssh-netns: engines through ssh to a second "host": a
# network namespace this test creates, joined to the root namespace by a
# veth pair on a private /30 of 10.0.0.0/8 (nothing routed anywhere
# else), with its own sshd and host name.  The controller listens on the
# root side of the pair, the only address the namespace can reach (it
# cannot see the host's 127.0.0.1).  Checks that the engines really run
# in the namespace, run tasks, and are gone after stop; the namespace
# and the veth pair are deleted at exit.  Skipped without root, ip
# netns or openssh-server.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
netns_sshd
[ "$(ssh -F "$S/ssh_config" "$NSA" hostname)" = "$NS" ] ||
    { no "host name inside $NS"; exit 1; }
ok "sshd inside $NS on $NSA:$SSH_PORT"

launch_cmd start --daemonize --engines ssh --timeout=60 --ip="$HOSTA" \
    --SSHEngineSetLauncher.engines="{\"$NSA\": 2}" \
    --SSHLauncher.ssh_args="[\"-tt\", \"-F\", \"$S/ssh_config\"]" >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; tail "$PROFILE"/log/*.log; no "start --engines ssh"; exit 1; }
check "2 engines registered" grep -q "registered: 2/2" "$T_DIR/out" ||
    { cat "$T_DIR/out"; exit 1; }
grep -q "\"tcp://$HOSTA\"" "$PROFILE/security/ipcontroller-engine.json" ||
    { cat "$PROFILE/security/ipcontroller-engine.json"; no "engine file"; exit 1; }
ok "2 engines in $NS registered with the controller on $HOSTA"

engines=$(pgrep -f -- "^$T_TOP/engined/engined --profile-dir=$PROFILE" | tr '\n' ' ')
[ "$(echo $engines | wc -w)" -eq 2 ] || { no "engine processes: $engines"; exit 1; }
for p in $engines; do
	[ "$(ip netns identify "$p")" = "$NS" ] ||
	    { no "engine $p is not in $NS"; exit 1; }
done
ok "both engine processes run in $NS"

$PY - "$PROFILE" "$NS" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(2, timeout=30)
r = c[:].apply_sync(lambda: (__import__("socket").gethostname(), 6 * 7))
assert r == [(sys.argv[2], 42)] * 2, r
print("ok - tasks ran on host", r[0][0])
c.close()
PYEOF

pids=$(launch_pids)
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
# shellcheck disable=SC2086
wait_for 10 pids_gone $pids $engines || { no "processes left"; exit 1; }
ok "stop ended the ssh sessions and the engines in $NS"
exit $fail
