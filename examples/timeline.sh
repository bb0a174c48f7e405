#!/usr/bin/env bash
# timeline.sh - save the mount's Gantt picture of recent tasks.
# usage: timeline.sh MOUNTPOINT OUT.svg|OUT.png [TASKS [ENGINE]]
# Copies tasks/timeline.svg (engines/ENGINE/timeline.svg with ENGINE)
# to OUT; for a .png, headless Chromium draws it.  TASKS, if given,
# first sets how many of the last tasks the picture shows (/ctl
# "settings timeline_tasks").  Prints the picture's title line.
set -eu
mnt=$1 out=$2 n=${3:-} eng=${4:-}
[ -n "$n" ] && echo "settings timeline_tasks $n" > "$mnt/ctl"
src=$mnt/tasks/timeline.svg
[ -n "$eng" ] && src=$mnt/engines/$eng/timeline.svg
case $out in
*.png)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cat "$src" > "$tmp/t.svg"
	h=$(sed -n 's/.*<svg [^>]*height="\([0-9]*\)".*/\1/p' "$tmp/t.svg")
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	    --user-data-dir="$tmp/profile" --window-size=1000,"$h" \
	    --screenshot="$out" "file://$tmp/t.svg" >/dev/null 2>&1
	svg=$tmp/t.svg ;;
*)
	cat "$src" > "$out"
	svg=$out ;;
esac
# the title: the first <text> element, tags dropped
grep -m1 '<text' "$svg" | sed 's/<[^>]*>//g'
