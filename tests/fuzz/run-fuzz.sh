#!/usr/bin/env bash
# run-fuzz.sh [SECONDS] - build the libFuzzer target fuzz_decode.c with
# clang's fuzzer, address and undefined-behaviour sanitizers, together
# with libipp's sources (instrumented, unlike libipp.a), into
# tests/fuzz/out/, then fuzz for SECONDS (default 30).  The corpus and any
# crash-* reproducer stay in tests/fuzz/out/.  A crash, leak or sanitizer
# report exits non-zero; exit 77 when clang or libFuzzer is missing.
#
# Reproduce a crash: tests/fuzz/out/fuzz_decode tests/fuzz/out/crash-...
set -u
secs=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/out
CLANG=${CLANG:-}
PY=/usr/bin/python3

if [ -z "$CLANG" ]; then
	for c in clang clang-14 clang-15 clang-16; do
		command -v "$c" >/dev/null 2>&1 && { CLANG=$c; break; }
	done
fi
[ -n "$CLANG" ] || { echo "SKIP: clang not found (apt-get install clang)"; exit 77; }
mkdir -p "$out/corpus" || exit 1

# a libFuzzer runtime is a separate package on some systems
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
    >"$out/probe.c"
"$CLANG" -fsanitize=fuzzer -o "$out/probe" "$out/probe.c" >/dev/null 2>&1 ||
    { echo "SKIP: $CLANG cannot link -fsanitize=fuzzer"; exit 77; }
rm -f "$out/probe" "$out/probe.c"

pkgs=(libzmq jansson libsodium nettle)
if ! cflags=$(pkg-config --cflags "${pkgs[@]}") ||
    ! libs=$(pkg-config --libs "${pkgs[@]}"); then
	echo "pkg-config ${pkgs[*]} failed"
	exit 1
fi
# shellcheck disable=SC2086
"$CLANG" -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$top/libipp" $cflags -o "$out/fuzz_decode" "$here/fuzz_decode.c" \
    $(printf "$top/%s " $(make -s --no-print-directory -C "$top" lib-srcs)) \
    $libs -lm ||
    { echo "building fuzz_decode failed"; exit 1; }

# Seeds: well-formed messages, signed with the target's key, with and
# without routing ids and buffers.  Mutations of these reach the deep paths.
if [ -x "$PY" ]; then
	"$PY" - "$out/corpus" <<'PYEOF' || exit 1
import hashlib, hmac, json, os, struct, sys
KEY = b"fuzz-key-0123456789abcdef"	# FUZZ_KEY in fuzz_decode.c
def frames(parts):
    return b"".join(struct.pack("<H", len(p)) + p for p in parts)
def msg(ids, header, parent, md, content, bufs=(), sig=None):
    four = [json.dumps(x).encode() for x in (header, parent, md, content)]
    if sig is None:
        sig = hmac.new(KEY, b"".join(four), hashlib.sha256).hexdigest().encode()
    return frames(list(ids) + [b"<IDS|MSG>", sig] + four + list(bufs))
h = {"msg_id": "c1_1_0", "msg_type": "apply_request", "username": "u",
     "session": "c1", "date": "2026-01-01T00:00:00.000000Z", "version": "5.3"}
seeds = {
    "plain": msg([], h, {}, {}, {}),
    "ids": msg([b"engine-uuid", b"\x00\x01client"], h, {"msg_id": "p"},
               {"after": [], "follow": [], "retries": 0},
               {"code": "x=1", "n": [1, 2.5, None, True]}),
    "bufs": msg([b"id"], dict(h, date="2026-01-01T01:00:00.5+01:00"), {}, {},
                {"a": "\u00e9\u2603"}, [b"\x80\x03buffer", b"", b"x" * 300]),
    "naive": msg([], dict(h, date="2026-01-01T00:00:00"), {}, {}, {"s": "\\u0000"}),
    "unsigned": msg([], h, {}, {}, {}, sig=b""),
}
for name, data in seeds.items():
    with open(os.path.join(sys.argv[1], "seed-" + name), "wb") as f:
        f.write(data)
PYEOF
fi

cd "$out" || exit 1
# libFuzzer's own failure status is 77, which means "skipped" here
./fuzz_decode -max_len=4096 -max_total_time="$secs" -timeout=10 \
    -error_exitcode=1 -timeout_exitcode=1 -dict="$here/decode.dict" \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus"
rc=$?
[ $rc -eq 77 ] && rc=1
[ $rc -eq 0 ] || echo "fuzz_decode failed (exit $rc); reproducers in $out/"
exit $rc
