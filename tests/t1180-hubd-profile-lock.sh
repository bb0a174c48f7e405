#!/usr/bin/env bash
# t1180-hubd-profile-lock: a second hubd started on a profile (and cluster
# id) a running hubd holds is refused with an error naming the holder,
# and leaves the first one's files alone: its key, its mapped replay
# history and delivery ring (a second start used to truncate them under
# the first, whose next store into the ring then died of SIGBUS), its
# task history; the first keeps serving.  Another cluster id on the same
# profile is fine.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
first=$HUB_PID
start_engined 1
wait_engines 1 30 || exit 1
sums() {
	(cd "$PROFILE" && sha256sum security/ipcontroller-client.json \
	    security/hubd.digests hubd-tasks.db-delivered)
}
before=$(sums)
spawn hubd2 "$HUBD" --profile-dir="$PROFILE" --ip=127.0.0.1
wait_for 10 eval '! kill -0 $SPAWNED' || { no "the second hubd stopped"; kill "$SPAWNED"; }
check "the second hubd says who holds the profile" \
    grep -q "in use by hubd pid $first" "$T_DIR/hubd2.log"
sed 's/^/#   /' "$T_DIR/hubd2.log" | tail -2
is "the first hubd's key, replay history and delivery ring are untouched" \
    "$before" sums
$PY - "$PROFILE" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=30)
r = c.load_balanced_view().apply_async(lambda x: x + 1, 41).get(20)
print(("ok" if r == 42 else "not ok") + " - the first hubd still serves")
PYEOF
check "the first hubd is alive" kill -0 "$first"
spawn hubd3 "$HUBD" --profile-dir="$PROFILE" --ip=127.0.0.1 --cluster-id=other
other=$SPAWNED
check "another cluster id on the same profile starts" \
    wait_for 10 grep -q "hubd ready" "$T_DIR/hubd3.log"
kill "$other"
exit $fail
