#!/usr/bin/env bash
# t3161-ippfs-ssh-tunnel: ippfs mounts a cluster it reaches only through
# ssh.  hubd listens on the loopback of a network namespace "host"
# (netns_up) with its engine there too; this host reaches it only
# through that host's sshd, named in ipcontroller-client.json (hubd
# --ssh).  ippfs opens an ssh tunnel (a child ssh process) and runs
# code through it (exec -> result); an ssh killed is started again; hubd
# killed with SIGKILL and started again with --reuse, the mount serves
# again; unmounted, ippfs leaves no ssh process behind.  Skipped without
# root, ip netns, openssh-server or FUSE.
# timeout: 240
. "$(dirname "$0")/lib.sh"
need_python_ipp
netns_sshd
# the private sshd's client settings for ippfs's ssh: a wrapper first
# on PATH, as a user's ~/.ssh/config would do
ssh_wrapper

hubd_ns hubd --ssh="$NSA:$SSH_PORT"
behind_ssh ipcontroller-client.json
spawn engined1 nsenter --net="/run/netns/$NS" "$ENGINED" \
    --profile-dir="$PROFILE" --log-level=info
wait_for 30 grep -q "registered as engine 0" "$T_DIR/engined1.log" ||
    { cat "$T_DIR/engined1.log"; no "engine in $NS"; exit 1; }

PATH=$SSHPATH mount_ippfs
tunnel() { ps -o pid= --ppid "$IPPFS_PID" | tr -d ' '; }
SSH1=$(tunnel)
check "ippfs has an ssh child" test -n "$SSH1"
check "forwarding to the controller's loopback" \
    grep -q "127.0.0.1:[0-9]*:127.0.0.1:$REG" "/proc/$SSH1/cmdline"
check "/status shows the tunnel's end" grep -q "^hub tcp://127.0.0.1:" "$MNT/status"

# run WHAT: 6 * 7 on engine 0 through the mount (never the working
# directory here: the processes spawned would hold it busy)
run() {
	local id
	id=$(submit "$MNT/engines/0/exec" '6 * 7') || { no "$1: exec"; return; }
	is "$1: exec -> result" 42 timeout 20 cat "$MNT/tasks/$id/result"
}
run "first mount"

kill -KILL "$SSH1"
wait_for 20 eval 'p=$(tunnel); [ -n "$p" ] && [ "$p" != "$SSH1" ]' &&
    ok "a killed tunnel is opened again" || no "a killed tunnel is opened again"
SSH2=$(tunnel)
# ZeroMQ reconnects on its own to the same local ports: ippfs's 6
# sockets through the new ssh, beside its own connection to sshd.  (What
# the controller publishes before ippfs's SUBs are back is lost, as for
# any ZeroMQ subscriber: wait for them.)
carried() { [ "$(ss -Htnp state established | grep -c "pid=$SSH2,")" -ge 7 ]; }
check "ippfs's sockets reconnected through it" wait_for 30 carried
# connected is not yet subscribed: the SUBs' subscriptions reach hubd a
# moment after the handshake, and a result published before is not seen
# (ippfs(1), SSH tunnels).  An exec whose result arrives says they have.
subscribed() {
	local id
	id=$(submit "$MNT/engines/0/exec" '6 * 7') &&
	    [ "$(timeout 20 cat "$MNT/tasks/$id/result")" = 42 ]
}
check "results arrive through it again" wait_for 30 subscribed
run "tunnel re-opened"

kill -KILL "$HUB_PID"
wait_for 5 gone "$HUB_PID" || no "hubd killed"
hubd_ns hubd2 --ssh="$NSA:$SSH_PORT" --reuse
check "the engine is back with the new controller" wait_for 30 \
    grep -q "engine 0 registered" "$T_DIR/hubd2.log"
run "controller restarted"

fusermount3 -u "$MNT" && ok "unmounted" || { no "unmounted"; fuser -vm "$MNT"; }
check "ippfs ended" wait_for 10 gone "$IPPFS_PID"
check "no ssh process is left" wait_for 10 pids_gone "$SSH1" "$SSH2"
check "ippfs closed its tunnel" grep -q "ssh tunnel to .* closed" "$T_DIR/ippfs.log"
exit $fail
