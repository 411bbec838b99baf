#!/bin/bash
# Benchmark (run by hand, as root): a daemon with 50 jobs, idle between
# runs, must use no measurable CPU (no busy polling) and stay under 8 MB RSS.
# Everything runs inside a private network namespace this script creates.
#
#   tests/bench/daemon-idle.sh [BUILD_DIR]     (default: ./build)
set -euo pipefail
build=$(realpath "${1:-build}")
daemon=$build/portwatchd
[ -x "$daemon" ] || { echo "no $daemon: build first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespace)" >&2; exit 77; }

ns=pw-idle-$$
tmp=$(mktemp -d)
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
mkdir -p "$tmp/conf.d"
ip -n "$ns" link set lo up

{
	echo "database = \"$tmp/idle.db\";"
	echo "include_dir = \"$tmp/conf.d\";"
	echo "jobs = ("
	for i in $(seq 1 50); do
		[ "$i" -gt 1 ] && echo ","
		echo "{ name = \"job$i\"; targets = [ \"127.0.$((i / 250)).$((i % 250 + 1))\" ]; ports = [ \"22\", \"80\", \"443\" ]; interval = \"1h\"; }"
	done
	echo ");"
} >"$tmp/idle.conf"

ip netns exec "$ns" "$daemon" --foreground --config "$tmp/idle.conf" 2>"$tmp/daemon.log" &
sleep 1
kill -0 $! 2>/dev/null || { cat "$tmp/daemon.log" >&2; exit 1; }
pid=$!
hz=$(getconf CLK_TCK)
# New jobs start within the 30 s start spread; measure after it.
echo "waiting 35 s for every job's first run..." >&2
sleep 35
runs=$(grep -c 'completed in' "$tmp/daemon.log" || true)
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
t0=$(ticks)
sleep 30
t1=$(ticks)
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
hwm_kb=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
cpu_ms=$(( (t1 - t0) * 1000 / hz ))
echo "jobs: 50, first runs completed: $runs"
echo "idle CPU over 30 s: ${cpu_ms} ms ($(( (t1 - t0) )) ticks at ${hz} Hz)"
echo "RSS: ${rss_kb} kB now, ${hwm_kb} kB peak (target < 8192 kB)"
[ "$runs" -ge 50 ] || { echo "FAIL: not every job ran" >&2; exit 1; }
[ "$cpu_ms" -le 20 ] || { echo "FAIL: idle daemon used CPU" >&2; exit 1; }
[ "$rss_kb" -lt 8192 ] || { echo "FAIL: RSS over 8 MB" >&2; exit 1; }
echo "PASS"
