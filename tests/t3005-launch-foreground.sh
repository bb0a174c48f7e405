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
pids=$(launch_pids)
grep -q "\"launch_pid\": $lpid" "$PROFILE/security/cluster-.json" ||
    { echo "not ok - launch_pid recorded"; exit 1; }
kill -INT "$lpid"
wait_for 10 pids_gone "$lpid" || { echo "not ok - launch did not exit"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { echo "not ok - cluster left after SIGINT"; exit 1; }
[ ! -e "$PROFILE/security/cluster-.json" ] || { echo "not ok - state file left"; exit 1; }
echo "ok - SIGINT to a foreground launch stops the cluster"

spawn launch2 "$LAUNCH" start -n 1 --profile-dir="$PROFILE"
lpid=$SPAWNED
wait_for 20 grep -q "is up" "$T_DIR/launch2.log" || { cat "$T_DIR/launch2.log"; exit 1; }
pids=$(launch_pids)
kill -KILL "$(echo "$pids" | head -1)"
wait_for 10 pids_gone "$lpid" || { echo "not ok - launch outlived its controller"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { echo "not ok - engines left after the controller died"; exit 1; }
grep -q "controller exited" "$T_DIR/launch2.log" || { cat "$T_DIR/launch2.log"; exit 1; }
echo "ok - a dead controller stops the foreground cluster"
