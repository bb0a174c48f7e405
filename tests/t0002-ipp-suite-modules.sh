#!/usr/bin/env bash
# t0002-ipp-suite-modules: the expected lists of ipyparallel's suite
# (tests/ipp-suite/*.txt) record the optional modules that were importable
# when they were made; run-suite fails at once, naming the Debian package,
# when one is missing here (rather than counting the passes it lacks), and
# scripts/deps.sh's test set installs every package they name.
. "$(dirname "$0")/lib.sh"
need_python_ipp
$PY -c 'import pytest_asyncio, pytest_timeout' 2>/dev/null ||
    skip "the suite's pytest plugins are not installed (scripts/deps.sh)"
suite=$T_TOP/tests/ipp-suite

# every list says what it was recorded with; deps.sh's test set installs it
testset=$(awk '/^test="/ { f = 1 } f { print } f && /"$/ { exit }' "$T_TOP/scripts/deps.sh")
for f in "$suite"/baseline-ipcontroller.txt "$suite"/expected-*.txt; do
	mods=$(sed -n 's/^# modules://p' "$f")
	[ -n "$mods" ] && ok "$(basename "$f") records: $mods" ||
	    no "$(basename "$f") has no '# modules:' line"
	for m in $mods; do
		grep -Eq "(^|[[:space:]\"])${m#*=}([[:space:]\"]|$)" <<<"$testset" &&
		    ok "deps.sh's test set installs ${m#*=} (${m%%=*})" ||
		    no "scripts/deps.sh's test set lacks ${m#*=}, which $(basename "$f") needs"
	done
done

# a module missing here: exit 2 before any test runs, naming the package
{ echo "# modules: json=python3 nosuchmod_t0002=python3-nosuchmod-t0002"; echo 1
  echo "ipyparallel/tests/test_apps.py::test_bind_kernel"; } >"$T_DIR/expected.txt"
t0=$(date +%s)
"$suite/run-suite" --files test_apps.py --out "$T_DIR/out" \
    --expect-passed "$T_DIR/expected.txt" >"$T_DIR/run.log" 2>&1
rc=$?
cat "$T_DIR/run.log"
[ $rc -eq 2 ] && ok "missing module: run-suite exits 2" || no "missing module: exit $rc, want 2"
grep -q "python3-nosuchmod-t0002" "$T_DIR/run.log" && ok "the message names the package" ||
    no "the message does not name python3-nosuchmod-t0002"
! grep -q "python3 " "$T_DIR/run.log" && ok "only the missing package is named" || no "python3 named though json imports"
! grep -q "collected" "$T_DIR/run.log" &&
    ok "at once: no test collected ($(($(date +%s) - t0)) s)" || no "run-suite went on running tests"
exit $fail
