#!/usr/bin/env bash
# t2000-engined-hubd: two engined engines under hubd, driven by the real
# Python Client: the controller interop suite, then engine behaviour
# (streams, errors, abort, clear, interrupt, shutdown).
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_engined 2
wait_engines 2 20 || exit 1
interop_suites
# engine ids follow registration order, not start order: one of the two
# processes must be gone, the other still up
alive() {
	local n=0 p
	for p in "${ENGINE_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && n=$((n + 1)); done
	[ "$n" -eq "$1" ]
}
wait_for 10 alive 1 ||
    { no "shut-down engine process did not exit"; exit 1; }
ok "shut-down engine process exited, the other is up"
exit $fail
