#!/usr/bin/env bash
# t3160-engined-ssh-tunnel: engines reach a controller only through ssh.
# hubd listens on the loopback of a network namespace "host" (netns_up)
# that this host reaches only through that host's sshd, and writes the
# ssh server into ipcontroller-engine.json (--enginessh).  Two engined
# engines on this host each open an ssh tunnel (a child ssh process),
# register through it and run tasks for a real Python Client (run inside
# the namespace, where the controller is local).  An ssh killed is
# started again; hubd killed with SIGKILL and started again with --reuse
# gets both engines back.  Ended with SIGTERM and SIGKILL, the engines
# leave no ssh process behind.  Skipped without root, ip netns or
# openssh-server.  Also: --sshserver overrides the file, and an ssh that
# cannot connect ends the engine with status 1.
# timeout: 240
. "$(dirname "$0")/lib.sh"
need_python_ipp
netns_sshd
# the private sshd's client settings (port, key, no known_hosts) for the
# engines' ssh: a wrapper first on PATH, as a user's ~/.ssh/config would
ssh_wrapper
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }

hubd_ns hubd --enginessh="$NSA:$SSH_PORT" --log-level=info
behind_ssh ipcontroller-engine.json

# --sshserver wins over the file; an ssh that fails ends the engine
PATH=$SSHPATH timeout 40 "$ENGINED" --profile-dir="$PROFILE" \
    --sshserver=127.0.0.1:1 >"$T_DIR/bad.log" 2>&1
is "an unreachable --sshserver: exit status 1" 1 echo $?
check "saying why" grep -q "cannot reach the controller .* through ssh to '127.0.0.1:1'" \
    "$T_DIR/bad.log"

# A local port taken by someone else between the engine choosing it and
# its ssh binding it (another engine choosing at the same moment gets
# ports this one just released in about one start in a hundred): the
# ssh exits, and the engine tries other ports rather than taking the
# other process's listener for its own tunnel.  The first ssh this
# engine starts finds its last forward's port held by a listener.
mkdir -p "$T_DIR/steal"
cat >"$T_DIR/steal/ssh" <<'EOF'
#!/bin/sh
if mkdir "$STEAL/taken" 2>/dev/null; then
	for a; do
		p=${a#127.0.0.1:}
		[ "$p" = "$a" ] || last=${p%%:*}
	done
	"$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
open(sys.argv[2], "w").write("%d\n" % s.getsockname()[1]); time.sleep(600)' \
	    "$last" "$STEAL/taken/port" </dev/null >/dev/null 2>&1 &
	echo $! >"$STEAL/taken/pid"
	i=0
	while [ ! -s "$STEAL/taken/port" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
fi
exec "$REAL_SSH" "$@"
EOF
chmod +x "$T_DIR/steal/ssh"
spawn engined0 env PATH="$T_DIR/steal:$SSHPATH" STEAL="$T_DIR/steal" \
    REAL_SSH="$T_DIR/bin/ssh" PY="$PY" "$ENGINED" \
    --profile-dir="$PROFILE" --log-level=info
ENGINE0=$SPAWNED
wait_for 20 test -s "$T_DIR/steal/taken/port" || no "the first ssh's port was taken"
THIEF=$(cat "$T_DIR/steal/taken/pid" 2>/dev/null)
check "the engine registers all the same" \
    wait_for 60 grep -q "engine 0 registered" "$T_DIR/hubd.log"
check "saying why it moved" \
    grep -q "local port [0-9]* was taken by another process; trying other" \
    "$T_DIR/engined0.log"
kill -TERM "$ENGINE0" "$THIEF" 2>/dev/null
check "the first engine ended" wait_for 15 pids_gone "$ENGINE0" "$THIEF"
check "hubd saw it go" \
    wait_for 15 grep -q "engine 0 unregistered" "$T_DIR/hubd.log"

for i in 1 2; do
	spawn "engined$i" env PATH="$SSHPATH" "$ENGINED" \
	    --profile-dir="$PROFILE" --log-level=info
	ENGINE_PIDS+=("$SPAWNED")
done
# tunnel PID: the ssh child of engine PID
tunnel() { ps -o pid= --ppid "$1" | tr -d ' '; }
for p in "${ENGINE_PIDS[@]}"; do
	wait_for 30 eval '[ -n "$(tunnel '"$p"')" ]' || no "engine $p has an ssh child"
done
SSH1=$(tunnel "${ENGINE_PIDS[0]}") SSH2=$(tunnel "${ENGINE_PIDS[1]}")
check "the child is ssh forwarding to the controller's loopback" \
    grep -q "127.0.0.1:[0-9]*:127.0.0.1:$REG" "/proc/$SSH1/cmdline"

# tasks N WHAT: a Client in the namespace sees N engines, the engined
# processes, and runs a task on each
tasks() {
	in_ns $PY - "$PROFILE" "$1" "${ENGINE_PIDS[*]}" "$2" <<'PYEOF'
import os, sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(int(sys.argv[2]), timeout=60)
r = c[:].apply_sync(lambda x: (__import__("os").getpid(), x * 7), 6)
pids = sorted(p for p, _ in r)
assert pids == sorted(map(int, sys.argv[3].split())), (pids, sys.argv[3])
assert all(v == 42 for _, v in r), r
print("ok - %s: %d engines ran tasks through their tunnels" % (sys.argv[4], len(r)))
c.close()
PYEOF
}
tasks 2 "first start" || no "tasks through the tunnels"

# an ssh that dies is started again, on the same local ports
kill -KILL "$SSH1"
wait_for 20 eval 'p=$(tunnel ${ENGINE_PIDS[0]}); [ -n "$p" ] && [ "$p" != "$SSH1" ]' &&
    ok "a killed tunnel is opened again" || no "a killed tunnel is opened again"
check "the engine logged it" grep -q "ssh tunnel to .* killed by signal 9" \
    "$T_DIR/engined1.log"
SSH1B=$(tunnel "${ENGINE_PIDS[0]}")
tasks 2 "tunnel re-opened" || no "tasks after the tunnel was re-opened"

# the controller goes away and comes back on the same ports
kill -KILL "$HUB_PID"
wait_for 5 gone "$HUB_PID" || no "hubd killed"
hubd_ns hubd2 --enginessh="$NSA:$SSH_PORT" --reuse
tasks 2 "controller restarted" || no "both engines back after hubd --reuse"

# stop: SIGTERM for one engine, SIGKILL for the other (its ssh dies with it)
SSH2=$(tunnel "${ENGINE_PIDS[1]}")
kill -TERM "${ENGINE_PIDS[0]}"
kill -KILL "${ENGINE_PIDS[1]}"
check "the engines ended" wait_for 15 pids_gone "${ENGINE_PIDS[@]}"
check "no ssh process is left" wait_for 10 pids_gone "$SSH1" "$SSH1B" "$SSH2"
check "the SIGTERMed engine closed its tunnel" grep -q "ssh tunnel to .* closed" \
    "$T_DIR/engined1.log"
exit $fail
