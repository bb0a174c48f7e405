#!/usr/bin/env bash
# t2001-engined-ipcontroller: the same with the real ipcontroller, so
# engined is a drop-in for ipengine whatever the controller.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_ipcontroller
start_engined 2
wait_engines 2 30 || exit 1
interop_suites
