#!/usr/bin/env bash
# t0150-one-assertion-style.sh - the shell tests report in one way: lib.sh's
# ok/no/check/is.  No test prints its own "ok -"/"not ok" line (echo or
# printf) or defines its own ok/no/check/is/fail, which would shadow
# lib.sh's and its $fail.  Python clients printing TAP inside a test are
# fine: client_done and the tests read their lines.  Also checks the
# helpers' contract the tests lean on: check and is return the check's
# status, and a test that said "not ok" fails however it exits.
. "$(dirname "$0")/lib.sh"
cd "$T_TOP" || exit 1

# own_tap FILE...: the lines that print TAP or redefine a helper
own_tap() {
	grep -nE "(^|[;&|{(]|then|else|do)[[:space:]]*(echo|printf)[[:space:]]+(-[a-z]+[[:space:]]+)?[\"']?(not )?ok\b|^[[:space:]]*(function[[:space:]]+)?(ok|no|check|is|fail)[[:space:]]*\(\)" "$@"
}

# (this file is left out: its samples below are what the checker finds)
scripts=()
for f in tests/t[0-9][0-9][0-9][0-9]-*.sh tests/ippfs-cover.sh tests/setup/*.sh; do
	[ "$f" = tests/t0150-one-assertion-style.sh ] || scripts+=("$f")
done
check "there are shell tests to look at" test "${#scripts[@]}" -gt 50
found=$(own_tap "${scripts[@]}")
check "no shell test prints its own TAP lines or redefines a helper" \
    test -z "$found" || echo "$found" | sed 's/^/#   /'
# lib.sh itself defines the helpers and nothing else prints TAP
found=$(grep -nE "(echo|printf)[[:space:]]+[\"']?(not )?ok\b" tests/lib.sh |
    grep -vE '^[0-9]+:(ok|no)\(\) \{ echo "(not )?ok - \$\*"; (fail=1; )?\}$')
check "lib.sh prints TAP only in ok and no" test -z "$found" ||
    echo "$found" | sed 's/^/#   /'

# the checker sees each form it forbids, and passes what is allowed
cat >"$T_DIR/bad.sh" <<'EOF'
echo "ok - hand-rolled"
grep -q x f || { echo "not ok - hand-rolled"; exit 1; }
[ -e f ] && printf 'ok - %s\n' x
fail() { echo "FAIL: $*"; exit 1; }
check() { :; }
EOF
cat >"$T_DIR/good.sh" <<'EOF'
check "a check" true
grep -q x f || { no "it is there"; exit 1; }
echo "# ok so far"
echo "$out" | grep -q "ok"
print("ok - from a Python client")
	t.ok(len(pids) >= 1)
no_jobs() { true; }
EOF
is "the checker finds each of five forbidden lines" 5 \
    sh -c "grep -c . <<EOF
$(own_tap "$T_DIR/bad.sh")
EOF"
check "the checker passes lib.sh-style lines" \
    eval '! own_tap "$T_DIR/good.sh" >/dev/null'

# the helpers' contract
cat >"$T_DIR/said-not-ok.sh" <<EOF
. "$T_TOP/tests/lib.sh"
no "something"
exit 0
EOF
cat >"$T_DIR/said-ok.sh" <<EOF
. "$T_TOP/tests/lib.sh"
ok "something"
check "true" true
exit 0
EOF
cat >"$T_DIR/status.sh" <<EOF
. "$T_TOP/tests/lib.sh"
check "false" false && exit 3
is "x" y echo x && exit 4
check "true" true || exit 5
is "x" x echo x || exit 6
exit 0
EOF
check "a test that said \"not ok\" and exits 0 fails" \
    eval '! bash "$T_DIR/said-not-ok.sh" >/dev/null'
check "a test that said only \"ok\" passes" eval 'bash "$T_DIR/said-ok.sh" >/dev/null'
is "check and is return the check's status (the script exits 1, via \$fail)" 1 \
    sh -c "bash '$T_DIR/status.sh' >/dev/null; echo \$?"

# wait_for runs its condition again and again, but a $(...) written in it
# unquoted is expanded once, before the first try: wait_for 30 test -n
# "$(pgrep x)" waits 30 s on a fixed answer (t3160 failed in CI so).
# Such a condition goes in single quotes for eval, or in a function.
once_subst() {
	grep -nE "wait_for[[:space:]]+[0-9]+[[:space:]]+(test|\[|\[\[)[[:space:]][^'|&;]*[$][(]" "$@"
}
found=$(once_subst "${scripts[@]}")
check "no wait_for condition holds a substitution expanded once" \
    test -z "$found" || echo "$found" | sed 's/^/#   /'
cat >"$T_DIR/once.sh" <<'EOF'
wait_for 30 test -n "$(pgrep x)" || no "x"
wait_for 5 [ "$(cat f)" = 1 ]
wait_for 30 eval '[ -n "$(pgrep x)" ]' || no "x"
wait_for 20 grep -q "^host $(hostname)\$" f
EOF
is "the checker finds the two one-shot conditions" 2 \
    eval 'once_subst "$T_DIR/once.sh" | grep -c .'
exit $fail
