#!/usr/bin/env bash
# t3135-pyconfig-daemons: hubd reads the profile's ipcontroller_config.py
# and .json, engined its ipengine_config.py, as ipcontroller and ipengine
# do: .json over .py, a subclass (IPController) over the deprecated
# HubFactory, the command line over both; an unknown trait is warned
# about by name, and a config error stops the program with the file and
# line.  A file holding only what "ipython profile create" writes costs
# no Python (IPP_PYTHON points nowhere and engined still starts).
# timeout: 90
. "$(dirname "$0")/lib.sh"
need_python_ipp
mkdir -p "$PROFILE"
cat >"$PROFILE/ipcontroller_config.py" <<'PYEOF'
c = get_config()  # noqa
c.TaskScheduler.scheme_name = 'lru'
c.HubFactory.location = 'from-hubfactory'
c.IPController.location = 'from-ipcontroller'
c.IPController.no_such_trait = 1
PYEOF
echo '{"TaskScheduler": {"scheme_name": "twobin"}}' >"$PROFILE/ipcontroller_config.json"

hub_scheme() {	# LOG: the scheme hubd reported
	sed -n 's/.*hubd ready: .*scheme \([a-z]*\),.*/\1/p' "$1"
}
start_hubd --log-level=INFO
check "ipcontroller_config.json wins over .py (twobin)" test "$(hub_scheme "$T_DIR/hubd.log")" = twobin
check "IPController.location wins over HubFactory.location" \
    grep -q '"location": *"from-ipcontroller"' "$PROFILE/security/ipcontroller-client.json"
check "the unknown trait is named" grep -q "IPController.no_such_trait" "$T_DIR/hubd.log"
kill "$HUB_PID"
wait_for 10 sh -c "! kill -0 $HUB_PID" || no "hubd stops"

rm -f "$PROFILE"/security/*.json
start_hubd --log-level=INFO --scheme=pure
check "the command line wins (--scheme=pure)" test "$(hub_scheme "$T_DIR/hubd.log")" = pure

# engined: the template alone needs no Python
printf 'c = get_config()  # noqa\n# c.IPEngine.work_dir = "x"\n\n' >"$PROFILE/ipengine_config.py"
IPP_PYTHON=/nonexistent/python3 start_engined 1
wait_engines 1 || no "engined with a template-only ipengine_config.py"
mkdir -p "$T_DIR/wd"
cat >"$PROFILE/ipengine_config.py" <<PYEOF
c.IPEngine.work_dir = '$T_DIR/wd'
c.IPEngine.startup_command = 'from_file = 1'
PYEOF
IPP_PYTHON=/nonexistent/python3 "$ENGINED" --profile-dir="$PROFILE" >"$T_DIR/nopy.log" 2>&1
check "with settings the file is evaluated (no Python: an error)" grep -q "could not evaluate" "$T_DIR/nopy.log"
start_engined 1 --startup-command='from_cli = 2'
wait_engines 2 || no "second engine"
$PY - "$PROFILE" "$T_DIR/wd" <<'PYEOF' || no "engine settings"
import sys, ipyparallel as ipp
c = ipp.Client(profile_dir=sys.argv[1], timeout=10)
c.wait_for_engines(2, timeout=30)
e = c[c.ids[-1]]
assert e.apply_sync(__import__("os").getcwd) == sys.argv[2], "work_dir"
assert e.apply_sync(lambda: "from_cli" in globals() and
    "from_file" not in globals()), "startup_command"
print("ok - c.IPEngine.work_dir from the file; --startup-command wins over it")
c.close()
PYEOF

printf 'c.IPEngine.timeout = 5\nc.IPEngine.work_dir = 1 +\n' >"$PROFILE/ipengine_config.py"
"$ENGINED" --profile-dir="$PROFILE" >"$T_DIR/bad.log" 2>&1
rc=$?
cat "$T_DIR/bad.log"
check "a syntax error stops engined" test $rc -ne 0
check "... naming ipengine_config.py:2" grep -q "ipengine_config.py:2: SyntaxError" "$T_DIR/bad.log"
printf 'c.IPController.ip = undefined_name\n' >"$PROFILE/ipcontroller_config.py"
"$HUBD" --profile-dir="$PROFILE" >"$T_DIR/badhub.log" 2>&1
rc=$?
cat "$T_DIR/badhub.log"
check "an error stops hubd" test $rc -ne 0
"$HUBD" --profile-dir="$PROFILE" --scheme=bogus >"$T_DIR/badopt.log" 2>&1
check "a bad option value is still reported" grep -q "unknown scheme 'bogus'" "$T_DIR/badopt.log"
check "... naming ipcontroller_config.py:1" grep -q "ipcontroller_config.py:1: NameError" "$T_DIR/badhub.log"
exit $fail
