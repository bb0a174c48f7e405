#!/usr/bin/env bash
# t2020-engined-data-path: push/pull of raw bytes and JSON without pickle
# (doc/data-path.md) on engined, and the clear error from an ipengine.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_engined 1
$PY "$T_TOP/tests/py/datapath.py" "$PROFILE" engined || exit 1
kill -TERM "${ENGINE_PIDS[0]}"
wait_for 10 eval "! kill -0 ${ENGINE_PIDS[0]}" || exit 1
ENGINE_PIDS=()
start_ipengines 1
$PY "$T_TOP/tests/py/datapath.py" "$PROFILE" ipengine || exit 1
