#!/usr/bin/env bash
# t3162-pyclient-ssh-tunnel: the real Python Client reaches hubd through
# ssh, as ipyparallel users do with a controller on a login node: hubd
# listens on the loopback of a network namespace "host" (netns_up) that
# this host reaches only through that host's sshd, named in
# ipcontroller-client.json (hubd --ssh).  ipp.Client(profile_dir=...)
# reads the file, opens its own tunnels with ssh and runs a direct and a
# load-balanced task on an engine inside the namespace.  The same is done
# with ipcontroller (--ssh), the reference.
# The Client's ssh tunnels (pyzmq's openssh_tunnel) run "ssh -f" under a
# pty; on a loaded machine the backgrounded ssh is now and then killed by
# the pty's hangup before it leaves the session (about one tunnel in three
# here, with either controller), so the Client's connection times out.
# With an ssh master connection in the user's config (ControlPath, a
# master started first), openssh_tunnel adds forwards to the master
# instead; this test does that, as users who see the hangup would.
# Skipped without root, ip netns, openssh-server or python3-pexpect.
# timeout: 240
. "$(dirname "$0")/lib.sh"
need_python_ipp
$PY -c 'import pexpect' 2>/dev/null ||
    skip "python3-pexpect is not installed (the Client's ssh tunnels need it)"
netns_sshd
# the private sshd's client settings for the Client's ssh: a wrapper
# first on PATH, as a user's ~/.ssh/config would do
ssh_wrapper
printf '  ControlPath %s/cm-%%C\n' "$T_DIR" >>"$S/ssh_config"
PATH=$SSHPATH ssh -M -N -f "$NSA" || { no "an ssh master to $NSA"; exit 1; }
master=$(PATH=$SSHPATH ssh -O check "$NSA" 2>&1 | sed -n 's/.*(pid=\([0-9]*\)).*/\1/p')
check "the ssh master runs" test -n "$master"
T_PIDS+=("$master")

# client WHAT: a Client on this host, through the tunnel
client() {
	PATH=$SSHPATH PYTHONFAULTHANDLER=1 timeout -s ABRT 120 \
	    $PY - "$PROFILE" "$1" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=30)
c.wait_for_engines(1, timeout=60)
d = c[0].apply_sync(lambda x: x * 6, 7)
lb = c.load_balanced_view().apply_async(lambda x: x + 1, 41).get(30)
ok = d == 42 and lb == 42
print(("ok" if ok else "not ok") + " - %s: a direct and a load-balanced task "
      "through the Client's ssh tunnel (%r, %r)" % (sys.argv[2], d, lb))
c.close()
PYEOF
}

# round NAME WHAT: the controller NAME runs in NS; an engine there too
round() {
	behind_ssh ipcontroller-client.json
	spawn "engine-$1" nsenter --net="/run/netns/$NS" "$ENGINED" \
	    --profile-dir="$PROFILE"
	local eng=$SPAWNED
	client "$2" > "$T_DIR/client-$1.log" 2>&1
	cat "$T_DIR/client-$1.log"
	grep -q "^ok - " "$T_DIR/client-$1.log" || no "$2"
	kill -TERM "$eng" "$HUB_PID"
	check "$1 and its engine ended" wait_for 20 pids_gone "$eng" "$HUB_PID"
}

base=$PROFILE
PROFILE=$base-ipc
spawn ipcontroller nsenter --net="/run/netns/$NS" $PY -m ipyparallel.controller \
    --profile-dir="$PROFILE" --ip=127.0.0.1 --location="$NSA" \
    --ssh="$NSA:$SSH_PORT"
HUB_PID=$SPAWNED
wait_for 30 test -s "$PROFILE/security/ipcontroller-client.json" ||
    { cat "$T_DIR/ipcontroller.log"; no "ipcontroller"; exit 1; }
round ipcontroller "ipcontroller"

PROFILE=$base-hubd
hubd_ns hubd --ssh="$NSA:$SSH_PORT"
round hubd "hubd"
PATH=$SSHPATH ssh -O exit "$NSA" 2>/dev/null
check "the ssh master ended" wait_for 10 pids_gone "$master"
exit $fail
