#!/usr/bin/env bash
# t3060-launch-ssh: engines through ssh to 127.0.0.1, using a private
# sshd (key-only, own port, state in the test directory) that the test
# starts and stops itself.  SSHEngineSetLauncher.engines maps hosts to
# counts.  Skipped without openssh-server.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
[ -x /usr/sbin/sshd ] || skip "no sshd (apt-get install openssh-server)"
command -v ssh >/dev/null || skip "no ssh client"
# with UsePAM no, OpenSSH refuses key logins to a locked account
case "$(getent shadow root | cut -d: -f2)" in '!'*) skip "root account is locked" ;; esac

S=$T_DIR/ssh
PORT=$((22000 + RANDOM % 1000))
mkdir -p "$S" /run/sshd
chmod 700 "$S"
ssh-keygen -q -t ed25519 -N '' -f "$S/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$S/id"
cp "$S/id.pub" "$S/authorized_keys"
cat >"$S/sshd_config" <<CONF
ListenAddress 127.0.0.1:$PORT
HostKey $S/hostkey
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
MaxStartups 100:30:200
MaxSessions 100
CONF
spawn sshd /usr/sbin/sshd -D -e -f "$S/sshd_config"
cat >"$S/ssh_config" <<CONF
Host *
  User $(id -un)
  Port $PORT
  IdentityFile $S/id
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
CONF
wait_for 10 ssh -F "$S/ssh_config" 127.0.0.1 true ||
    { cat "$T_DIR/sshd.log"; echo "not ok - sshd"; exit 1; }
echo "ok - private sshd on 127.0.0.1:$PORT"

launch_cmd start --daemonize --engines ssh --timeout=60 \
    --SSHEngineSetLauncher.engines='{"127.0.0.1": 2}' \
    --SSHLauncher.ssh_args="[\"-tt\", \"-F\", \"$S/ssh_config\"]" >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; echo "not ok - start --engines ssh"; exit 1; }
grep -q "registered: 2/2" "$T_DIR/out" || { cat "$T_DIR/out"; exit 1; }
echo "ok - 2 engines over ssh"
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
[ -n "$engines" ] || { echo "not ok - no remote engine processes"; exit 1; }
launch_cmd stop >/dev/null 2>&1 || { echo "not ok - stop"; exit 1; }
# shellcheck disable=SC2086
wait_for 10 pids_gone $pids $engines || { echo "not ok - ssh engines left"; exit 1; }
echo "ok - stop ended the ssh sessions and the remote engines"
