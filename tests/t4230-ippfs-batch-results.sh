#!/usr/bin/env bash
# t4230-ippfs-batch-results.sh - a tasks/batch fd reads, after its ids
# and their end of file, the batch's results as the tasks end: per task
# "ID STATE SIZE", SIZE bytes (the result, or for a failure its error
# text) and a newline, in the order the tasks ended (as tasks/events
# tells it), every task exactly once, then end of file.  On hubd and
# three engined: 300 tasks of random length (some failing, some with no
# value, some with a value of several lines); a result arrives while a
# later task of the same batch still runs; a shell's read builtin
# parses the stream; the ids alone still read as before.  The other
# code files (engines/N/exec, engines/all/exec, tasks/new) do the same.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 3

# parse RAW: one line per record, "ID STATE BODY" with the body's repr,
# and "bad ..." for anything that does not parse
parse() {
	$PY - "$1" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
i = 0
while i < len(data):
    nl = data.index(b"\n", i)
    f = data[i:nl].split()
    if len(f) != 3 or not f[2].isdigit():
        print("bad header", data[i:nl]); break
    n = int(f[2]); body = data[nl + 1:nl + 1 + n]
    if data[nl + 1 + n:nl + 2 + n] != b"\n":
        print("bad end of record", f[0].decode()); break
    print(f[0].decode(), f[1].decode(), repr(body.decode()))
    i = nl + 2 + n
EOF
}

# 300 tasks of random length, so that they end out of id order
for i in $(seq 300); do
	printf 'import random, time; time.sleep(random.random() * 0.02)\n'
	case $((i % 50)) in
	0) printf '1/0\n' ;;
	1) printf 'x = %d\n' "$i" ;;
	2) printf "type('M', (), {'__repr__': lambda s: 'a\\\\nb%d'})()\n" "$i" ;;
	*) printf '%d * 2\n' "$i" ;;
	esac
	printf '\036\n'
done > "$T_DIR/batch"
exec 4<tasks/events	# from here on: every event, to check the order
exec 3<>tasks/batch; cat "$T_DIR/batch" >&3
ids=$(cat <&3)
t0=$(ms)
timeout 120 cat <&3 > "$T_DIR/raw"; rc=$?
again=$(timeout 10 cat <&3 | wc -c)
exec 3>&-
echo "# read 300 results in $(($(ms) - t0)) ms"
check "the ids end with end of file, as before ($(wc -w <<<"$ids") ids)" test "$(wc -w <<<"$ids")" = 300
check "the results stream ended by itself (rc $rc)" test $rc = 0
check "and stays at end of file" test "$again" = 0
parse "$T_DIR/raw" > "$T_DIR/recs"
check "every record parses" test "$(grep -c '^bad' "$T_DIR/recs")" = 0
check "300 records" test "$(wc -l < "$T_DIR/recs")" = 300
check "each task exactly once" test "$(cut -d' ' -f1 "$T_DIR/recs" | sort -n | tr '\n' ' ')" = "$(tr '\n' ' ' <<<"$ids")"
check "6 failed, 294 done" test "$(grep -c '^[0-9]* failed ' "$T_DIR/recs") $(grep -c '^[0-9]* done ' "$T_DIR/recs")" = "6 294"
# every body is what the task's own files say
bad=$($PY - "$T_DIR/raw" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
i = bad = 0
while i < len(data):
    nl = data.index(b"\n", i)
    tid, state, n = data[i:nl].split()
    n = int(n); body = data[nl + 1:nl + 1 + n]
    f = "result" if state == b"done" else "error"
    want = open("tasks/%s/%s" % (tid.decode(), f), "rb").read()
    if body != want:
        bad += 1
        print("# task", tid.decode(), repr(body), "!=", repr(want), file=sys.stderr)
    i = nl + 2 + n
print(bad)
EOF
)
check "each body is tasks/ID/result, or tasks/ID/error for a failure" test "$bad" = 0
first=$(head -1 <<<"$ids")
check "values: n * 2" grep -q "^$((first + 2)) done '6\\\\n'\$" "$T_DIR/recs"
check "no value: an empty body" grep -q "^$first done ''\$" "$T_DIR/recs"
check "a value of two lines" grep -q "^$((first + 1)) done 'a\\\\nb2\\\\n'\$" "$T_DIR/recs"
check "a failure: its traceback" grep -q "^$((first + 49)) failed '.*ZeroDivisionError" "$T_DIR/recs"
# the order of the ends, from the events read meanwhile (non-blocking)
task_ends 4 > "$T_DIR/ends"
exec 4<&-
check "in the order they ended" test "$(cut -d' ' -f1 "$T_DIR/recs" | tr '\n' ' ')" = "$(grep -Fx -f <(tr ' ' '\n' <<<"$ids") "$T_DIR/ends" | tr '\n' ' ')"
check "out of id order (so the order means something)" test "$(cut -d' ' -f1 "$T_DIR/recs" | tr '\n' ' ')" != "$(tr '\n' ' ' <<<"$ids")"

# as they end: the first result is read while the second task still runs
gate=$T_DIR/gate
exec 3<>tasks/batch
printf '6 * 7\n\036\nimport os, time\nwhile not os.path.exists(%s): time.sleep(0.01)\n"open"\n' "'$gate'" >&3
ids=$(cat <&3)
set -- $ids
IFS=' ' read -r -t 30 id state size <&3
check "the first result arrives while task $2 runs" test "$id $state $size" = "$1 done 3"
IFS= read -r -t 5 -N "$size" body <&3; read -r -t 5 nl <&3
check "its body, as tasks/$1/result reads" test "$body" = $'42\n'
check "task $2 has not ended" grep -qE '^(queued|running)' "tasks/$2/status"
touch "$gate"
# a shell's read builtin takes what it asks for: the fd is not seekable
IFS=' ' read -r -t 30 id state size <&3
IFS= read -r -t 5 -N "$size" body <&3; read -r -t 5 nl <&3
check "then the second ($id $state $body)" test "$id $state $body" = "$2 done 'open'"$'\n'
check "then end of file" test -z "$(timeout 10 cat <&3)"
exec 3>&-

# the other code files: one record per task they submitted
exec 3<>engines/0/exec; echo '6 * 7' >&3; id=$(cat <&3)
timeout 30 cat <&3 > "$T_DIR/one"
check "engines/0/exec: its result after the id" test "$(parse "$T_DIR/one")" = "$id done '42\\n'"
exec 3>&-
exec 3<>tasks/new; echo '1/0' >&3; id=$(cat <&3)
timeout 30 cat <&3 > "$T_DIR/new"
exec 3>&-
check "tasks/new: the failure and its traceback" test "$(head -1 "$T_DIR/new" | cut -d' ' -f1,2)" = "$id failed"
check "tasks/new: the body is tasks/$id/error" cmp -s <(tail -n +2 "$T_DIR/new" | head -c -1) "tasks/$id/error"
exec 3<>engines/all/exec; echo 'import os; os.getpid() > 0' >&3; ids=$(cat <&3)
timeout 30 cat <&3 > "$T_DIR/all"
exec 3>&-
check "engines/all/exec: one record per engine" test "$(parse "$T_DIR/all" | cut -d' ' -f1 | sort -n | xargs)" = "$(xargs <<<"$ids")"
check "engines/all/exec: all True" test "$(parse "$T_DIR/all" | cut -d' ' -f2,3 | sort -u)" = "done 'True\\n'"
cd / || exit 1
exit $fail
