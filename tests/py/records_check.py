"""records_check.py - what hubd stores for load-balanced and direct tasks.

Run by tests/t1200-hubd-scanned-records.sh with a controller and two
engines up:  records_check.py PROFILE_DIR.  hubd reads the load-balanced
path with a scanner and builds those records from the raw message parts
(with SQLite: stores the parts as the text that came in); this checks
that every field a record has is what the messages said, for plain
tasks, tasks with scheduling metadata, failing ones, ones with output
and with non-ASCII text (UTF-8, which the scanner checks as jansson
would), and direct (mux) tasks.
"""
import sys
from datetime import datetime

import ipyparallel as ipp

from tap import Tap

t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=30)
lv = c.load_balanced_view()
dv = c[0]


def noop():
    return 1


def shout(s):
    print(s)
    return s


def fail():
    raise ValueError("boom")


def as_date(s):
    """metadata dates stay strings in the client; the record's are parsed"""
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


ars = {}
ars["noop"] = lv.apply_async(noop)
ars["big"] = lv.apply_async(len, b"x" * 200000)
with lv.temp_flags(retries=1, timeout=30, after=[ars["noop"]]):
    ars["flags"] = lv.apply_async(noop)
ars["out"] = lv.apply_async(shout, "h\u00e9llo \"q\" \\ \u20ac")
ars["fail"] = lv.apply_async(fail)
ars["direct"] = dv.apply_async(shout, "d\u00eerect")
# non-ASCII in the metadata: UTF-8 the scanner checks
fut = c.send_apply_request(lv._socket, noop, (), {},
                           metadata={"after": [], "note": "\u00e9t\u00e9"})
ars["nonascii"] = fut.msg_id
for k, ar in ars.items():
    if k != "nonascii":
        try:
            ar.get(30)
        except Exception:
            pass
c.wait(timeout=30)

keys = ["msg_id", "header", "metadata", "content", "submitted", "started",
        "completed", "received", "engine_uuid", "client_uuid", "queue",
        "result_header", "result_metadata", "result_content", "stdout",
        "error", "buffers", "result_buffers"]
for name, ar in ars.items():
    mid = ar if isinstance(ar, str) else ar.msg_ids[0]
    recs = c.db_query({"msg_id": mid}, keys=keys)
    t.eq(len(recs), 1, "%s: one record" % name)
    if not recs:
        continue
    r = recs[0]
    h, rh, rmd = r["header"], r["result_header"], r["result_metadata"]
    t.eq(h["msg_id"], mid, "%s: header msg_id" % name)
    t.eq(h["msg_type"], "apply_request", "%s: header msg_type" % name)
    t.eq(r["submitted"], h["date"], "%s: submitted is the header date" % name)
    t.eq(r["client_uuid"], c.session.session, "%s: client_uuid" % name)
    t.eq(r["queue"], "mux" if name == "direct" else "task",
         "%s: queue" % name)
    t.eq(rh["msg_type"], "apply_reply", "%s: result_header" % name)
    t.eq(r["completed"], rh["date"], "%s: completed is the reply date" % name)
    t.eq(r["started"], as_date(rmd["started"]),
         "%s: started from the reply" % name)
    t.eq(r["engine_uuid"], rmd["engine"], "%s: engine_uuid" % name)
    t.ok(r["received"] is not None and r["received"] >= r["completed"],
         "%s: received after completed" % name)
    t.eq(r["result_content"]["status"], "error" if name == "fail" else "ok",
         "%s: result_content status" % name)
    if name == "flags":
        md = r["metadata"]
        t.eq((md["retries"], md["timeout"], md["after"]),
             (1, 30, ars["noop"].msg_ids), "flags: metadata as sent")
    if name == "nonascii":
        t.eq(r["metadata"]["note"], "\u00e9t\u00e9", "non-ASCII metadata kept")
    if name == "out":
        t.eq(r["stdout"], "h\u00e9llo \"q\" \\ \u20ac\n",
             "stdout folded in from iopub")
    if name == "fail":
        t.eq(r["error"]["ename"], "ValueError", "error folded in")
    if name == "big":
        t.ok(sum(len(b) for b in r["buffers"]) > 200000,
             "big: request buffers stored")
t.done()
