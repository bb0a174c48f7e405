#!/usr/bin/env bash
# t1050-hubd-curve: IPP_ENABLE_CURVE=1 as in ipyparallel 7.1: hubd writes
# its CURVE public key into the connection files, and real ipengines and
# the Python client connect with CurveZMQ; a plain-TCP peer without the
# key is not served.
. "$(dirname "$0")/lib.sh"
need_python_ipp
export IPP_ENABLE_CURVE=1
start_hubd
$PY - "$PROFILE" <<'PYEOF' || exit 1
import json, sys
f = json.load(open(sys.argv[1] + "/security/ipcontroller-client.json"))
assert f["key"] == "", f["key"]
assert f["curve_serverkey"] and len(f["curve_serverkey"]) == 40
print("ok - client file has a CURVE server key and no HMAC key")
PYEOF
start_ipengines 2
$PY - "$PROFILE" <<'PYEOF' || exit 1
import json, sys, zmq, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=20)
c.wait_for_engines(2, timeout=30)
assert c[:].apply_async(lambda: 6 * 7).get(10) == [42, 42]
print("ok - engines and client work over CURVE")
assert c.load_balanced_view().apply_async(lambda: 1).get(10) == 1
print("ok - load balancing over CURVE")
f = json.load(open(sys.argv[1] + "/security/ipcontroller-client.json"))
s = zmq.Context().socket(zmq.DEALER)
s.setsockopt(zmq.LINGER, 0)
s.connect("%s:%d" % (f["interface"], f["registration"]))
s.send_multipart([b"<IDS|MSG>", b"", b'{"msg_id":"x","msg_type":"connection_request"}', b"{}", b"{}", b"{}"])
assert s.poll(1000) == 0, "plain peer got an answer"
print("ok - a peer without CURVE gets nothing")
PYEOF
check "hubd alive" kill -0 "$HUB_PID"
exit $fail
