"""relays_check.py - hubd's direct, broadcast and iopub relays.

Run by tests/t1250-hubd-scanned-relays.sh with a controller and two
engines up:  relays_check.py PROFILE_DIR.  hubd reads these relays'
messages with its scanner and makes the broadcast's per-engine copies by
splicing the request's texts; what the scanner does not vouch for (here:
an integer of 19 digits) goes to the full decoder instead.  This
checks, through the real client, that both ways give the same results
and records: direct tasks (with an unknown engine too), output of many
stream messages folded into stdout and stderr, output that comes after
the reply (published here, signed, as an engine would), execute input
and result, and broadcasts coalescing or not, with the client's own
original_msg_id, to an engine that does not exist, with non-ASCII and
with long-integer metadata.
"""
import sys
import time
import uuid as U

import ipyparallel as ipp
import zmq

import conninfo
from tap import Tap

t = Tap()
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=30)
ids = sorted(c.ids)[:2]
uuids = [c._engines[i] for i in ids]
dv = c[ids[0]]
KEYS = ["msg_id", "header", "metadata", "content", "engine_uuid", "queue",
        "result_header", "result_content", "stdout", "stderr",
        "execute_input", "execute_result", "completed"]


def record(mid, want=lambda r: True):
    """mid's record once it is complete and want(r) holds (20 s at most)"""
    end = time.time() + 20
    r = None
    while time.time() < end:
        recs = c.db_query({"msg_id": mid}, keys=KEYS)
        if recs and recs[0]["completed"] is not None:
            r = recs[0]
            if want(r):
                return r
        time.sleep(0.1)
    return r


def noop():
    return 5


def chatty(n):
    import sys
    for i in range(n):
        print("line %d" % i, flush=True)
        if i % 100 == 0:
            print("err %d \u00e9" % i, file=sys.stderr, flush=True)
    return n


@t.case("direct: output of many stream messages")
def _():
    n = 2000
    out = "".join("line %d\n" % i for i in range(n))
    err = "".join("err %d \u00e9\n" % i for i in range(0, n, 100))
    ar = dv.apply_async(chatty, n)
    t.eq(ar.get(60), n, "direct result")
    mid = ar.msg_ids[0]
    r = record(mid, lambda r: r["stdout"] == out and r["stderr"] == err)
    t.ok(r is not None, "direct: a record")
    if r is None:
        return
    t.eq(r["queue"], "mux", "direct: queue")
    t.eq(r["header"]["msg_id"], mid, "direct: header msg_id")
    t.eq(r["engine_uuid"], uuids[0], "direct: engine_uuid")
    t.eq(r["result_content"]["status"], "ok", "direct: result status")
    t.eq(r["stdout"], out, "every stream message folded into stdout")
    t.eq(r["stderr"], err, "stderr (non-ASCII: decoded) folded in too")
    # fewer than hubd queues for a subscriber (PUB_HWM), which a fast
    # engine outruns with 2000: the client gets them all, in order
    ar = dv.apply_async(chatty, 200)
    ar.get(30)
    ar.wait_for_output(10)
    t.eq(ar.stdout, "".join("line %d\n" % i for i in range(200)),
         "the client got every stream message in order")


@t.case("output after the reply, scanned and decoded")
def _():
    cf, ef, key, sess = conninfo.load(sys.argv[1])
    pub = zmq.Context.instance().socket(zmq.PUB)
    pub.connect(conninfo.url(ef, ef["iopub"]))
    me = c.session.session

    def publish(mid, name, text, md=None, mtype="stream"):
        content = ({"execution_state": text} if mtype == "status" else
                   {"name": name, "text": text})
        sess.send(pub, mtype, content=content, metadata=md or {},
                  parent={"msg_id": mid, "session": me, "date": "",
                          "msg_type": "apply_request", "username": "t",
                          "version": "5.3"},
                  ident=b"engine.0.stream")

    # hubd relays it to the client once the connection is up
    probe = "probe-" + U.uuid4().hex
    end = time.time() + 10
    while time.time() < end and not c.metadata.get(probe, {}).get("stdout"):
        publish(probe, "stdout", "p")
        time.sleep(0.05)
    t.ok(c.metadata.get(probe, {}).get("stdout"), "iopub publisher joined")
    # a request hubd answers at once (no such engine): its task lingers
    fut = c.send_apply_request(c._mux_socket, noop, [], {},
                               ident=b"no-such-engine")
    record(fut.msg_id)
    publish(fut.msg_id, "stdout", "one\n")
    publish(fut.msg_id, "stdout", "two \u00e9\n", md={"big": 2 ** 60})
    publish(fut.msg_id, "stdout", "th\u0000ree\n")
    publish(fut.msg_id, "stderr", "err\n")
    publish(fut.msg_id, None, "idle", mtype="status")
    want = "one\ntwo \u00e9\nth\u0000ree\n"
    r = record(fut.msg_id, lambda r: r["stdout"] == want)
    t.eq(r and r["stdout"], want,
         "late stdout amends the record: scanned, decoded, with a NUL")
    t.eq(r and r["stderr"], "err\n", "late stderr too")
    pub.close(0)


