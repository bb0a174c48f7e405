#!/usr/bin/env bash
# t0100-jupyter-client-crosscheck: libipp against jupyter_client's Session,
# the reference every Python peer uses.  Messages travel between the two as
# JSON arrays of hex frames: tools/ippmsg on the C side, a small Python
# helper (written to the scratch dir) on the other.  Checks that each side
# accepts what the other signs, with routing ids, buffers and a key longer
# than the HMAC block; that both reject the same tampered, unsigned,
# wrongly keyed and replayed messages; and that both compute the spec's
# HMAC test vector (section 4.1a).  Prints TAP; exit 77 without
# jupyter_client.
# The eval'd checks are single-quoted on purpose: they expand when run.
# shellcheck disable=SC2016,SC2317
. "$(dirname "$0")/lib.sh"
top=$T_TOP
dir=$T_DIR
IPPMSG=$top/tools/ippmsg

$PY -c 'import jupyter_client.session' 2>/dev/null ||
    skip "jupyter_client is not importable by $PY"
[ -x "$IPPMSG" ] || { no "$IPPMSG not built (make tools/ippmsg)"; exit 1; }

# cross_check NAME CMD...: lib.sh's check for a CMD whose output the
# caller redirects: the TAP line goes to fd 3 (the test's stdout), so
# those redirections catch only CMD.  $dir/err collects what a failing
# check shows.
exec 3>&1
cross_check() {
	local name=$1
	shift
	if "$@"; then
		ok "$name" >&3
	else
		no "$name" >&3
		sed 's/^/#   /' "$dir/err" >&3
	fi
	: >"$dir/err"
}
same() {	# same FILE1 FILE2: identical, else show the difference
	cmp -s "$1" "$2" && return 0
	diff "$1" "$2" | sed 's/^/#   /' >&3
	return 1
}
has() {		# has FILE TEXT
	grep -qF -- "$2" "$1" && return 0
	sed 's/^/#   /' "$1" >&3
	return 1
}
: >"$dir/err"

cat >"$dir/jc.py" <<'PYEOF'
# jc.py - the jupyter_client side: make, check, sign and tamper with
# messages written as JSON arrays of hex frames (the format of ippmsg).
import json, sys
from jupyter_client.session import Session, DELIM

def session(key):
    return Session(key=key.encode(), signature_scheme="hmac-sha256",
                   username="probe")

def dump(frames):
    print(json.dumps([f.hex() for f in frames]))

def arrays(text):
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return out
        a, i = dec.raw_decode(text, i)
        out.append([bytes.fromhex(h) for h in a])

cmd, key, args = sys.argv[1], sys.argv[2], sys.argv[3:]
if cmd == "make":		# make KEY MSG_TYPE CONTENT_JSON [BUFHEX...] [--ids A,B]
    ids = None
    if "--ids" in args:
        i = args.index("--ids")
        ids = [x.encode() for x in args[i + 1].split(",")]
        del args[i:i + 2]
    s = session(key)
    msg = s.msg(args[0], content=json.loads(args[1]),
                parent={"msg_id": "p-1", "msg_type": "parent"})
    # what Session.send does with buffers: append them after the parts
    dump(s.serialize(msg, ident=ids) + [bytes.fromhex(b) for b in args[2:]])
elif cmd == "check":		# check KEY < arrays: like ippmsg verify
    s = session(key)
    for k, frames in enumerate(arrays(sys.stdin.read())):
        idents, parts = s.feed_identities(frames)
        try:
            m = s.deserialize(parts)
        except Exception as e:
            print("jc: message %d rejected: %s" % (k, e), file=sys.stderr)
            sys.exit(1)
        print("msg_type", m["msg_type"])
        print("content", json.dumps(m["content"], sort_keys=True,
              separators=(",", ":"), ensure_ascii=False))
        for b in m["buffers"]:
            print("buffer", bytes(b).hex())
elif cmd == "sign":		# sign KEY H P M C
    print(session(key).sign([a.encode() for a in args]).decode())
elif cmd == "frames":		# frames KEY H P M C: a hand-made message
    s = session(key)
    parts = [a.encode() for a in args]
    dump([DELIM, s.sign(parts)] + parts)
