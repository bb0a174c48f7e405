"""hostile.py - a hostile local peer against a controller (hubd or
ipcontroller), for the t11xx tests.

usage: hostile.py PROFILE_DIR HUB_PID CHECK [ARGS...]
  takeover             connect with an engine's and a client's routing
                       identity to every ROUTER port: the real peers keep
                       being served, the intruder hears nothing
  capture FILE         run a signed execute_request on the engine through
                       mux and save its frames to FILE
  replay FILE MARKER   send FILE's frames again: they must not run again
  fields               oversize and odd-length fields on every socket
  slowsub              a keyless SUB that never reads while engines print
                       100 MB
  flood SECONDS LOG    unsigned messages on every socket; LOG stays small
Every check also samples the controller's RSS: under 64 MiB throughout
and back within 10 MiB of idle afterwards.
"""
import json
import os
import pickle
import sys
import threading
import time

import zmq
from jupyter_client.session import Session

import ipyparallel as ipp
import conninfo
from tap import Tap

profile, hub_pid, check = sys.argv[1], int(sys.argv[2]), sys.argv[3]
args = sys.argv[4:]
t = Tap()
cf, ef, key, good = conninfo.load(profile)
ctx = zmq.Context()
MIB = 1 << 20


def url(port):
    return conninfo.url(cf, port)


