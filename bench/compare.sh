#!/bin/bash
# bench/compare.sh - is a change no slower?  Old and new binaries measured
# in one run, alternated, so that both see the same machine.
#
# usage: bench/compare.sh OLD_REV [SCRIPT...]
#
# Builds OLD_REV (any git revision) in a scratch worktree, then runs each
# SCRIPT (default: hub-capacity ippfs, i.e. bench/b-hub-capacity.sh and
# bench/b-ippfs.sh) COMPARE_ROUNDS times (default 3) with the old hubd,
# engined and ippfs and as often with this tree's, in the order old new
# new old old new ... (so a drift of the machine's load over the run hits
# both alike), ours only (the ipyparallel peers are skipped: they are the
# same in both).  The harness - tools/loadgen, simengines, fsbench - is
# this tree's in both, as it is not what is compared.  Prints, for each
# figure the scripts report (their RESULT lines), the median of the old
# runs, of the new, and new/old; "better" says which way is good.
#
# Environment: COMPARE_ROUNDS (3), COMPARE_DIR (scratch; default a new
# directory under /tmp, removed at the end), and the scripts' own knobs
# (REPEAT defaults to 1 here: the rounds are the repeats).
cd "$(dirname "$0")/.." || exit 1
top=$(pwd)

[ $# -ge 1 ] || { echo "usage: bench/compare.sh OLD_REV [SCRIPT...]" >&2; exit 2; }
old_rev=$(git rev-parse --verify "$1^{commit}") ||
    { echo "compare: '$1' is not a revision" >&2; exit 2; }
shift
scripts=("$@")
[ $# -gt 0 ] || scripts=(hub-capacity ippfs)
rounds=${COMPARE_ROUNDS:-3}
export REPEAT=${REPEAT:-1} FS_REPEAT=${FS_REPEAT:-1}
export CAP_SKIP_PEER=1 FS_SKIP_PEER=1

scratch=${COMPARE_DIR:-$(mktemp -d /tmp/ippcompare.XXXXXX)}
mkdir -p "$scratch"
tree=$scratch/old
cleanup() {
	git worktree remove --force "$tree" 2>/dev/null
	[ -n "${COMPARE_DIR:-}" ] || rm -rf "$scratch"
}
trap cleanup EXIT

echo "compare: building $old_rev in $tree"
git worktree add -q --detach "$tree" "$old_rev" || exit 2
make -C "$tree" -j2 hubd/hubd engined/engined ippfs/ippfs \
    >"$scratch/build.log" 2>&1 ||
    { tail -20 "$scratch/build.log"; echo "compare: old build failed"; exit 2; }
make -j2 >"$scratch/build-new.log" 2>&1 ||
    { tail -20 "$scratch/build-new.log"; echo "compare: build failed"; exit 2; }

# median of the arguments ("nan" for none), as bench/lib.sh's
median() {
	printf '%s\n' "$@" | grep . | sort -g | awk '{ a[NR] = $1 }
	    END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
	    else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# run WHICH SCRIPT N: one run, its RESULT lines kept as WHICH-SCRIPT-N
run() {
	local which=$1 s=$2 n=$3 dir out
	[ "$which" = old ] && dir=$tree || dir=$top
	out=$scratch/$which-$s-$n.out
	echo "compare: $s, $which binaries, round $n"
	HUBD=$dir/hubd/hubd ENGINED=$dir/engined/engined \
	    IPPFS=$dir/ippfs/ippfs bash "bench/b-$s.sh" >"$out" 2>&1 ||
	    { tail -5 "$out"; echo "compare: $s failed ($which, round $n)"; }
}

for s in "${scripts[@]}"; do
	[ -f "bench/b-$s.sh" ] || { echo "compare: no bench/b-$s.sh" >&2; exit 2; }
	for n in $(seq 1 "$rounds"); do
		if [ $((n % 2)) = 1 ]; then run old "$s" "$n"; run new "$s" "$n"
		else run new "$s" "$n"; run old "$s" "$n"; fi
	done
done

echo "== old $old_rev against new $(git rev-parse HEAD)$(git diff --quiet HEAD ||
    echo ' (with uncommitted changes)'), medians of $rounds rounds"
printf '%-36s %12s %12s %8s %-6s  %s\n' figure old new new/old better "each round"
for s in "${scripts[@]}"; do
	cat "$scratch"/old-"$s"-*.out "$scratch"/new-"$s"-*.out 2>/dev/null |
	    awk '/^RESULT/ { print $2 "_" $3 }' | sort -u |
	while read -r key; do
		o=() w=()
		for f in "$scratch"/old-"$s"-*.out; do
			o+=($(awk -v k="$key" '/^RESULT/ && $2 "_" $3 == k {
			    sub("ours=", "", $4); print $4 }' "$f"))
		done
		for f in "$scratch"/new-"$s"-*.out; do
			w+=($(awk -v k="$key" '/^RESULT/ && $2 "_" $3 == k {
			    sub("ours=", "", $4); print $4 }' "$f"))
		done
		mo=$(median $(printf '%s\n' "${o[@]}" | grep -v nan))
		mw=$(median $(printf '%s\n' "${w[@]}" | grep -v nan))
		[ "$mo" = nan ] && [ "$mw" = nan ] && continue
		case $key in
		*_per_s) better=higher ;;
		*_us|*_us_*|*_s|*_over_floor) better=lower ;;
		*) better=higher ;;
		esac
		printf '%-36s %12s %12s %8s %-6s  old: %s  new: %s\n' "$key" \
		    "$mo" "$mw" "$(awk -v a="$mw" -v b="$mo" 'BEGIN {
		    if (b + 0 == 0) print "nan"; else printf "%.3g", a / b }')" \
		    "$better" "${o[*]}" "${w[*]}"
	done
done