elif cmd == "tamper":		# tamper - PART < array: change one byte of PART
    frames = arrays(sys.stdin.read())[0]
    d = frames.index(DELIM)
    at = d + {"sig": 1, "header": 2, "content": 5, "buffer": 6}[args[0]]
    f = bytearray(frames[at])
    if args[0] == "sig":	# another hex digit: still well-formed
        f[10] = ord("1") if f[10] == ord("0") else ord("0")
    elif args[0] == "buffer":
        f[0] ^= 1
    else:			# swap the case of a letter: still valid JSON
        i = next(i for i, c in enumerate(f) if chr(c).isalpha())
        f[i] ^= 0x20
    frames[at] = bytes(f)
    dump(frames)
elif cmd == "unsign":		# unsign - < array: empty signature frame
    frames = arrays(sys.stdin.read())[0]
    frames[frames.index(DELIM) + 1] = b""
    dump(frames)
PYEOF
jc() { $PY "$dir/jc.py" "$@"; }

KEY=5f1a9c3e-0b7d4e2a9c8f6b1d3e5a7c9f
LONGKEY=$(printf 'k%.0s' $(seq 100))-$KEY	# longer than SHA-256's block
CONTENT='{"code": "x = 1\nprint(\"h\u00e9llo \u2603\")", "n": [1, 2, 3], "nested": {"a": null, "b": true}, "s": "tab\there"}'
BUF1=00ff10203040
BUF2=$(head -c 60000 /dev/urandom | od -An -v -tx1 | tr -d ' \n')

# (a) jupyter_client -> C
jc make "$KEY" apply_request "$CONTENT" "$BUF1" "" "$BUF2" >"$dir/py.json"
cross_check "jupyter_client message with 3 buffers verifies in C" \
    "$IPPMSG" verify "$KEY" <"$dir/py.json" >"$dir/py.c.out" 2>"$dir/err"
jc check "$KEY" <"$dir/py.json" >"$dir/py.py.out" 2>&1
cross_check "C decodes msg_type, content and buffers as jupyter_client does" \
    same "$dir/py.c.out" "$dir/py.py.out"
cross_check "C sees all three buffers, the empty one included" \
    test "$(grep -c '^buffer' "$dir/py.c.out")" = 3
jc make "$KEY" execute_request '{}' --ids engine-1,client-2 >"$dir/ids.json"
cross_check "jupyter_client message with routing ids verifies in C" \
    "$IPPMSG" verify "$KEY" <"$dir/ids.json" >"$dir/out" 2>"$dir/err"
jc make "$LONGKEY" apply_request "$CONTENT" "$BUF1" >"$dir/long.json"
cross_check "jupyter_client message, ${#LONGKEY}-byte key, verifies in C" \
    "$IPPMSG" verify "$LONGKEY" <"$dir/long.json" >"$dir/out" 2>"$dir/err"

# (b) C -> jupyter_client
"$IPPMSG" sign "$KEY" apply_request "$CONTENT" "$BUF1" "" "$BUF2" \
    >"$dir/c.json" 2>"$dir/err" || no "ippmsg sign"
cross_check "C message with 3 buffers deserializes in jupyter_client" \
    jc check "$KEY" <"$dir/c.json" >"$dir/c.py.out" 2>"$dir/err"
"$IPPMSG" verify "$KEY" <"$dir/c.json" >"$dir/c.c.out" 2>&1
cross_check "jupyter_client decodes the C message as C does" \
    same "$dir/c.py.out" "$dir/c.c.out"
cross_check "and the same as the equivalent jupyter_client message" \
    same "$dir/c.py.out" "$dir/py.py.out"
"$IPPMSG" sign "$LONGKEY" apply_request "$CONTENT" >"$dir/clong.json"
cross_check "C message, ${#LONGKEY}-byte key, deserializes in jupyter_client" \
    jc check "$LONGKEY" <"$dir/clong.json" >"$dir/out" 2>"$dir/err"
"$IPPMSG" sign "" apply_request '{}' >"$dir/cnokey.json"
cross_check "unsigned C message deserializes in a keyless jupyter_client" \
    jc check "" <"$dir/cnokey.json" >"$dir/out" 2>"$dir/err"