def rss():
    with open("/proc/%d/status" % hub_pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class RssWatch(threading.Thread):
    """Samples the controller's RSS every 50 ms while a check runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = rss()
        self.stop = False
        self.start()

    def run(self):
        while not self.stop:
            try:
                self.peak = max(self.peak, rss())
            except OSError:
                return
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.join()
        return self.peak


def sock(kind, port, ident=None, timeout=5000):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if ident is not None:
        s.setsockopt(zmq.IDENTITY, ident)
    s.connect(url(port))
    return s


def recv(s, timeout=5.0):
    """The next message on s as a dict, or None after timeout seconds."""
    if not s.poll(int(timeout * 1000)):
        return None
    idents, msg = good.feed_identities(s.recv_multipart())
    m = good.deserialize(msg)
    m["idents"] = idents
    return m


def execute(code):
    return {"code": code, "silent": False, "store_history": False,
            "user_expressions": {}, "allow_stdin": False}


def client():
    c = ipp.Client(profile_dir=profile, timeout=20)
    c.wait_for_engines(1, timeout=30)
    return c


def serves(c, what):
    """The client's direct, load-balanced and control paths all answer."""
    try:
        t.eq(c[c.ids[0]].apply_async(lambda: 42).get(10), 42,
             what + ": mux")
        t.eq(c.load_balanced_view().apply_async(lambda: 43).get(10), 43,
             what + ": task")
        c.clear(targets=c.ids[0], block=True)
        t.ok(True, what + ": control")
    except Exception as e:
        t.ok(False, what + ": served", repr(e))


def settle(idle, what, limit=15.0):
    """RSS must come back within 10 MiB of idle (glibc trims when idle)."""
    end = time.time() + limit
    while rss() > idle + 10 * MIB and time.time() < end:
        time.sleep(0.2)
    t.ok(rss() <= idle + 10 * MIB, "%s: RSS back near idle" % what,
         "idle %.1f MiB, now %.1f MiB" % (idle / MIB, rss() / MIB))


def check_takeover():
    c = client()
    serves(c, "before the intruder")
    uuid = c._engines[c.ids[0]].encode()
    me = c.session.bsession
    # learn the engine's identity as an outsider would: from iopub
    sub = sock(zmq.SUB, cf["iopub"])
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    time.sleep(0.3)
    c[c.ids[0]].execute("print('hello')", block=True)
    seen = set()
    while sub.poll(500):
        parts = sub.recv_multipart()
        try:
            i = parts.index(b"<IDS|MSG>")
            seen.add(json.loads(parts[i + 2])["session"].encode())
        except (ValueError, KeyError, IndexError):
            pass
    sub.close()
    t.ok(uuid in seen, "the engine's identity can be read from iopub",
         repr(seen))
    evil = []
    for name, port, ident in (("mux", ef["mux"], uuid),
                              ("task", ef["task"], uuid),
                              ("control", ef["control"], uuid),
                              ("client mux", cf["mux"], me),
                              ("client task", cf["task"], me),
                              ("client control", cf["control"], me),
                              ("query", cf["registration"], me),
                              ("broadcast", cf["broadcast"], me)):
        evil.append((name, sock(zmq.DEALER, port, ident)))
    for leaf in ef["broadcast"]:
        evil.append(("broadcast leaf", sock(zmq.DEALER, leaf, uuid)))
    time.sleep(0.5)
    serves(c, "with the intruder connected")
    try:
        t.eq(c.broadcast_view().apply_async(lambda: 44).get(10),
             [44] * len(c.ids), "with the intruder connected: broadcast")
    except Exception as e:
        t.ok(False, "with the intruder connected: broadcast", repr(e))
    heard = [name for name, s in evil if s.poll(300)]
    t.eq(heard, [], "the intruder received nothing")
    for name, s in evil:
        s.close()
    time.sleep(0.3)
    serves(c, "after the intruder left")
    c.close()


def check_capture(path):
    c = client()
    uuid = c._engines[c.ids[0]].encode()
    c.close()
    s = sock(zmq.DEALER, cf["mux"])
    msg = good.msg("execute_request", execute(
        "open(%r, 'a').write('ran\\n')" % args[1]))
    parts = good.serialize(msg, ident=[uuid])
    s.send_multipart(parts)
    r = recv(s, 20)
    t.ok(r is not None and r["content"].get("status") == "ok",
         "captured request ran", repr(r and r["content"]))
    with open(path, "wb") as f:
        pickle.dump(parts, f)


def check_replay(path, marker):
    c = client()
    uuid = c._engines[c.ids[0]].encode()
    parts = pickle.load(open(path, "rb"))
    # routing frames are not signed: aim the capture at today's engine,
    # which has never seen it (a restarted engine forgot its history)
    parts[0] = uuid
    s = sock(zmq.DEALER, cf["mux"])
    s.send_multipart(parts)
    r = recv(s, 2)
    t.ok(r is None, "no reply to the replayed request",
         repr(r and r["content"]))
    n = open(marker).read().count("ran")
    t.eq(n, 1, "the replayed request did not run again")
    t.eq(c[c.ids[0]].apply_async(lambda: 42).get(10), 42,
         "the engine still serves")
    c.close()


def check_fields():
    c = client()
    serves(c, "before")
    uuid = c._engines[c.ids[0]].encode()
    idle = rss()
    w = RssWatch()

    def roundtrip(what, port, ident, pre, msg_id, mtype="execute_request",
                  content=None, metadata=None, want="ok", suffix=""):
        s = sock(zmq.DEALER, port, ident)
        m = good.msg(mtype, content if content is not None
                     else execute("x = 1"), metadata=metadata or {})
        if msg_id is not None:
            m["header"]["msg_id"] = m["msg_id"] = msg_id
        good.send(s, m, ident=pre)
        r = recv(s, 15)
        s.close()
        if r is None:
            t.ok(False, what + ": answered")
            return None
        t.eq(r["parent_header"].get("msg_id"), m["msg_id"] + suffix,
             what + ": reply names the request")
        if want is not None:
            t.eq(r["content"].get("status"), want, what + ": status " + want)
        return r

    for n in (300, 4096, 70000):
        long_id = "L%d-" % n + "x" * n
        roundtrip("task, %d-byte msg_id" % n, cf["task"], None, [],
                  long_id + "t")
        roundtrip("mux, %d-byte msg_id" % n, cf["mux"], None, [uuid],
                  long_id + "m")
    for n in (1, 100, 255):
        rid = bytes([0x41 + (n % 26)]) * n
        roundtrip("task, %d-byte routing id" % n, cf["task"], rid, [], None)
        roundtrip("mux, %d-byte routing id" % n, cf["mux"], rid, [uuid],
                  None)
    for n in (1, 255):
        roundtrip("control, %d-byte routing id" % n, cf["control"],
                  b"c" * n, [uuid], None, mtype="clear_request",
                  content={})
    # output of a task with a long msg_id still reaches its record
    long_id = "O" * 300
    roundtrip("mux, printing, 300-byte msg_id", cf["mux"], None, [uuid],
              long_id, content=execute("print('long and loud')"))
    end = time.time() + 10
    out = None
    while time.time() < end:
        recs = c.db_query({"msg_id": long_id}, keys=["stdout"])
        out = recs[0].get("stdout") if recs else None
        if out:
            break
        time.sleep(0.2)
    t.eq(out, "long and loud\n", "its output is in its record")
    r = roundtrip("mux to a 300-byte engine uuid", cf["mux"], None,
                  [b"u" * 300], None, want="error")
    r = roundtrip("broadcast, 300-byte msg_id", cf["broadcast"], b"b" * 200,
                  [], "B" * 300, suffix="_" + uuid.decode(), metadata={
                      "targets": [[uuid.decode(), c.ids[0]]],
                      "is_broadcast": True, "is_coalescing": False})
    # registration: absurd ids and uuids are refused with an error reply
    for what, content in (("id 9999999", {"uuid": "hostile-1", "id": 9999999}),
                          ("id -5", {"uuid": "hostile-2", "id": -5}),
                          ("300-byte uuid", {"uuid": "u" * 300})):
        r = roundtrip("registration, " + what, cf["registration"], None, [],
                      None, mtype="registration_request", content=content,
                      want="error")
    # the hub is not jammed: queue_status settles to nothing pending
    end = time.time() + 10
    while time.time() < end:
        qs = c.queue_status()
        if all(v.get("queue", 0) == 0 and v.get("tasks", 0) == 0
               for k, v in qs.items() if isinstance(v, dict)):
            break
        time.sleep(0.2)
    t.ok(all(v.get("queue", 0) == 0 and v.get("tasks", 0) == 0
             for k, v in qs.items() if isinstance(v, dict)),
         "queue_status shows nothing pending", repr(qs))
    serves(c, "after odd fields")
    peak = w.done()
    t.ok(peak < 64 * MIB, "RSS stayed under 64 MiB (peak %.1f MiB)" %
         (peak / MIB))
    settle(idle, "fields")
    c.close()


def check_slowsub():
    c = client()
    idle = rss()
    w = RssWatch()
    lazy = sock(zmq.SUB, cf["iopub"])
    lazy.setsockopt(zmq.SUBSCRIBE, b"")
    lazy.setsockopt(zmq.RCVHWM, 1)
    lazy.setsockopt(zmq.RCVBUF, 4096)
    # 100 MB of output in 64 KiB stream messages, published as an engine
    # would (signed, on the engine iopub port) for no task, so that only
    # the subscribers' queues can hold it
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.connect(url(ef["iopub"]))
    time.sleep(0.5)
    text = "y" * 65535 + "\n"
    t0 = time.time()
    for i in range(1600):
        good.send(pub, "stream", {"name": "stdout", "text": text},
                  ident=[b"engine.0.stream"])
    # the hub has taken it all when a marker comes through to a reader
    fast = sock(zmq.SUB, cf["iopub"])
    fast.setsockopt(zmq.SUBSCRIBE, b"")
    got = False
    end = time.time() + 60
    while not got and time.time() < end:
        good.send(pub, "stream", {"name": "stdout", "text": "marker"},
                  ident=[b"engine.0.stream"])
        while fast.poll(200):
            if b"marker" in fast.recv_multipart()[-1]:
                got = True
    t.ok(got, "100 MB of output flowed (%.1fs)" % (time.time() - t0))
    pub.close()
    fast.close()
    peak = w.done()
    t.ok(peak < 64 * MIB, "RSS stayed under 64 MiB with a subscriber that "
         "never reads (peak %.1f MiB)" % (peak / MIB))
    lazy.close()
    settle(idle, "slow subscriber")
    serves(c, "after the slow subscriber")
    c.close()


def check_flood(seconds, log):
    c = client()
    idle = rss()
    size0 = os.path.getsize(log)
    w = RssWatch()
    ports = [cf["registration"], cf["mux"], cf["task"], cf["control"],
             cf["broadcast"], ef["mux"], ef["task"], ef["control"]]
    socks = [sock(zmq.DEALER, p) for p in ports]
    pub = sock(zmq.PUB, ef["iopub"])
    unsigned = Session(key=b"", signature_scheme="hmac-sha256")
    parts = unsigned.serialize(unsigned.msg("execute_request",
                                            execute("1")))
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        for s in socks:
            s.send_multipart([b"x"] + parts, copy=False)
        pub.send_multipart(parts)
        n += len(socks) + 1
    for s in socks + [pub]:
        s.close()
    time.sleep(1)
    serves(c, "after the flood")
    peak = w.done()
    grown = os.path.getsize(log) - size0
    t.ok(grown < 256 * 1024, "log grew %d bytes for %d bad messages" %
         (grown, n))
    t.ok(peak < 64 * MIB, "RSS stayed under 64 MiB in the flood "
         "(peak %.1f MiB)" % (peak / MIB))
    settle(idle, "flood")
    c.close()


if check == "takeover":
    check_takeover()
elif check == "capture":
    check_capture(args[0])
elif check == "replay":
    check_replay(args[0], args[1])
elif check == "fields":
    check_fields()
elif check == "slowsub":
    check_slowsub()
elif check == "flood":
    check_flood(float(args[0]), args[1])
else:
    sys.exit("unknown check " + check)
t.done()
