#!/usr/bin/env bash
# scripts/check-fresh.sh - "make check-fresh": the README's two commands on
# a fresh Debian 12 machine.  Builds a clean bookworm root with mmdebstrap
# (its default variant: what debootstrap installs) from apt's Debian
# sources on this machine, clones the current commit (HEAD; uncommitted
# changes are not in it) into it, and there, under chroot with /proc,
# /sys and /dev (so /dev/fuse) bound in:
#   1. the run command, non-interactively: scripts/readme-run starts the
#      README's "./cluster.sh -n 4", runs every example of README.md and
#      doc/ippfs.1 against it with its output checked, and stops it with a
#      Ctrl-C (only python3 is installed first, to run readme-run itself;
#      cluster.sh installs the rest);
#   2. the test command, ./test.sh.
# Prints what failed (and what was skipped) and exits non-zero if anything
# failed.  Takes about half an hour (most of it the ipyparallel suites), so
# it is not part of .ci/run; run it before changing dependencies, the
# README or the set-up scripts.  Needs root (mmdebstrap, chroot, mounts).
#
# usage: scripts/check-fresh.sh [--run-only] [--tests "PATTERN..."] [--keep]
#   --run-only  only the run command (step 1), about ten minutes
#   --tests P   the test command with these arguments (./test.sh P: some
#               tests only), for checking a fix
#   --keep      keep the root and its logs (printed at the end)
# Environment: CHECK_FRESH_DIR (where to make the work directory, a new
# check-fresh.XXXXXX, default /var/tmp), CHECK_FRESH_SUITE (default
# bookworm).
#
# Internally it re-runs itself: "--mounted ROOT" inside a private mount
# namespace (unshare -m) binds /proc /sys /dev and chroots; "--inside" is
# the part that runs in the fresh root.
set -u
suite=${CHECK_FRESH_SUITE:-bookworm}
run_only=0
keep=0
tests=

# --- inside the fresh root: the README's two commands -----------------------
if [ "${1:-}" = --inside ]; then
	run_only=$2 tests=${3:-}
	cd /root/ipp-c || exit 1
	export HOME=/root USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export DEBIAN_FRONTEND=noninteractive
	rc=0
	echo "=== check-fresh: installing python3 (for scripts/readme-run only)"
	{ apt-get update -qq && apt-get install -y -qq python3 >/dev/null; } ||
	    { echo "check-fresh: FAIL: apt-get install python3"; exit 1; }
	echo "=== check-fresh: the run command (scripts/readme-run)"
	scripts/readme-run 2>&1 | tee /root/readme-run.log
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	if [ "$run_only" = 0 ]; then
		echo "=== check-fresh: the test command (./test.sh)"
		# shellcheck disable=SC2086
		./test.sh $tests 2>&1 | tee /root/test.log
		[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
	fi
	exit $rc
fi

# --- in a private mount namespace: bind mounts, chroot, unmount --------------
if [ "${1:-}" = --mounted ]; then
	root=$2 run_only=$3 tests=${4:-}
	mount --make-rprivate / || exit 1
	umount_all() {
		local m
		# deepest first; lazily if a straggler still holds one
		for m in $(findmnt -rno TARGET | grep -E "^$root(/|\$)" | sort -r); do
			umount "$m" 2>/dev/null || umount -l "$m"
		done
	}
	trap umount_all EXIT
	# the root a mount point of its own, as / is on a machine ("ip netns"
	# makes / a slave mount)
	mount --bind "$root" "$root" &&
	    mount -t proc proc "$root/proc" &&
	    mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" &&
	    mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" ||
	    { echo "check-fresh: cannot mount /proc /sys /dev in $root"; exit 1; }
	[ -c "$root/dev/fuse" ] || echo "check-fresh: warning: no /dev/fuse"
	chroot "$root" /root/ipp-c/scripts/check-fresh.sh --inside "$run_only" "$tests"
	rc=$?
	# processes left in the root (there should be none) go before unmounting
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] &&
		    echo "check-fresh: left running: $(tr '\0' ' ' <"$p/cmdline")" &&
		    kill -KILL "${p#/proc/}" 2>/dev/null
	done
	exit $rc
fi

# --- outside: make the root, run, report -------------------------------------
while [ $# -gt 0 ]; do
	case $1 in
	--run-only) run_only=1 ;;
	--keep) keep=1 ;;
	--tests) tests=${2:?}; shift ;;
	*) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "check-fresh: needs root" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" fresh || exit 2
sha=$(git -C "$top" rev-parse HEAD) || exit 2
# a directory of our own, even inside a given one: cleanup removes it whole
mkdir -p "${CHECK_FRESH_DIR:-/var/tmp}" || exit 2
work=$(mktemp -d "${CHECK_FRESH_DIR:-/var/tmp}/check-fresh.XXXXXX") || exit 2
root=$work/root
echo "check-fresh: commit $sha, work directory $work"

# apt's Debian sources as configured here (deb822 .sources or one-line .list)
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources; do
	[ -s "$f" ] && grep -qi 'debian' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || { echo "check-fresh: no Debian apt sources found"; exit 2; }

cleanup() {
	if findmnt -rno TARGET | grep -Eq "^$root(/|\$)"; then
		echo "check-fresh: still mounted under $root, not removing it"
	elif [ $keep = 1 ]; then
		echo "check-fresh: kept $work"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT

t0=$(date +%s)
echo "check-fresh: mmdebstrap $suite from ${sources[*]}"
if ! mmdebstrap --mode=root "$suite" "$root" "${sources[@]}" \
    >"$work/mmdebstrap.log" 2>&1; then
	tail -20 "$work/mmdebstrap.log"
	echo "check-fresh: FAIL: mmdebstrap"
	exit 1
fi
# what a machine has that a bare root does not: name resolution, localhost
[ -s "$root/etc/resolv.conf" ] || cp /etc/resolv.conf "$root/etc/resolv.conf"
[ -s "$root/etc/hosts" ] ||
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# and its own name resolves, as the Debian installer sets it up
grep -qw "$(hostname)" "$root/etc/hosts" ||
    printf '127.0.1.1\t%s\n' "$(hostname)" >>"$root/etc/hosts"

git clone -q "$top" "$root/root/ipp-c" && git -C "$root/root/ipp-c" checkout -q --detach "$sha" ||
    { echo "check-fresh: FAIL: git clone"; exit 1; }
echo "check-fresh: root ready in $(( $(date +%s) - t0 ))s; running the README's commands"

unshare --mount --propagation private -- "$top/scripts/check-fresh.sh" \
    --mounted "$root" "$run_only" "$tests" >"$work/check.log" 2>&1
rc=$?

echo "--- check-fresh: the run command (README.md, doc/ippfs.1 examples):"
grep -E '^(not ok|# readme-run)' "$work/check.log"
grep -c '^ok - ' "$work/check.log" | sed 's/^/    ok lines: /'
if [ $run_only = 0 ]; then
	echo "--- check-fresh: the test command (./test.sh):"
	grep -E '^(FAIL|SKIP) |^ +skipped part:|^failed:|^[0-9]+ passed' "$work/check.log"
fi
grep '^check-fresh: ' "$work/check.log"
echo "check-fresh: $(( ($(date +%s) - t0) / 60 )) min; full log: $work/check.log"
if [ $rc -ne 0 ]; then
	keep=1
	echo "check-fresh: FAIL (the root and logs are kept in $work)"
	exit 1
fi
echo "check-fresh: PASS"
