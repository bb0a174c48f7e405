#!/usr/bin/env bash
# t0160-bench-tools-answer: the benchmarks' two peers still speak the
# protocol, against a real hubd.  tools/simengines registers engines and
# answers every apply_request with a signed apply_reply (--verify: it
# checks each request's signature, and counts any request it cannot take
# as bad); tools/loadgen sends no-op tasks through the task scheduler and
# the mux and gets every reply back.  bench/b-hub-capacity.sh measures
# with these two: if they stop answering, its figures mean nothing.
. "$(dirname "$0")/lib.sh"
SIM=$T_TOP/tools/simengines
LOADGEN=$T_TOP/tools/loadgen
[ -x "$SIM" ] && [ -x "$LOADGEN" ] || { echo "tools not built"; exit 1; }
start_hubd --nodb
spawn sim "$SIM" --file "$PROFILE/security/ipcontroller-engine.json" \
    -n 4 --verify -q
SIM_PID=$SPAWNED
"$LOADGEN" --profile-dir "$PROFILE" --engines 4 --count 0 --timeout 30 \
    >"$T_DIR/engines.out" 2>&1
is "loadgen sees the 4 simulated engines" 4 awk '$1 == "engines" {
    print $2 }' "$T_DIR/engines.out" ||
    { cat "$T_DIR/engines.out" "$T_DIR/sim.log"; exit 1; }
for q in task mux; do
	"$LOADGEN" --profile-dir "$PROFILE" --queue "$q" --window 4 \
	    --count 200 --timeout 20 >"$T_DIR/$q.out" 2>&1
	is "200 tasks through $q" 200 awk '$1 == "tasks" { print $2 }' \
	    "$T_DIR/$q.out" || cat "$T_DIR/$q.out"
	is "no errors, none lost ($q)" "0 0" awk '$1 == "errors" { e = $2 }
	    $1 == "lost" { l = $2 } END { print e, l }' "$T_DIR/$q.out"
done
# simengines prints its counts when it ends
kill -TERM "$SIM_PID"
wait_for 10 eval "! kill -0 $SIM_PID" || no "simengines ended on SIGTERM"
is "simengines saw no bad request" 0 awk '$1 == "bad" { print $2 }' \
    "$T_DIR/sim.log" || cat "$T_DIR/sim.log"
check "and answered them all" awk '$1 == "requests" { exit !($2 >= 400) }' \
    "$T_DIR/sim.log"
exit $fail
