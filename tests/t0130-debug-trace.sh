#!/usr/bin/env bash
# t0130-debug-trace.sh - --log-level=debug prints one line per message in
# and out of hubd, engined and ippfs, from libipp's one printer
# (libipp/trace.c): an exec through ippfs is followed by its msg_id from
# ippfs out, through hubd in and out, to engined in, and its reply back.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --log-level=debug
start_engined 1 --log-level=debug
wait_engines 1 || exit 1
mount_ippfs --log-level=debug
cd "$MNT" || exit 1

echo '6 * 7' > engines/0/exec
check "the exec ran" test "$(cat tasks/1/result)" = 42
cd / || exit 1
# the request's msg_id, from the line ippfs printed when it sent it
id=$(awk '/msg out .* execute_request id=/ { sub(/.*execute_request id=/, "");
	sub(/ .*/, ""); print; exit }' "$T_DIR/ippfs.log")
check "ippfs traced the execute_request it sent" test -n "$id"
echo "# msg_id $id"
traced() { # FILE DIR TYPE FIELD: a line for the message going DIR
	grep -q "msg $2 .* $3 .*$4=$id " "$T_DIR/$1"
}
check "hubd traced it in" traced hubd.log in execute_request id
check "hubd traced it out" traced hubd.log out execute_request id
check "engined traced it in" traced engined1.log in execute_request id
check "engined traced the reply out" traced engined1.log out execute_reply parent
check "hubd traced the reply in and out" sh -c \
    "grep -c 'msg .* execute_reply .*parent=$id ' '$T_DIR/hubd.log' | grep -qx 2"
check "ippfs traced the reply in" traced ippfs.log in execute_reply parent
check "iopub status traced in engined" \
    grep -q 'msg out PUB .* status id=.* parent='"$id " "$T_DIR/engined1.log"
check "trace lines give parts and bytes" \
    grep -Eq 'msg in  ROUTER tcp://127\.0\.0\.1:[0-9]+ execute_request id=[^ ]+ parent=[^ ]+ ids=[0-9]+ parts=[0-9]+ bytes=[0-9]+$' \
    "$T_DIR/hubd.log"
# one line per message: every traced line of hubd is a whole record
check "no message traced twice in one direction by hubd" sh -c \
    "test \$(grep -c 'msg in .* execute_request id=$id ' '$T_DIR/hubd.log') = 1"
exit $fail
