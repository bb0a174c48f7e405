#!/usr/bin/env bash
# t3070-launch-mount: launch start --mount DIR mounts the cluster with
# ippfs and launch stop unmounts it.  Skipped without ippfs or FUSE.
. "$(dirname "$0")/lib.sh"
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
[ -x "$T_TOP/ippfs/ippfs" ] || skip "ippfs is not built"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"
mkdir -p "$T_DIR/mnt"
launch_cmd start -n 1 --daemonize --mount="$T_DIR/mnt" >"$T_DIR/out" 2>&1 ||
    { cat "$T_DIR/out"; no "start --mount"; exit 1; }
mountpoint -q "$T_DIR/mnt" || { no "not mounted"; exit 1; }
ls "$T_DIR/mnt" >/dev/null || { no "cannot list the mount"; exit 1; }
ok "mounted: $(ls "$T_DIR/mnt" | tr '\n' ' ')"
pids=$(launch_pids)
launch_cmd stop >/dev/null 2>&1 || { no "stop"; exit 1; }
mountpoint -q "$T_DIR/mnt" && { fusermount3 -u "$T_DIR/mnt"; no "still mounted"; exit 1; }
# shellcheck disable=SC2086
pids_gone $pids || { no "processes left after stop"; exit 1; }
ok "stop unmounted and stopped everything"
exit $fail
