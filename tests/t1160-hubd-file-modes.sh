#!/usr/bin/env bash
# t1160-hubd-file-modes: everything hubd writes that holds task data or the
# key is its owner's alone (0600), in a profile directory others may
# enter: the task history and its -wal/-shm (also those an older hubd left
# 0644), the delivery ring, the connection files, the log; and user nobody
# cannot read a task's result from any of them.
. "$(dirname "$0")/lib.sh"
need_python_ipp
umask 022
chmod 755 "$T_DIR"
mkdir -p "$PROFILE"
# what an older hubd left: a world-readable history
$PY -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("create table t(x)")' \
    "$PROFILE/hubd-tasks.db"
: >"$PROFILE/hubd-tasks.db-wal"
chmod 644 "$PROFILE/hubd-tasks.db" "$PROFILE/hubd-tasks.db-wal"
start_hubd --log-to-file
start_ipengines 1
secret=s3cret-$RANDOM$RANDOM
$PY - "$PROFILE" "$secret" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=30)
r = c.load_balanced_view().apply_async(lambda s: s * 2, sys.argv[2]).get(20)
assert r == sys.argv[2] * 2
print("ok - a task returned the secret")
PYEOF
# the history holds it (in the database or its write-ahead log)
check "the secret is in the history files" \
    grep -qa "$secret" "$PROFILE"/hubd-tasks.db "$PROFILE"/hubd-tasks.db-wal
for f in "$PROFILE"/hubd-tasks.db "$PROFILE"/hubd-tasks.db-wal \
    "$PROFILE"/hubd-tasks.db-shm "$PROFILE"/hubd-tasks.db-delivered \
    "$PROFILE"/security/ipcontroller-client.json \
    "$PROFILE"/security/ipcontroller-engine.json \
    "$PROFILE"/log/hubd-*.log; do
	m=$(stat -c %a "$f" 2>/dev/null)
	check "${f#"$T_DIR"/} is 0600 (is ${m:-missing})" test "$m" = 600
done
# every other file hubd made: none readable by others
others=$(find "$PROFILE" -type f -perm /044 -newer "$PROFILE/hubd-tasks.db" \
    ! -path "*/startup/*" 2>/dev/null)
check "no other file hubd wrote is readable by others ($others)" test -z "$others"
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null; then
	check "nobody can enter the profile directory (the test's premise)" \
	    runuser -u nobody -- test -x "$PROFILE"
	no_read() { ! runuser -u nobody -- grep -rqa "$secret" "$PROFILE" 2>/dev/null; }
	check "user nobody cannot read the secret from any file" no_read
	no_sql() {
		! runuser -u nobody -- $PY -c 'import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("select count(*) from hubd_tasks").fetchone())' \
		    "$PROFILE/hubd-tasks.db" >/dev/null 2>&1
	}
	check "user nobody cannot open the history with sqlite3" no_sql
else
	echo "# skipped the user nobody part: needs root and runuser"
fi
exit $fail
