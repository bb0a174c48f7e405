#!/usr/bin/env bash
# t1250-hubd-scanned-relays: hubd's direct (mux), broadcast and iopub
# relays read their messages with the scanner, and broadcast makes its
# per-engine copies by splicing the request's texts; non-ASCII text takes
# the full decoder.  The real Python client and ipengines check results
# and records both ways (tests/py/relays_check.py says what), and hubd
# drops no message of theirs.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 2
$PY "$T_TOP/tests/py/relays_check.py" "$PROFILE" || exit 1
check "hubd dropped no message" eval '! grep "dropped" "$T_DIR/hubd.log"'
exit $fail