# (c) tampering, wrong keys, missing signatures and replays: both refuse
for part in content header sig; do
	jc tamper - "$part" <"$dir/py.json" >"$dir/t.json"
	if "$IPPMSG" verify "$KEY" <"$dir/t.json" >/dev/null 2>"$dir/err"; then
		no "C rejects a jupyter_client message with one $part byte changed"
	else
		cross_check "C rejects a jupyter_client message with one $part byte changed" \
		    has "$dir/err" "invalid signature"
	fi
	jc tamper - "$part" <"$dir/c.json" >"$dir/t.json"
	if jc check "$KEY" <"$dir/t.json" >/dev/null 2>"$dir/err"; then
		no "jupyter_client rejects a C message with one $part byte changed"
	else
		cross_check "jupyter_client rejects a C message with one $part byte changed" \
		    has "$dir/err" "Invalid Signature"
	fi
done
# buffers are not signed (spec 4.1): both must let this through alike
jc tamper - buffer <"$dir/py.json" >"$dir/t.json"
"$IPPMSG" verify "$KEY" <"$dir/t.json" >"$dir/t.c.out" 2>&1
jc check "$KEY" <"$dir/t.json" >"$dir/t.py.out" 2>&1
cross_check "a changed buffer passes both alike (buffers are unsigned)" \
    eval '! cmp -s "$dir/t.c.out" "$dir/py.c.out" && same "$dir/t.c.out" "$dir/t.py.out"'

cross_check "C rejects a jupyter_client message signed with another key" \
    eval '! "$IPPMSG" verify "$KEY-x" <"$dir/py.json" >/dev/null 2>&1'
cross_check "jupyter_client rejects a C message signed with another key" \
    eval '! jc check "$KEY-x" <"$dir/c.json" >/dev/null 2>&1'
jc unsign - <"$dir/py.json" >"$dir/t.json"
cross_check "C rejects an unsigned message when it has a key" \
    eval '! "$IPPMSG" verify "$KEY" <"$dir/t.json" >/dev/null 2>"$dir/err" &&
    has "$dir/err" "unsigned message"'
cross_check "jupyter_client rejects it too" \
    eval '! jc check "$KEY" <"$dir/t.json" >/dev/null 2>"$dir/err" &&
    has "$dir/err" "Unsigned Message"'
cat "$dir/py.json" "$dir/py.json" >"$dir/twice.json"
cross_check "C rejects a jupyter_client message replayed" \
    eval '! "$IPPMSG" verify "$KEY" <"$dir/twice.json" >/dev/null 2>"$dir/err" &&
    has "$dir/err" "duplicate signature"'
cat "$dir/c.json" "$dir/c.json" >"$dir/twice.json"
cross_check "jupyter_client rejects a C message replayed" \
    eval '! jc check "$KEY" <"$dir/twice.json" >/dev/null 2>"$dir/err" &&
    has "$dir/err" "Duplicate Signature"'

# (d) the spec's test vector, section 4.1a
TV_KEY=0123abcd-4567ef0123456789abcdef01
TV_HDR='{"msg_id": "c1_1_0", "msg_type": "connection_request", "username": "u", "session": "c1", "date": "2026-01-01T00:00:00.000000Z", "version": "5.3"}'
TV_SIG=455445d374a41e6c4bfd6acd2eabcdc585da065aa919e3443b30ab74f1ce6d70
cross_check "C computes the 4.1a signature" \
    test "$("$IPPMSG" hmac "$TV_KEY" "$TV_HDR" '{}' '{}' '{}')" = "$TV_SIG"
cross_check "jupyter_client computes the 4.1a signature" \
    test "$(jc sign "$TV_KEY" "$TV_HDR" '{}' '{}' '{}')" = "$TV_SIG"
jc frames "$TV_KEY" "$TV_HDR" '{}' '{}' '{}' >"$dir/tv.json"
cross_check "the 4.1a message verifies in C" \
    eval '"$IPPMSG" verify "$TV_KEY" <"$dir/tv.json" >"$dir/out" 2>&1 &&
    has "$dir/out" "msg_type connection_request"'
cross_check "the 4.1a message deserializes in jupyter_client" \
    jc check "$TV_KEY" <"$dir/tv.json" >"$dir/out" 2>&1

exit $fail
