#!/usr/bin/env bash
# t1200-hubd-scanned-records: hubd builds load-balanced task records from
# the raw message parts (scanned on the loop, stored as text with
# SQLite); the real Python client reads every field back, with SQLite
# and, in a second profile, with --dictdb, whose records are built from
# parsed trees.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_ipengines 2
echo "# sqlite"
$PY "$T_TOP/tests/py/records_check.py" "$PROFILE" || exit 1
PROFILE=$T_DIR/profile_dictdb
start_hubd --dictdb
start_ipengines 2
echo "# dictdb"
$PY "$T_TOP/tests/py/records_check.py" "$PROFILE" || exit 1
