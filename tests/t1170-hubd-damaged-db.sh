#!/usr/bin/env bash
# t1170-hubd-damaged-db: a damaged task history stops hubd --reuse with a
# message that names the file and says what to do (move it aside, or
# start without it), and a non-zero exit status; once it is moved aside as
# told, hubd starts.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --reuse
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
print("ok - a client connected" if c.hub_history() == [] else "not ok - history")
PYEOF
kill -TERM "$HUB_PID"
wait_for 10 eval '! kill -0 $HUB_PID' || exit 1
db=$PROFILE/hubd-tasks.db
check "hubd left its history" test -s "$db"

# damaged -> try: start hubd --reuse on the damaged file, expect failure
try() {
	local what=$1 rc
	timeout 30 "$HUBD" --profile-dir="$PROFILE" --ip=127.0.0.1 --reuse \
	    >"$T_DIR/$what.log" 2>&1
	rc=$?
	sed 's/^/# /' "$T_DIR/$what.log" | tail -3
	check "$what: hubd exits non-zero (status $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "$what: the message names the file" grep -qF "'$db'" "$T_DIR/$what.log"
	check "$what: the message says to move it aside" \
	    grep -q "Move it aside" "$T_DIR/$what.log"
	check "$what: the message names the other way out" \
	    grep -q -- "--nodb" "$T_DIR/$what.log"
}
cp "$db" "$T_DIR/good.db"
# the schema page garbled (after the 100-byte file header)
head -c 3000 /dev/urandom | dd of="$db" bs=1 seek=100 conv=notrunc 2>/dev/null
try schema
# not a database at all
head -c 4096 /dev/urandom >"$db"
try header
# as told: move it aside, and hubd starts (with an empty history)
mv "$db" "$db.damaged"
rm -f "$db-wal" "$db-shm"
start_hubd --reuse
check "hubd starts once the damaged file is moved aside" kill -0 "$HUB_PID"
exit $fail