@t.case("direct: execute input and result")
def _():
    code = "x = 6 * 7\nx"
    ar = dv.execute(code, silent=False, block=False)
    ar.get(30)
    r = record(ar.msg_ids[0], lambda r: r["execute_result"] is not None)
    t.eq(r and r["execute_input"], code, "execute_input recorded")
    t.eq(r and r["execute_result"]["data"]["text/plain"], "42",
         "execute_result recorded")


@t.case("direct: an engine that does not exist")
def _():
    fut = c.send_apply_request(c._mux_socket, noop, [], {},
                               ident=b"no-such-engine")
    r = record(fut.msg_id)
    t.eq(r and r["result_content"]["ename"], "EngineError",
         "EngineError recorded for an unknown engine")
    t.eq(r and r["header"]["msg_id"], fut.msg_id,
         "its request header recorded")


def check_copies(orig, targets, name, coalescing=False, note=None):
    for uuid, eid in targets:
        sub = "%s_%s" % (orig, uuid)
        r = record(sub)
        t.ok(r is not None, "%s: record of %s" % (name, sub))
        if r is None:
            continue
        md = r["metadata"]
        t.eq((r["queue"], r["header"]["msg_id"]), ("broadcast", sub),
             "%s: queue and msg_id" % name)
        t.eq(md["targets"], [[uuid, eid]], "%s: targets narrowed" % name)
        t.eq(md["original_msg_id"], orig, "%s: original_msg_id" % name)
        t.eq(md["is_coalescing"], coalescing, "%s: is_coalescing" % name)
        if note is not None:
            t.eq(md["note"], note, "%s: other metadata kept" % name)
        if uuid in uuids:
            t.eq((r["result_content"]["status"], r["engine_uuid"]),
                 ("ok", uuid), "%s: result from its engine" % name)
        else:
            t.eq(r["result_content"]["ename"], "EngineError",
                 "%s: EngineError for an engine that does not exist" % name)


@t.case("broadcast")
def _():
    tt = list(zip(uuids, ids))
    bv = c.broadcast_view(targets=ids)
    ar = bv.apply_async(noop)
    t.eq(ar.get(30), [5, 5], "broadcast (not coalescing)")
    orig = ar.msg_ids[0][:-(len(uuids[0]) + 1)]
    check_copies(orig, tt, "broadcast")
    bc = c.broadcast_view(targets=ids, is_coalescing=True)
    ar = bc.apply_async(noop)
    t.eq(ar.get(30), [5, 5], "broadcast (coalescing)")
    check_copies(ar.msg_ids[0], tt, "coalescing", coalescing=True)
    t.eq(bc.apply_sync(lambda: "\u00e9t\u00e9"), ["\u00e9t\u00e9"] * 2,
         "coalescing, non-ASCII result")

    def send(md):
        md = dict({"targets": tt, "is_broadcast": True,
                   "is_coalescing": False}, **md)
        return c.send_apply_request(bv._socket, noop, [], {},
                                    metadata=md).msg_id

    send({"original_msg_id": "given-orig"})
    check_copies("given-orig", tt, "given original_msg_id")
    bogus = [[uuids[0], ids[0]], ["no-such-engine", 99]]
    orig = send({"targets": bogus})
    check_copies(orig, bogus, "unknown target")
    orig = send({"note": "\u00e9t\u00e9 \U0001f600"})
    check_copies(orig, tt, "non-ASCII metadata",
                 note="\u00e9t\u00e9 \U0001f600")
    orig = send({"note": 2 ** 60})
    check_copies(orig, tt, "long integer in metadata (decoded)",
                 note=2 ** 60)
    orig = send({"note": "q\"uote\\"})
    check_copies(orig, tt, "escapes in metadata", note="q\"uote\\")


c.close()
t.done()
