#!/usr/bin/env bash
# t3180-launch-ssh-controller: "launch start --controller=ssh" runs hubd
# on another "host" (a network namespace with its own sshd, netns_sshd)
# bound to that host's loopback, which this host cannot reach.  One ssh
# starts it in a remote profile directory and brings its connection
# files back; the files name the ssh server, so launch's own watch and
# the local engined engines reach the controller through ssh tunnels.  A
# real Python Client in the namespace runs a task on them; "launch
# engines" and "launch list" work through ssh too, the latter checking
# the remote PID's start time.  "launch stop" ends hubd there by its PID
# and the engines here, and no ssh process is left.  In the foreground:
# to_fetch pairs copied with scp, SIGINT stopping all, and a controller
# killed there noticed (poll_seconds).  A controller that fails there
# shows its log.  Skipped without root, ip netns or openssh-server.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
netns_sshd
# the private sshd's client settings for ssh and scp: wrappers first on
# PATH, as a user's ~/.ssh/config would be
mkdir -p "$T_DIR/bin"
for p in ssh scp; do
	printf '#!/bin/sh\nexec /usr/bin/%s -F "%s" "$@"\n' "$p" "$S/ssh_config" \
	    >"$T_DIR/bin/$p"
	chmod +x "$T_DIR/bin/$p"
done
export PATH=$T_DIR/bin:$PATH
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
REMOTE=$T_DIR/remote-profile
# ssh processes using the private config: the tunnels and launch's own
our_ssh() { pgrep -f -- "-F $S/ssh_config" | tr '\n' ' '; }

