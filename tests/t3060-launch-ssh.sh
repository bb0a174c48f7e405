#!/usr/bin/env bash
# t3060-launch-ssh: engines through ssh to 127.0.0.1, using a private
# sshd (key-only, own port, state in the test directory) that the test
# starts and stops itself.  SSHEngineSetLauncher.engines maps hosts to
# counts.  Skipped without openssh-server.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
need_sshd
S=$T_DIR/ssh
sshd_up "$S" 127.0.0.1 || { no "sshd"; exit 1; }
ok "private sshd on 127.0.0.1:$SSH_PORT"

launch_cmd start --daemonize --engines ssh --timeout=60 \
    --SSHEngineSetLauncher.engines='{"127.0.0.1": 2}' \
    --SSHLauncher.ssh_args="[\"-tt\", \"-F\", \"$S/ssh_config\"]" >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; no "start --engines ssh"; exit 1; }
check "2 engines registered" grep -q "registered: 2/2" "$T_DIR/out" ||
    { cat "$T_DIR/out"; exit 1; }
ok "2 engines over ssh"
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(2, timeout=30)
assert c[:].apply_sync(lambda: 6 * 7) == [42, 42]
print("ok - ssh engines ran a task")
c.close()
PYEOF
pids=$(launch_pids)
engines=$(pgrep -f -- "engined --profile-dir=$PROFILE" | tr '\n' ' ')
[ -n "$engines" ] || { no "no remote engine processes"; exit 1; }
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
# shellcheck disable=SC2086
wait_for 10 pids_gone $pids $engines || { no "ssh engines left"; exit 1; }
ok "stop ended the ssh sessions and the remote engines"
exit $fail
