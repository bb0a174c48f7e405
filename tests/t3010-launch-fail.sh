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
	cat "$T_DIR/out"; echo "not ok - start with failing engines succeeded"; exit 1
fi
cat "$T_DIR/out"
grep -q "exited with status 3" "$T_DIR/out" || { echo "not ok - reason"; exit 1; }
grep -q "cannot import the frobnicator" "$T_DIR/out" ||
    { echo "not ok - log tail"; exit 1; }
echo "ok - failing engines: non-zero exit, reason and log tail"
[ ! -e "$PROFILE/security/cluster-.json" ] || { echo "not ok - state left"; exit 1; }
pgrep -f -- "--profile-dir=$PROFILE" && { echo "not ok - processes left"; exit 1; }
echo "ok - nothing left behind"

if launch_cmd start -n 1 --daemonize --controller-cmd=/bin/false >"$T_DIR/out" 2>&1; then
	echo "not ok - start with a failing controller succeeded"; exit 1
fi
grep -q "controller exited with status 1" "$T_DIR/out" ||
    { cat "$T_DIR/out"; echo "not ok - controller failure reason"; exit 1; }
echo "ok - failing controller"

if launch_cmd start -n 1 --daemonize --controller-cmd=/nonexistent/hubd >"$T_DIR/out" 2>&1; then
	echo "not ok - start with a missing controller succeeded"; exit 1
fi
grep -q "/nonexistent/hubd" "$T_DIR/out" || { cat "$T_DIR/out"; exit 1; }
echo "ok - missing controller program"

if [ ! -x "$T_TOP/ippfs/ippfs" ] && ! command -v ippfs >/dev/null; then
	if launch_cmd start -n 1 --daemonize --mount="$T_DIR/mnt" >"$T_DIR/out" 2>&1; then
		echo "not ok - --mount without ippfs succeeded"; exit 1
	fi
	grep -q "mount needs ippfs" "$T_DIR/out" || { cat "$T_DIR/out"; exit 1; }
	echo "ok - --mount without ippfs is a clear error"
fi

"$LAUNCH" start --bogus >"$T_DIR/out" 2>&1 && { echo "not ok - bad option"; exit 1; }
grep -q "unknown option '--bogus'" "$T_DIR/out" || { cat "$T_DIR/out"; exit 1; }
"$LAUNCH" frob >/dev/null 2>&1 && { echo "not ok - bad command"; exit 1; }
launch_cmd start --engines=nosuch >"$T_DIR/out" 2>&1 && exit 1
grep -q "unknown engine launcher 'nosuch'" "$T_DIR/out" || { cat "$T_DIR/out"; exit 1; }
echo "ok - bad options, commands and launchers"

# timeout: engines that never register
cat >"$T_DIR/idle-engine" <<'SH'
#!/bin/sh
exec sleep 30
SH
chmod +x "$T_DIR/idle-engine"
if launch_cmd start -n 1 --daemonize --timeout=1 --engine-cmd="$T_DIR/idle-engine" \
    >"$T_DIR/out" 2>&1; then
	echo "not ok - start with idle engines succeeded"; exit 1
fi
grep -q "only 0 of 1 engines registered" "$T_DIR/out" || { cat "$T_DIR/out"; exit 1; }
pgrep -f "$T_DIR/idle-engine" && { echo "not ok - idle engine left"; exit 1; }
echo "ok - registration timeout stops everything"