launch_cmd start --daemonize --controller=ssh -n 2 --timeout=60 \
    --SSHControllerLauncher.location="$NSA" \
    --SSHControllerLauncher.remote_profile_dir="$REMOTE" \
    >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; tail "$PROFILE"/log/*.log "$REMOTE"/log/*.log; no "start --controller=ssh"; exit 1; }
check "both engines registered through launch's tunnel" \
    grep -q "registered: 2/2" "$T_DIR/out"

state=$PROFILE/security/cluster-.json
HUB=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller"]["state"]["remote_pid"])' "$state")
# whatever happens below, the test leaves no hubd in the namespace
T_HOOKS+=("kill -KILL $HUB 2>/dev/null")
is "hubd runs in the namespace" "$NS" ip netns identify "$HUB"
check "with the remote profile directory" \
    grep -q -- "--profile-dir=$REMOTE" "/proc/$HUB/cmdline"
check "its log is in the remote profile" test -s "$REMOTE/log/ipcontroller.log"
is "the fetched client file names the ssh server" "$NSA tcp://127.0.0.1 $NSA" \
    $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["ssh"], d["interface"], d["location"])' \
    "$PROFILE/security/ipcontroller-client.json"
check "the fetched engine file is the remote one" \
    cmp "$REMOTE/security/ipcontroller-engine.json" "$PROFILE/security/ipcontroller-engine.json"
reg=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["registration"])' \
    "$PROFILE/security/ipcontroller-engine.json")
check "the controller cannot be reached directly from here" \
    bash -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/$NSA/$reg' 2>/dev/null"

engines=$(pgrep -f -- "^$T_TOP/engined/engined --profile-dir=$PROFILE" | tr '\n' ' ')
is "two engines here" 2 eval 'echo $engines | wc -w'
tunnels=$(our_ssh)
is "an ssh tunnel per engine, launch's own closed" 2 eval 'echo $tunnels | wc -w'

in_ns $PY - "$REMOTE" "$engines" <<'PYEOF' || no "tasks through the tunnels"
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=60)
r = c[:].apply_sync(lambda x: (__import__("os").getpid(), x * 7), 6)
assert sorted(p for p, _ in r) == sorted(map(int, sys.argv[2].split())), r
assert all(v == 42 for _, v in r), r
print("ok - a Client in the namespace ran a task on both engines")
c.close()
PYEOF

# one more set: "launch engines" watches the registrations through ssh too
launch_cmd engines -n 1 >"$T_DIR/engines.out" 2>&1 ||
    { cat "$T_DIR/engines.out"; no "launch engines -n 1"; }
check "a third engine registered" grep -q "registered: 3/3" "$T_DIR/engines.out"
check "launch list asks the host: the controller runs" \
    eval 'launch_cmd list | grep -Eq "True +3 local"'
# the PID there is checked against the start time recorded with it
cp "$state" "$T_DIR/state.saved"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); d["controller"]["state"]["remote_start_time"] += 1; json.dump(d, open(sys.argv[1], "w"))' "$state"
check "a PID there with another start time is not our controller" \
    eval 'launch_cmd list | grep -Eq "False +3 local"'
cp "$T_DIR/state.saved" "$state"
engines=$(pgrep -f -- "^$T_TOP/engined/engined --profile-dir=$PROFILE" | tr '\n' ' ')
tunnels=$(our_ssh)
is "three engines, three tunnels" "3 3" eval 'echo $(echo $engines | wc -w) $(echo $tunnels | wc -w)'

launch_cmd stop >"$T_DIR/stop.out" 2>&1 || { cat "$T_DIR/stop.out"; no "launch stop"; }
# shellcheck disable=SC2086
check "hubd there and the engines here ended" wait_for 15 pids_gone "$HUB" $engines
# shellcheck disable=SC2086
check "no ssh process is left" wait_for 10 pids_gone $tunnels
is "nor any other with our ssh config" "" our_ssh
check "the record is gone" test ! -e "$state"

# in the foreground, with to_fetch pairs (copied with scp): SIGINT to
# launch stops the controller there too
sec=security/ipcontroller
fetch="[[\"$REMOTE/$sec-client.json\", \"$PROFILE/$sec-client.json\"],"
fetch+=" [\"$REMOTE/$sec-engine.json\", \"$PROFILE/$sec-engine.json\"]]"
spawn fg "$LAUNCH" start --controller=ssh -n 1 --profile-dir="$PROFILE" \
    --SSHControllerLauncher.location="$NSA" \
    --SSHControllerLauncher.remote_profile_dir="$REMOTE" \
    --SSHControllerLauncher.to_fetch="$fetch"
FG=$SPAWNED
check "in the foreground: up with one engine" \
    wait_for 60 grep -q "is up: 1 engines" "$T_DIR/fg.log"
HUB=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller"]["state"]["remote_pid"])' "$state")
T_HOOKS+=("kill -KILL $HUB 2>/dev/null")
is "its controller runs in the namespace" "$NS" ip netns identify "$HUB"
check "the files came with scp" \
    cmp "$REMOTE/$sec-client.json" "$PROFILE/$sec-client.json"
engines=$(pgrep -f -- "^$T_TOP/engined/engined --profile-dir=$PROFILE" | tr '\n' ' ')
tunnels=$(our_ssh)
kill -INT "$FG"
# shellcheck disable=SC2086
check "SIGINT: launch, hubd there and the engine ended" \
    wait_for 20 pids_gone "$FG" "$HUB" $engines
# shellcheck disable=SC2086
check "and no ssh process is left" wait_for 10 pids_gone $tunnels
is "nor any with our ssh config" "" our_ssh

# the foreground launch asks the host now and then (poll_seconds): a
# controller killed there ends the cluster
spawn fg2 "$LAUNCH" start --controller=ssh -n 1 --profile-dir="$PROFILE" \
    --SSHControllerLauncher.location="$NSA" \
    --SSHControllerLauncher.remote_profile_dir="$REMOTE" \
    --SSHLauncher.poll_seconds=1
FG=$SPAWNED
check "in the foreground again" wait_for 60 grep -q "is up: 1 engines" "$T_DIR/fg2.log"
HUB=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["controller"]["state"]["remote_pid"])' "$state")
T_HOOKS+=("kill -KILL $HUB 2>/dev/null")
engines=$(pgrep -f -- "^$T_TOP/engined/engined --profile-dir=$PROFILE" | tr '\n' ' ')
tunnels=$(our_ssh)
kill -KILL "$HUB"
# shellcheck disable=SC2086
check "the controller killed there: launch and its engine end" \
    wait_for 20 pids_gone "$FG" $engines
check "saying so" grep -q "the controller of cluster '' is gone" "$T_DIR/fg2.log"
# shellcheck disable=SC2086
check "and no ssh process is left" wait_for 10 pids_gone $tunnels
check "nor the record" test ! -e "$state"

# a controller that fails there (an address not of that host): its
# log is shown, nothing is left
launch_cmd start --daemonize --controller=ssh -n 1 \
    --SSHControllerLauncher.location="$NSA" \
    --SSHControllerLauncher.remote_profile_dir="$REMOTE" \
    --ip=192.0.2.1 \
    >"$T_DIR/bad.out" 2>&1
is "a controller that exits there: start fails" 1 echo $?
check "saying so with its log" grep -q "exited before writing its connection files" \
    "$T_DIR/bad.out"
check "which says why" grep -q "cannot bind .*192.0.2.1" "$T_DIR/bad.out"
check "and no record is left" test ! -e "$state"
is "nor an ssh process" "" our_ssh
exit $fail
