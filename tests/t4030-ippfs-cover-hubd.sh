#!/usr/bin/env bash
# t4030-ippfs-cover-hubd.sh - every file and errno of ippfs(1) against
# hubd + engined (the body is tests/ippfs-cover.sh, shared with t4031).
# timeout: 240
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_engined 3
wait_engines 3 || exit 1
. "$T_TOP/tests/ippfs-cover.sh"
