#!/usr/bin/env bash
# t3120-launch-closed-pipe: "launch start ... | tee log", then Ctrl-C.  The
# terminal sends SIGINT to the whole process group, so tee exits at once
# and launch's messages while stopping go to a pipe nobody reads: SIGPIPE
# and EPIPE must not end launch before it has stopped hubd, the engines
# and ippfs and unmounted; its messages are kept in the profile's
# log/ipcluster.log.
. "$(dirname "$0")/lib.sh"
need_python_ipp
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }
[ -c /dev/fuse ] || skip "no /dev/fuse"
MNT=$T_DIR/mnt
mkdir -p "$MNT"
T_HOOKS+=("mountpoint -q '$MNT' && { fusermount3 -u '$MNT' || umount -l '$MNT'; }")

# $1: what goes into the pipe ("2>&1": stdout and stderr; "": stdout only)
closed_pipe() {
	local redir=$1 what=$2 lpid pids
	rm -f "$PROFILE/log/ipcluster.log"
	# (a background job of a script starts with SIGINT ignored; a terminal's
	# foreground job does not)
	spawn "pipe$3" env --default-signal=INT,PIPE bash -c "'$LAUNCH' start -n 2 --profile-dir='$PROFILE' \
	    --mount '$MNT' $redir | tee '$T_DIR/seen$3'"
	wait_for 60 mountpoint -q "$MNT" || { cat "$T_DIR/pipe$3.log"; no "$what: up"; return; }
	wait_engines 2 30 || { no "$what: engines"; return; }
	lpid=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["cluster"]["launch_pid"])' \
	    "$PROFILE/security/cluster-.json")
	pids=$(launch_pids)
	# Ctrl-C as a terminal sends it: SIGINT to the foreground process group
	kill -INT -- "-$SPAWNED"
	if wait_for 30 pids_gone "$lpid" $pids >/dev/null; then
		ok "$what: Ctrl-C stopped launch, hubd, 2 engines and ippfs ($(echo $pids | wc -w) pids)"
	else
		no "$what: Ctrl-C left processes running"
		ps -o pid,stat,args -p "$lpid,$(echo $pids | tr ' ' ,)"
	fi
	if mountpoint -q "$MNT"; then
		no "$what: $MNT still mounted"
		fusermount3 -u "$MNT" || umount -l "$MNT"
	else
		ok "$what: $MNT unmounted"
	fi
	if grep -q "stopping cluster" "$PROFILE/log/ipcluster.log" 2>/dev/null; then
		ok "$what: profile log/ipcluster.log keeps the messages"
	else
		no "$what: no 'stopping cluster' in profile log/ipcluster.log"
	fi
	# whatever is left (the test must not leak a cluster into the next part)
	launch_cmd stop >/dev/null 2>&1
	for p in $pids $lpid; do kill -KILL "$p" 2>/dev/null; done
}
closed_pipe "2>&1" "stdout and stderr into the pipe" 1
closed_pipe "" "stdout into the pipe" 2
exit $fail
