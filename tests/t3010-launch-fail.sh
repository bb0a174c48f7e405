#!/usr/bin/env bash
# t3010-launch-fail: engines that die at start make "launch start" exit
# non-zero with the reason and the tail of the engine's log, and what was
# started (the controller) is stopped again; a controller that cannot
# start, a missing ippfs for --mount and a bad option are clear errors.
. "$(dirname "$0")/lib.sh"
[ -x "$LAUNCH" ] || { echo "launch not built"; exit 1; }

cat >"$T_DIR/bad-engine" <<'SH'
#!/bin/sh
echo "bad-engine: cannot import the frobnicator" >&2
exit 3
SH
chmod +x "$T_DIR/bad-engine"
if launch_cmd start -n 2 --daemonize --engine-cmd="$T_DIR/bad-engine" \
    >"$T_DIR/out" 2>&1; then
	cat "$T_DIR/out"; no "start with failing engines succeeded"; exit 1
fi
cat "$T_DIR/out"
grep -q "exited with status 3" "$T_DIR/out" || { no "reason"; exit 1; }
grep -q "cannot import the frobnicator" "$T_DIR/out" ||
    { no "log tail"; exit 1; }
ok "failing engines: non-zero exit, reason and log tail"
[ ! -e "$PROFILE/security/cluster-.json" ] || { no "state left"; exit 1; }
pgrep -f -- "--profile-dir=$PROFILE" && { no "processes left"; exit 1; }
ok "nothing left behind"

if launch_cmd start -n 1 --daemonize --controller-cmd=/bin/false >"$T_DIR/out" 2>&1; then
	no "start with a failing controller succeeded"; exit 1
fi
grep -q "controller exited with status 1" "$T_DIR/out" ||
    { cat "$T_DIR/out"; no "controller failure reason"; exit 1; }
ok "failing controller"

if launch_cmd start -n 1 --daemonize --controller-cmd=/nonexistent/hubd >"$T_DIR/out" 2>&1; then
	no "start with a missing controller succeeded"; exit 1
fi
check "the error names the missing program" grep -q "/nonexistent/hubd" "$T_DIR/out" ||
    { cat "$T_DIR/out"; exit 1; }
ok "missing controller program"

if [ ! -x "$T_TOP/ippfs/ippfs" ] && ! command -v ippfs >/dev/null; then
	if launch_cmd start -n 1 --daemonize --mount="$T_DIR/mnt" >"$T_DIR/out" 2>&1; then
		no "--mount without ippfs succeeded"; exit 1
	fi
	check "the error says --mount needs ippfs" grep -q "mount needs ippfs" "$T_DIR/out" ||
	    { cat "$T_DIR/out"; exit 1; }
	ok "--mount without ippfs is a clear error"
fi

"$LAUNCH" start --bogus >"$T_DIR/out" 2>&1 && { no "bad option"; exit 1; }
check "the error names the unknown option" grep -q "unknown option '--bogus'" "$T_DIR/out" ||
    { cat "$T_DIR/out"; exit 1; }
"$LAUNCH" frob >/dev/null 2>&1 && { no "bad command"; exit 1; }
launch_cmd start --engines=nosuch >"$T_DIR/out" 2>&1 && { no "unknown launcher"; exit 1; }
check "the error names the unknown launcher" grep -q "unknown engine launcher 'nosuch'" "$T_DIR/out" ||
    { cat "$T_DIR/out"; exit 1; }
ok "bad options, commands and launchers"

# timeout: engines that never register
cat >"$T_DIR/idle-engine" <<'SH'
#!/bin/sh
exec sleep 30
SH
chmod +x "$T_DIR/idle-engine"
if launch_cmd start -n 1 --daemonize --timeout=1 --engine-cmd="$T_DIR/idle-engine" \
    >"$T_DIR/out" 2>&1; then
	no "start with idle engines succeeded"; exit 1
fi
check "the error counts the registered engines" grep -q "only 0 of 1 engines registered" "$T_DIR/out" ||
    { cat "$T_DIR/out"; exit 1; }
pgrep -f "$T_DIR/idle-engine" && { no "idle engine left"; exit 1; }
ok "registration timeout stops everything"
exit $fail
