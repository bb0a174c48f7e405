#!/usr/bin/env bash
# t4020-ippfs-ipcontroller.sh - ippfs against the real ipcontroller and
# ipengines: exec, load-balanced tasks, errors, and ns/ through the
# generated-code fallback (ipengine has no data path).
. "$(dirname "$0")/lib.sh"
need_python_ipp
start_ipcontroller
wait_for 30 test -s "$PROFILE/security/ipcontroller-client.json" || exit 1
start_ipengines 2
wait_engines 2 60 || exit 1
mount_ippfs
cd "$MNT" || exit 1

check "two engines" grep -qx 'engines 2' status
exec 3<>engines/0/exec; printf 'print("hi"); 6 * 7\n' >&3; read -r id <&3; exec 3>&-
check "exec result from ipengine" test "$(timeout 20 cat tasks/$id/result)" = 42
check "exec stdout from ipengine" test "$(cat tasks/$id/stdout)" = hi
exec 3<>tasks/new; printf '1/0\n' >&3; read -r id <&3; exec 3>&-
if out=$(timeout 20 cat tasks/$id/result 2>&1); then no "failing task"; else
	check "EREMOTEIO from ipengine" grep -q 'Remote I/O error' <<<"$out"; fi
check "traceback without colour codes" grep -q '^ZeroDivisionError' tasks/$id/error
ns=engines/1/ns
echo '[1, 2]' > $ns/v
check "fallback push literal, pull repr" test "$(cat $ns/v)" = '[1, 2]'
echo '{"a": 1}' > $ns/j.json
check "fallback JSON" test "$(cat $ns/j.json)" = '{"a": 1}'
printf 'xy' > $ns/r.raw
check "fallback raw" test "$(cat $ns/r.raw)" = xy
check "fallback ls" bash -c "ls $ns | grep -qx v"
rm $ns/v
check "fallback rm" bash -c "! cat $ns/v 2>/dev/null"
check "engine kind" grep -qx 'kind ipengine' engines/1/info
check "reset via control" bash -c 'echo reset > engines/0/ctl'
cd / || exit 1
exit $fail
