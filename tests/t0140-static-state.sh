#!/usr/bin/env bash
# t0140-static-state.sh - one rule for state per program: no writable
# file-level (static or global) variable in libipp, hubd, engined, ippfs
# or launch except those tests/static/allow.txt names with a reason.
# The compiler says what is writable: objdump lists each object's
# symbols in .data/.bss (read-only tables after relocation live in
# .data.rel.ro and .rodata and are not listed).
. "$(dirname "$0")/lib.sh"
cd "$T_TOP" || exit 1
allow=tests/static/allow.txt
command -v objdump >/dev/null || skip "objdump (binutils) is not installed"
found=$T_DIR/found
for o in libipp/*.o hubd/*.o engined/*.o ippfs/*.o launch/*.o; do
	objdump -t "$o" | awk -v f="$o" '$0 ~ / O / &&
	    ($4 ~ /^\.(data|bss)/) && $4 !~ /rel\.ro/ { print f, $NF }'
done | sort -u >"$found"
check "objects were found (the tree is built)" test -s "$found"
grep -v '^#' "$allow" | awk 'NF >= 3 { print $1, $2 }' | sort -u >"$T_DIR/allowed"
extra=$(comm -23 "$found" "$T_DIR/allowed")
check "no writable file-level state outside the allow-list${extra:+: $(echo $extra)}" \
    test -z "$extra"
# every exception says why, and none is stale
check "each allowed symbol gives a reason" sh -c "! grep -v '^#' '$allow' | awk 'NF > 0 && NF < 3' | grep -q ."
stale=$(comm -13 "$found" "$T_DIR/allowed")
check "no stale allow-list entry${stale:+: $(echo $stale)}" test -z "$stale"
# the checker catches a new one (a scratch object with a static)
printf 'static int counter; int bump(void); int bump(void) { return ++counter; }\n' >"$T_DIR/x.c"
cc -c -O2 -o "$T_DIR/x.o" "$T_DIR/x.c"
check "a static int is seen as writable state" sh -c \
    "objdump -t '$T_DIR/x.o' | awk '\$0 ~ / O / && \$4 ~ /^\\.(data|bss)/' | grep -q counter"
exit $fail
