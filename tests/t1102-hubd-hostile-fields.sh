#!/usr/bin/env bash
# t1102-hubd-hostile-fields: msg_ids of 300 bytes to 70 kB on task, mux
# and broadcast, routing ids of 1, 100 and 255 bytes, a 300-byte engine
# uuid, registration ids 9999999 and -5 and a 300-byte uuid: each is
# answered correctly or refused with an error reply, nothing stays
# pending, and hubd's RSS stays under 64 MiB.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 1
$PY "$T_TOP/tests/py/hostile.py" "$PROFILE" "$HUB_PID" fields ||
    no "odd field lengths handled"
kill -0 "$HUB_PID" 2>/dev/null || no "hubd still running"
exit $fail
