#!/usr/bin/env bash
# t4031-ippfs-cover-ipcontroller.sh - every file and errno of ippfs(1)
# against the real ipcontroller and ipengines (the body is
# tests/ippfs-cover.sh, shared with t4030; ns/ goes through generated
# code there, as ipengine has no data path).
# timeout: 400
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_ipcontroller
wait_for 30 test -s "$PROFILE/security/ipcontroller-client.json" || exit 1
start_ipengines 3
wait_engines 3 60 || exit 1
. "$T_TOP/tests/ippfs-cover.sh"
