#!/usr/bin/env bash
# t4110-ippfs-ns-names.sh - ippfs over hubd + engined: the names under
# engines/N/ns/.  Too long: ENAMETOOLONG (never cut to a shorter name);
# not an identifier: EINVAL; dunder names (__builtins__) refused with
# EPERM unless /ctl "settings ns_dunder 1"; 100,000 stats of absent
# names leave ippfs's memory where it was.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
ippfs_cluster 1
ns=engines/0/ns
# errno WHAT PATTERN CMD...: CMD fails with an error matching PATTERN
errno() {
	local what=$1 pat=$2 out
	shift 2
	if out=$("$@" 2>&1); then no "$what (it succeeded)"; else
		if grep -q "$pat" <<<"$out"; then ok "$what"; else
			no "$what"; echo "#   got: '$out'"; fi
	fi
}

a255=$(printf 'a%.0s' $(seq 255))
long1=${a255}$(printf 'b%.0s' $(seq 45))
long2=${a255}$(printf 'c%.0s' $(seq 45))
errno "a 300-character name: ENAMETOOLONG" 'too long' bash -c "echo 1 > $ns/$long1"
errno "another one: ENAMETOOLONG" 'too long' bash -c "echo 2 > $ns/$long2"
errno "reading one: ENAMETOOLONG" 'too long' cat "$ns/$long1"
errno "nothing was written under the first 255 characters" 'No such file' cat "$ns/$a255"
echo 3 > "$ns/$a255"
check "a 255-character name works" test "$(cat "$ns/$a255")" = 3
errno "a non-identifier name: EINVAL" 'Invalid argument' bash -c "echo 1 > $ns/a-b"
errno "another one: EINVAL" 'Invalid argument' bash -c "echo 1 > $ns/9lives"
errno "a wrong suffix: EINVAL" 'Invalid argument' bash -c "echo 1 > $ns/x.txt"

errno "writing __builtins__: EPERM" 'not permitted' bash -c "echo 1 > $ns/__builtins__"
errno "rm of a dunder name: EPERM" 'not permitted' rm "$ns/__name__"
errno "engines/all/ns/__builtins__: EPERM" 'not permitted' bash -c "echo 1 > engines/all/ns/__builtins__"
check "exec still works" test "$(cat tasks/$(exec 3<>engines/0/exec; printf '6 * 7\n' >&3; read -r id <&3; echo $id)/result)" = 42
check "a dunder name can be read" grep -q "'__main__'" $ns/__name__
check "/ctl shows ns_dunder 0" grep -qx 'ns_dunder 0' ctl
echo 'settings ns_dunder 1' > ctl
check "/ctl shows ns_dunder 1" grep -qx 'ns_dunder 1' ctl
echo "'set here'" > $ns/__doc__
check "allowed: a dunder name is written" test "$(cat $ns/__doc__)" = "'set here'"
echo 'settings ns_dunder 0' > ctl
errno "refused again" 'not permitted' bash -c "echo 1 > $ns/__doc__"

# memory: absent names do not pile up
rss() { awk '/^VmRSS/ { print $2 }' /proc/$IPPFS_PID/status; }
stats() {
	$PY - "$MNT/$ns" "$1" "$2" <<'PYEOF'
import os, sys
d, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(a, b):
    try:
        os.stat("%s/absent_name_number_%d" % (d, i))
    except OSError:
        pass
PYEOF
}
stats 0 20000
r0=$(rss)
stats 20000 120000
r1=$(rss)
echo "# ippfs RSS: $r0 KiB after 20,000 absent-name stats, $r1 KiB after 100,000 more"
check "100,000 absent-name stats: RSS grew $((r1 - r0)) KiB (< 2048)" test $((r1 - r0)) -lt 2048
echo 5 > $ns/kept
check "names still work after that" test "$(cat $ns/kept)" = 5
cd / || exit 1
exit $fail
