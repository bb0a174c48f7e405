#!/usr/bin/env bash
# t4060-ippfs-kill9.sh - ippfs killed with SIGKILL: its blocked readers
# are freed, the dead mount fails with ENOTCONN until fusermount3 -u
# removes it, and the cluster's tasks keep running, as a new mount shows.
# timeout: 120
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 2
mounted() { grep -q " $MNT fuse" /proc/mounts; }

exec 3<>tasks/new
printf 'import time; time.sleep(4); "survived"\n' >&3
read -r id <&3
exec 3>&-
wait_for 10 grep -q '^running' tasks/$id/status || no "task running"
cat tasks/$id/wait > "$T_DIR/reader" 2>&1 &
reader=$!
wait_for 10 grep -qx 'parked 1' status || no "reader parked"
cd / || exit 1
kill -KILL "$IPPFS_PID"
wait_for 5 gone "$IPPFS_PID" && ok "ippfs is gone" || no "ippfs is gone"
wait_for 5 gone "$reader" && ok "the blocked reader was freed" ||
    no "the blocked reader was freed"
check "the reader failed" grep -q 'not connected' "$T_DIR/reader"
check "the dead mount is still there" mounted
check "it fails with ENOTCONN" bash -c "ls '$MNT' 2>&1 | grep -q 'not connected'"
fusermount3 -u "$MNT" && ok "fusermount3 -u" || no "fusermount3 -u"
check "the mount is gone" bash -c "! grep -q ' $MNT fuse' /proc/mounts"
for p in "$HUB_PID" "${ENGINE_PIDS[@]}"; do
	check "cluster process $p survived" kill -0 "$p"
done
mount_ippfs
cd "$MNT" || exit 1
check "a new mount lists the task" test -d tasks/$id
check "the task ran to its end" test "$(timeout 20 cat tasks/$id/result)" = "'survived'"
cd / || exit 1
exit $fail
