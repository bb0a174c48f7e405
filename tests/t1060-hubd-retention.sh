#!/usr/bin/env bash
# t1060-hubd-retention: with --record-limit the history is bounded: old
# finished, delivered records are culled (and the culling is logged) while
# recent ones stay queryable.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --dictdb --record-limit=200
start_ipengines 1
$PY - "$PROFILE" <<'PYEOF' || exit 1
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=30)
v = c.load_balanced_view()
first = v.apply_async(lambda: 0)
first.get(10)
ars = [v.apply_async(lambda i: i, i) for i in range(1500)]
for a in ars:
    a.get(30)
h = c.hub_history()
assert len(h) <= 1501, len(h)
assert len(h) < 1400, "history not bounded: %d records" % len(h)
print("ok - history bounded: %d of 1501 records kept" % len(h))
assert first.msg_ids[0] not in h
print("ok - the oldest record was culled")
assert ars[-1].msg_ids[0] in h
assert c.get_result(ars[-1].msg_ids[0]).get(10) == 1499
print("ok - the newest record is kept and fetchable")
PYEOF
grep -q "task history limit reached" "$T_DIR/hubd.log" ||
    { no "culling not logged"; exit 1; }
ok "culling logged"
exit $fail
