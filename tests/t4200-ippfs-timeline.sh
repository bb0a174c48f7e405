#!/usr/bin/env bash
# t4200-ippfs-timeline.sh - tasks/timeline.svg after 200 tasks on 4
# engines, 20 of them failing: valid XML, st_size that matches what a
# read returns, and, rendered by headless Chromium to a PNG, a picture
# of the expected size with bars in the failure colour and one lane per
# engine.  The PNG is kept as tests/out/timeline.png (and the SVG beside
# it) for a person to look at.  Then the /ctl window settings and
# engines/N/timeline.svg, and the history after a remount.
# timeout: 180
. "$(dirname "$0")/lib.sh"
need_python_ipp
command -v chromium >/dev/null || skip "chromium is not installed (scripts/deps.sh test)"
$PY -c 'import PIL' 2>/dev/null || skip "python3-pil is not installed (scripts/deps.sh test)"
ippfs_cluster 4
out=$T_TOP/tests/out
mkdir -p "$out"

# 200 tasks in one batch; every tenth raises
for i in $(seq 200); do
	if [ $((i % 10)) = 0 ]; then
		printf 'import time; time.sleep(0.03)\n1/0\n'
	else
		printf 'import time; time.sleep(0.01 * %d)\n%d\n' $((i % 4)) "$i"
	fi
	printf '\036\n'
done > "$T_DIR/batch"
exec 3<>tasks/batch; cat "$T_DIR/batch" >&3; ids=$(cat <&3); exec 3>&-
check "200 ids" test "$(wc -w <<<"$ids")" = 200
# wait through tasks/waitall, on those ids
exec 3<>tasks/waitall; echo $ids >&3; timeout 120 cat <&3 > "$T_DIR/wait"; exec 3>&-
check "all 200 ended" test "$(tail -1 "$T_DIR/wait" | cut -d' ' -f3)" = 200/200
check "180 done, 20 failed" test "$(grep -c ' done ' "$T_DIR/wait") $(grep -c ' failed ' "$T_DIR/wait")" = "180 20"

svg=$out/timeline.svg png=$out/timeline.png
size=$(stat -c %s tasks/timeline.svg)
cat tasks/timeline.svg > "$svg"
check "st_size ($size) is what a read returns ($(wc -c < "$svg"))" test "$size" = "$(wc -c < "$svg")"
check "the SVG is well-formed XML with an svg root" $PY - "$svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
assert r.get("version") == "1.1"
EOF
grep -m1 'tasks, ' "$svg" | sed 's/<[^>]*>//g; s/^/# title: /'
check "the title counts 180 done and 20 failed" grep -q '180 done, 20 failed' "$svg"
check "200 bars" test "$(grep -c '<rect x="[0-9]*" y="[0-9]*" width="[0-9]*" height="[0-9]*"><title>task' "$svg")" = 200

# headless Chromium draws it straight from the mount
h=$(sed -n 's/.*<svg [^>]*height="\([0-9]*\)".*/\1/p' "$svg")
rm -f "$png"
timeout 90 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$T_DIR/chromium" --window-size=1000,"$h" \
    --screenshot="$png" "file://$MNT/tasks/timeline.svg" \
    > "$T_DIR/chromium.log" 2>&1
check "chromium rendered a PNG" test -s "$png" || tail -5 "$T_DIR/chromium.log"
echo "# picture kept in $png"
check "the picture: size, failure bars, one lane per engine" $PY - "$png" "$h" 4 <<'EOF'
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
w, h, lanes = im.size[0], int(sys.argv[2]), int(sys.argv[3])
assert im.size == (1000, h), im.size
px = im.load()
bars = {(44, 160, 44), (214, 39, 40), (31, 119, 180), (255, 159, 28),
        (127, 127, 127), (148, 103, 189)}
red = sum(1 for y in range(h) for x in range(110, w) if px[x, y] == (214, 39, 40))
print("# failure-coloured pixels:", red)
assert red > 50, red
# bands of rows holding bar colours in the plot area: the lanes (the
# legend's swatches are 12 px high, bars 18)
rows = [any(px[x, y] in bars for x in range(110, w, 1)) for y in range(h)]
bands, y = [], 0
while y < h:
    if rows[y]:
        y0 = y
        while y < h and rows[y]:
            y += 1
        bands.append((y0, y - y0))
    y += 1
tall = [b for b in bands if b[1] >= 16]
print("# bands of bars (top, height):", bands)
assert len(tall) == lanes, tall
EOF

# the window: the last 10 tasks only
echo 'settings timeline_tasks 10' > ctl
check "ctl shows timeline_tasks 10" grep -qx 'timeline_tasks 10' ctl
check "10 bars with timeline_tasks 10" test "$(grep -c '<title>task' tasks/timeline.svg)" = 10
echo 'settings timeline_tasks 1000' > ctl
echo 'settings timeline_seconds 0.000001' > ctl
check "no bars with a tiny timeline_seconds" test "$(grep -c '<title>task' tasks/timeline.svg)" = 0
echo 'settings timeline_seconds 0' > ctl
if echo 'settings timeline_tasks 0' > ctl 2>/dev/null; then no "timeline_tasks 0 refused"; else ok "timeline_tasks 0 refused"; fi
n=$(grep -c '<title>task.* on engine 2,' engines/2/timeline.svg)
check "engines/2/timeline.svg draws engine 2's tasks only ($n)" test "$n" -gt 0 -a "$n" = "$(grep -c 'on engine 2,' "$svg")"
check "engines/2/timeline.svg has one lane" test "$(grep -c '>engine [0-9]*</text>' engines/2/timeline.svg)" = 1

# after a remount, the picture comes from the controller's history
cd / || exit 1
fusermount3 -u "$MNT"
wait_for 10 gone "$IPPFS_PID" || no "ippfs exited at unmount"
mount_ippfs
cd "$MNT" || exit 1
cat tasks/timeline.svg > "$T_DIR/again.svg"
check "after a remount: 200 bars from the history" test "$(grep -c '<title>task' "$T_DIR/again.svg")" = 200
check "after a remount: 180 done, 20 failed" grep -q '180 done, 20 failed' "$T_DIR/again.svg"
cd / || exit 1
exit $fail
