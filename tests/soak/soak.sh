#!/bin/bash
# Soak: the daemon runs 4 jobs (interval 2 s) for SOAK_SECONDS (default
# 600) against loopback listeners in a private network namespace that the
# test opens and closes at random. Each state is held at least 3 intervals
# (6 s), so every change is observable. At the end:
#   - every change the test made is in the database exactly once, as an
#     opened or closed event of the right port, and nothing else is;
#   - RSS and open fds of the daemon, measured after warm-up and at the
#     end, stay flat (RSS within SOAK_RSS_SLACK_KB, default 2048 KiB; fds
#     equal), and both are printed for the README;
#   - PRAGMA integrity_check is ok and the daemon exits 0 on SIGTERM.
# `make soak` runs the full 10 minutes; make check runs soak-short.sh (60 s).
. "$(dirname "$0")/../integration/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"

secs=${SOAK_SECONDS:-600}
hold=6
pw_netns_add soak
export PW_DAEMON_NETNS=$PW_NETNS
db=$PW_TMP/soak.db
# four jobs, each on its own address with four ports
addrs=(127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4)
ports=(3001 3002 3003 3004)
{
	echo "database = \"$db\";"
	echo "include_dir = \"$PW_TMP/conf.d\";"
	echo 'defaults = { jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; interval = "2s"; };'
	echo 'jobs = ('
	for i in 0 1 2 3; do
		echo "  { name = \"soak$i\"; targets = \"${addrs[i]}\"; ports = \"3001-3004\"; }$([ $i -lt 3 ] && echo ,)"
	done
	echo ');'
} >"$PW_TMP/portwatchd.conf"
mkdir -p "$PW_TMP/conf.d"

declare -A lpid isopen since nopen nclose
for a in "${addrs[@]}"; do
	for p in "${ports[@]}"; do
		k="$a:$p" isopen[$k]=0 since[$k]=0 nopen[$k]=0 nclose[$k]=0
	done
done
# half of the ports start open: the baseline
for a in "${addrs[@]}"; do
	for p in 3001 3003; do
		pw_netns_listen "$a:$p"
		lpid["$a:$p"]=$PW_LISTEN_PID isopen["$a:$p"]=1
	done
done

pw_start_daemon --config "$PW_TMP/portwatchd.conf"
q() { sqlite3 -batch -noheader "$db" "$@"; }
baselines() { [ "$(q "SELECT count(DISTINCT job_id) FROM events WHERE kind = 'baseline';" 2>/dev/null)" = 4 ]; }
pw_wait_for 30 baselines || pw_fail "the four baselines were not recorded"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind = 'baseline' AND new_state = 'open';")" 8 "open ports in the baselines"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$PW_DAEMON_PID/status"; }
# Probe sockets come and go with the runs: the fewest fds seen over 2 s is
# the daemon's own, which a leak would raise.
fds() {
	local n m=1000000 i
	for ((i = 0; i < 20; i++)); do
		n=$(ls "/proc/$PW_DAEMON_PID/fd" | wc -l)
		((n < m)) && m=$n
		sleep 0.1
	done
	echo "$m"
}
sleep 4 # warm-up: the first runs allocate what every run reuses
rss0=$(rss) fd0=$(fds)
pw_log "start: RSS $rss0 KiB, $fd0 fds; running $secs s"

start=$SECONDS
changes=0
while ((SECONDS - start < secs - hold * 2)); do
	now=$SECONDS
	# flip a random port that has held its state long enough
	a=${addrs[RANDOM % 4]} p=${ports[RANDOM % 4]} k="$a:$p"
	if ((now - since[$k] >= hold)); then
		if [ "${isopen[$k]}" = 1 ]; then
			pw_unlisten "${lpid[$k]}"
			isopen[$k]=0 nclose[$k]=$((nclose[$k] + 1))
		else
			pw_netns_listen "$k"
			lpid[$k]=$PW_LISTEN_PID isopen[$k]=1 nopen[$k]=$((nopen[$k] + 1))
		fi
		since[$k]=$now
		changes=$((changes + 1))
	fi
	sleep 0.5
done
sleep $((hold * 2)) # the last changes are seen and written
rss1=$(rss) fd1=$(fds)
runs=$(q "SELECT count(*) FROM runs WHERE status = 'completed';")
pw_log "end: RSS $rss1 KiB, $fd1 fds; $changes changes made, $runs runs completed"

# exactly the test's changes, once each
bad=0
for k in "${!isopen[@]}"; do
	a=${k%:*} p=${k##*:}
	o=$(q "SELECT count(*) FROM events WHERE kind = 'opened' AND address = '$a' AND port = $p;")
	c=$(q "SELECT count(*) FROM events WHERE kind = 'closed' AND address = '$a' AND port = $p;")
	if [ "$o" != "${nopen[$k]}" ] || [ "$c" != "${nclose[$k]}" ]; then
		pw_log "$k: $o opened/$c closed events, test made ${nopen[$k]}/${nclose[$k]}"
		bad=1
	fi
done
other=$(q "SELECT count(*) FROM events WHERE kind NOT IN ('baseline', 'opened', 'closed');")
total=$(q "SELECT count(*) FROM events WHERE kind IN ('opened', 'closed');")
[ "$bad" = 0 ] || pw_fail "the database does not hold exactly the test's changes"
pw_assert_eq "$other" 0 "events of other kinds (flaps, filtered...)"
pw_assert_eq "$total" "$changes" "change events in the database"
pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "integrity_check"

slack=${SOAK_RSS_SLACK_KB:-2048}
[ "$fd1" = "$fd0" ] || pw_fail "open fds grew from $fd0 to $fd1"
# Under AddressSanitizer RSS says nothing (freed memory sits in its
# quarantine, up to 256 MiB); LeakSanitizer checks at exit instead.
if ldd "$PORTWATCHD" 2>/dev/null | grep -q libasan; then
	pw_log "ASan build: RSS not compared (quarantine); leaks are checked at exit"
else
	((rss1 - rss0 <= slack)) || pw_fail "RSS grew from $rss0 KiB to $rss1 KiB (more than $slack KiB)"
fi
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status"
pw_log "SOAK $secs s: $changes changes, all recorded once; $runs runs; RSS $rss0 -> $rss1 KiB; fds $fd0 -> $fd1"
pw_pass
