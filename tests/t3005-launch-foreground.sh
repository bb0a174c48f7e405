#!/usr/bin/env bash
# t3005-launch-foreground: without --daemonize launch stays in the
# foreground like ipcluster and stops the whole cluster on SIGINT; a
# controller that dies takes the cluster down too.
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }

spawn launch "$LAUNCH" start -n 2 --profile-dir="$PROFILE"
lpid=$SPAWNED
wait_for 20 grep -q "is up" "$T_DIR/launch.log" || { cat "$T_DIR/launch.log"; exit 1; }
wait_engines 2 10 || exit 1
# engines added from another shell are stopped with the rest
launch_cmd engines -n 1 >/dev/null 2>&1 || { no "engines -n 1"; exit 1; }
pids=$(launch_pids)
[ "$(echo "$pids" | wc -l)" -eq 4 ] || { no "pids: $pids"; exit 1; }
grep -q "\"launch_pid\": $lpid" "$PROFILE/security/cluster-.json" ||
    { no "launch_pid recorded"; exit 1; }
kill -INT "$lpid"
wait_for 10 pids_gone "$lpid" || { no "launch did not exit"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "cluster left after SIGINT"; exit 1; }
[ ! -e "$PROFILE/security/cluster-.json" ] || { no "state file left"; exit 1; }
ok "SIGINT to a foreground launch stops the cluster"

spawn launch2 "$LAUNCH" start -n 1 --profile-dir="$PROFILE"
lpid=$SPAWNED
wait_for 20 grep -q "is up" "$T_DIR/launch2.log" || { cat "$T_DIR/launch2.log"; exit 1; }
pids=$(launch_pids)
kill -KILL "$(echo "$pids" | head -1)"
wait_for 10 pids_gone "$lpid" || { no "launch outlived its controller"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "engines left after the controller died"; exit 1; }
check "launch says the controller exited" grep -q "controller exited" "$T_DIR/launch2.log" ||
    { cat "$T_DIR/launch2.log"; exit 1; }
ok "a dead controller stops the foreground cluster"

# "launch stop" from another shell ends a foreground launch too
spawn launch3 "$LAUNCH" start -n 1 --profile-dir="$PROFILE"
lpid=$SPAWNED
wait_for 20 grep -q "is up" "$T_DIR/launch3.log" || { cat "$T_DIR/launch3.log"; exit 1; }
pids=$(launch_pids)
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
wait_for 10 pids_gone "$lpid" || { no "foreground launch outlived stop"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left after stop"; exit 1; }
ok "launch stop ends a foreground launch"

# SIGINT while engines are still coming up stops what was started
cat >"$T_DIR/slow-engine" <<'SH'
#!/bin/sh
exec sleep 30
SH
chmod +x "$T_DIR/slow-engine"
spawn launch4 "$LAUNCH" start -n 2 --profile-dir="$PROFILE" --engine-cmd="$T_DIR/slow-engine"
lpid=$SPAWNED
wait_for 20 grep -q "registered: 0/2" "$T_DIR/launch4.log" || { cat "$T_DIR/launch4.log"; exit 1; }
pids=$(launch_pids)
kill -INT "$lpid"
wait_for 10 pids_gone "$lpid" || { no "launch ignored SIGINT while starting"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left after SIGINT during start"; exit 1; }
check "launch says it was interrupted" grep -q "interrupted" "$T_DIR/launch4.log" ||
    { cat "$T_DIR/launch4.log"; exit 1; }
ok "SIGINT during start stops what was started"
exit $fail
