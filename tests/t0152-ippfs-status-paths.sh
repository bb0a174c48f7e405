#!/usr/bin/env bash
# t0152-ippfs-status-paths.sh - ippfs reads an engine's iopub status the
# same on its fast path (fields peeked off the text) and its slow path
# (the message decoded whole): "busy" with an execute_request of another
# client marks the engine as running it, so engines/N/ns lists only the
# names already known rather than wait behind it, and the matching
# "idle" clears that, whichever path reads either.  The statuses are
# published as the engine would (signed, on hubd's engine iopub port);
# the slow path gets those whose msg_type holds a JSON escape, which the
# peeks refuse.
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_hubd
start_engined 1
wait_engines 1 || exit 1
mount_ippfs --log-level=debug
cd "$MNT" || exit 1
uuid=$(sed -n 's/^uuid //p' engines/0/info)
check "the engine's uuid" test -n "$uuid" || exit 1

# status STATE PARENT PATH: publish STATE for request PARENT until ippfs
# has received one (its debug trace names the message)
status() {
	$PY - "$PROFILE" "$uuid" "$@" "$T_DIR/ippfs.log" <<'PYEOF'
import hashlib, hmac, json, sys, time, uuid as U
import zmq
import conninfo
profile, eng, state, parent, path, log = sys.argv[1:]
cf, ef, key, _ = conninfo.load(profile)
pub = zmq.Context().socket(zmq.PUB)
pub.connect(conninfo.url(ef, ef["iopub"]))
mtype = '"status"' if path == "fast" else '"stat\\u0075s"'
prefix = U.uuid4().hex
end = time.time() + 10
for i in range(1000):
    mid = "%s-%d" % (prefix, i)
    parts = [('{"msg_id": "%s", "msg_type": %s, "username": "t", '
              '"session": "%s", "date": "2026-01-01T00:00:00.000000Z", '
              '"version": "5.3"}' % (mid, mtype, eng)).encode(),
             json.dumps({"msg_id": parent,
                         "msg_type": "execute_request"}).encode(),
             json.dumps({"engine": eng}).encode(),
             json.dumps({"execution_state": state}).encode()]
    sig = hmac.new(key, b"".join(parts), hashlib.sha256).hexdigest()
    pub.send_multipart([b"engine.0.status", b"<IDS|MSG>", sig.encode()] +
                       parts)
    time.sleep(0.1)
    if "id=%s-" % prefix in open(log).read():
        sys.exit(0)
    if time.time() > end:
        sys.exit("ippfs did not receive the %s status" % state)
PYEOF
}
# define NAME: a name set on engine 0 by another client
define() {
	$PY - "$PROFILE" "$1" <<'PYEOF'
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c[0].execute("%s = 1" % sys.argv[2], block=True)
c.close()
PYEOF
}
listed() { ls engines/0/ns | grep -qx "$1"; }

for paths in "fast slow" "slow fast"; do
	set -- $paths
	# (defined first: the engine's own busy and idle for it would
	# replace the request the test says it runs)
	name=t0152_$1_$2
	define "$name" || exit 1
	check "$1 path: busy with another client's request published" \
	    status busy "req-$1" "$1" || exit 1
	check "$1 path: busy, engines/0/ns lists only what was known" \
	    eval '! listed "$name"'
	check "$2 path: the idle of that request published" \
	    status idle "req-$1" "$2" || exit 1
	check "$2 path: idle, engines/0/ns asks the engine again" \
	    wait_for 10 listed "$name"
done
cd / || exit 1
exit $fail
