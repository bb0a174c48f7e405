#!/usr/bin/env bash
# t0151-long-uuid.sh - an engine uuid is kept whole up to IPP_UUID_MAX - 1
# bytes by every program (libipp/ipp.h): a real ipengine whose uuid (its
# session id) is 100 bytes registers with hubd, and ippfs shows the uuid
# whole, runs a task on it and learns its pid, both of which address the
# engine by that uuid.
. "$(dirname "$0")/lib.sh"
need_python_ipp
U=$(printf 'e%.0s' $(seq 92))-$(printf '%07d' $$)
[ ${#U} -eq 100 ] || { no "a 100-byte uuid to test with"; exit 1; }
start_hubd
spawn ipengine $PY -m ipyparallel.engine --profile-dir="$PROFILE" \
    --log-level=WARN --Session.session="$U"
ENGINE_PIDS+=("$SPAWNED")
wait_engines 1 60 || exit 1
mount_ippfs
cd "$MNT" || exit 1
is "engines/0/info shows the 100-byte uuid whole" "uuid $U" grep '^uuid ' engines/0/info
check "and so does engines/index" grep -q "^0 [a-z]* $U " engines/index
id=$(submit engines/0/exec '6 * 7')
is "a task sent to it by its uuid comes back" 42 cat "tasks/$id/result"
check "its pid, asked of it by its uuid, is known" \
    wait_for 30 grep -qx "pid ${ENGINE_PIDS[0]}" engines/0/info
cd / || exit 1
exit $fail
