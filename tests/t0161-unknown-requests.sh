#!/usr/bin/env bash
# t0161-unknown-requests: which messages are requests is decided once
# (libipp's ipp_is_request), and hubd and engined agree on it.  On mux,
# a client's frob_request is a request: hubd tracks it and engined
# answers frob_reply with NotImplementedError, which comes back to the
# client.  A bare "_request" names none: hubd relays it untracked and
# engined answers nothing (within 2 s, while a request sent after it is
# answered), and the engine goes on serving.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd --nodb
start_engined 1
wait_engines 1 || exit 1
$PY - "$PROFILE" <<'PYEOF' || fail=1
import sys
import zmq
import ipyparallel as ipp
import conninfo
from tap import Tap

t = Tap()
cf, ef, key, s = conninfo.load(sys.argv[1])
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(1, timeout=20)
uuid = c._engines[c.ids[0]].encode()
mux = zmq.Context().socket(zmq.DEALER)
mux.connect(conninfo.url(cf, cf["mux"]))


def reply(timeout_ms):
    """The next message on mux, or None after timeout_ms."""
    if not mux.poll(timeout_ms):
        return None
    idents, msg = s.feed_identities(mux.recv_multipart())
    return s.deserialize(msg)


frob = s.send(mux, "frob_request", content={}, ident=[uuid])
r = reply(10000)
t.ok(r is not None, "frob_request is answered")
if r is not None:
    t.eq(r["msg_type"], "frob_reply", "as frob_reply")
    t.eq(r["parent_header"].get("msg_id"), frob["header"]["msg_id"],
         "to that request")
    t.eq(r["content"].get("ename"), "NotImplementedError",
         "with NotImplementedError")
bare = s.send(mux, "_request", content={}, ident=[uuid])
after = s.send(mux, "frob_request", content={}, ident=[uuid])
got = []
while True:
    r = reply(2000)
    if r is None:
        break
    got.append(r["parent_header"].get("msg_id"))
t.ok(bare["header"]["msg_id"] not in got, "a bare _request: no reply")
t.ok(after["header"]["msg_id"] in got, "the request after it: a reply")
t.eq(c[:].apply_sync(lambda: 6 * 7), [42], "the engine still runs tasks")
c.close()
t.done()
PYEOF
check "engine still running" kill -0 "${ENGINE_PIDS[0]}"
exit $fail
