#!/bin/bash
# Fault injection against the running daemon, in a private network and
# mount namespace: the database made read-only (chattr +i while running, a
# read-only bind mount at start), reached by a second daemon through a
# symbolic link (or a dangling link), its directory
# on a tiny tmpfs that fills up (ENOSPC), locked by another writer for
# longer than the busy timeout, replaced by garbage (while running and at
# start), RLIMIT_NOFILE forced low, and SIGKILL at random moments 20 times
# with a restart after each.
#
# After each fault: the daemon keeps running and catches up (the change
# made during the fault is in the database exactly once after it is
# removed) or exits with a clear message; PRAGMA integrity_check is ok;
# every opened/closed event matches a change this test made to its
# listeners; event counts never go down. A hook that hangs is covered by
# the alert tests. FAULTS_KILLS (default 20) sets the number of kills.
. "$(dirname "$0")/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"
command -v unshare >/dev/null || pw_skip "needs unshare (util-linux)"
command -v prlimit >/dev/null || pw_skip "needs prlimit (util-linux)"
if [ -z "${PW_IN_FAULT_NS:-}" ]; then
	rm -rf "$PW_TMP"
	trap - EXIT
	exec unshare --mount --propagation private env PW_IN_FAULT_NS=1 "$BASH" "$0" "$@"
fi

# a failure between chattr +i and -i must not leave an undeletable file
unprotect() { chattr -i "$PW_TMP"/data/* 2>/dev/null; true; }
PW_CLEANUP_HOOKS+=(unprotect)
pw_netns_add faults
export PW_DAEMON_NETNS=$PW_NETNS
pw_netns_filter 3000-3099 127.0.0.9
ports=(2001 2002 2003 2004)
declare -A lpid opened closed isopen
for p in "${ports[@]}"; do opened[$p]=0 closed[$p]=0 isopen[$p]=0; done

q() { sqlite3 -batch -noheader "$db" "$@"; }
log_has() { grep -qE -- "$1" "$PW_TMP/daemon.log"; }
wait_log() { # PATTERN WHAT [SECS]
	pw_wait_for "${3:-30}" log_has "$1" || { show_log; pw_fail "$2"; }
}
show_log() { grep -vE '\[debug\]|Run [0-9]+ of job [a-z]+ (completed|started|skipped)' "$PW_TMP/daemon.log" | tail -20 | cut -c1-300 >&2; }
write_conf() {
	cat >"$PW_TMP/portwatchd.conf" <<CONF
database = "$db";
control_socket = "$sock";
include_dir = "$PW_TMP/conf.d";
defaults = { jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; };
jobs = (
	{ name = "f"; targets = "127.0.0.1"; ports = "2001-2004"; interval = "1s";
	  alert = { command = [ "$top_srcdir/etc/hooks/log-to-file", "$PW_TMP/alerts.jsonl" ];
	            events = [ "opened", "closed" ]; }; },
	# 100 dropped ports keep a run in progress most of the time, so the
	# kills below also land inside runs
	{ name = "slow"; targets = "127.0.0.9"; ports = "3000-3099"; interval = "1s"; retries = 1; }
);
CONF
}
mkdir -p "$PW_TMP/conf.d"
sock=$PW_TMP/control.sock

# The listeners: the test's timeline of what it changed.
port_open() {
	pw_netns_listen "127.0.0.1:$1"
	lpid[$1]=$PW_LISTEN_PID isopen[$1]=1
	opened[$1]=$((opened[$1] + 1))
}
port_close() {
	pw_unlisten "${lpid[$1]}"
	isopen[$1]=0
	closed[$1]=$((closed[$1] + 1))
}
toggle() { if [ "${isopen[$1]}" = 1 ]; then port_close "$1"; else port_open "$1"; fi; }
ev_count() { q "SELECT count(*) FROM events WHERE kind IN ('opened', 'closed');"; }
# The events must be what the test did: per port, as many opened/closed
# events as opens/closes after the baseline (exact once caught up, at most
# that many while a change may still be pending).
check_events() { # exact|atmost WHAT
	local p o c
	pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "$2: integrity_check"
	for p in "${ports[@]}"; do
		o=$(q "SELECT count(*) FROM events WHERE kind = 'opened' AND port = $p;")
		c=$(q "SELECT count(*) FROM events WHERE kind = 'closed' AND port = $p;")
		if [ "$1" = exact ]; then
			[ "$o" = "$((opened[$p] - base_open[$p]))" ] && [ "$c" = "${closed[$p]}" ] ||
				pw_fail "$2: port $p: $o opened/$c closed events, test made $((opened[$p] - base_open[$p]))/${closed[$p]}"
		else
			[ "$o" -le "$((opened[$p] - base_open[$p]))" ] && [ "$c" -le "${closed[$p]}" ] ||
				pw_fail "$2: port $p: $o opened/$c closed events, more than the test made"
		fi
	done
	q "SELECT count(*) FROM events WHERE kind IN ('opened','closed') AND (address <> '127.0.0.1' OR port NOT BETWEEN 2001 AND 2004);" |
		grep -qx 0 || pw_fail "$2: events for ports the test never touched"
}
# caught_up WHAT: the database ends up with exactly the test's changes
caught_up() { pw_wait_for "${2:-30}" check_events_quiet || { show_log; check_events exact "$1"; }; }
check_events_quiet() { (check_events exact x) >/dev/null 2>&1; }
no_loss() { # BEFORE WHAT
	local now
	now=$(ev_count)
	[ "$now" -ge "$1" ] || pw_fail "$2: event count went down from $1 to $now"
}

start() { : >"$PW_TMP/daemon.log"; pw_start_daemon --config "$PW_TMP/portwatchd.conf" --log-level debug; }
slow_started_after() { [ "$(grep -c 'of job slow started' "$PW_TMP/daemon.log")" -gt "$1" ]; }
alive() { kill -0 "$PW_DAEMON_PID" 2>/dev/null || { tail -20 "$PW_TMP/daemon.log" >&2; pw_fail "$1: the daemon died"; }; }
declare -A base_open

# ------------------------------------------------------------ read-only
db=$PW_TMP/data/history.db
mkdir -p "$PW_TMP/data"
write_conf
port_open 2001
for p in "${ports[@]}"; do base_open[$p]=${opened[$p]}; done
start
wait_log 'Baseline recorded for job f' "no baseline"
wait_log 'Baseline recorded for job slow' "no baseline for job slow"
check_events exact "baseline"
if chattr +i "$db" 2>/dev/null; then
	[ -e "$db-wal" ] && chattr +i "$db-wal"
	before=$(ev_count)
	toggle 2002
	wait_log '2002 .*is now open' "read-only: the change was not detected"
	wait_log 'keeping [0-9]+ pending writes in memory' "read-only: the write failure was not logged"
	alive "read-only"
	chattr -i "$db" "$db-wal" 2>/dev/null || chattr -i "$db"
	wait_log 'Database writes succeed again' "read-only: no recovery logged" 20
	caught_up "read-only"
	no_loss "$before" "read-only"
	pw_log "ok: read-only database file: held back, written once writable again"
else
	pw_log "read-only case skipped: chattr +i is not supported on $PW_TMP"
fi

# ------------------------------------------------------------ symlinks
# The one-daemon lock is on the file SQLite opens: a second daemon reaching
# the running one's database through a symbolic link (or a link to a link)
# is refused like one on the same path, and the first one keeps running.
second() { # NAME DATABASE: a second daemon, which must exit 1 at once
	local st=0
	timeout 30 ip netns exec "$PW_NETNS" "$PORTWATCHD" --foreground --config "$PW_TMP/portwatchd.conf" \
		--database "$2" --control-socket "$PW_TMP/ctl-$1.sock" 2>"$PW_TMP/$1.log" || st=$?
	pw_assert_eq "$st" 1 "exit status of a second daemon on $2"
}
ln -s "$db" "$PW_TMP/link.db"
ln -s "$PW_TMP/link.db" "$PW_TMP/link2.db"
for l in link link2; do
	second "$l" "$PW_TMP/$l.db"
	pw_assert_grep "$PW_TMP/$l.log" "in use by another portwatchd" "a second daemon on $l.db was not refused"
done
alive "a second daemon on a link"
# a link to a missing file: refused, its target not created (SQLite would
# create it with its own mode)
ln -s "$PW_TMP/data/missing.db" "$PW_TMP/dangling.db"
second dangling "$PW_TMP/dangling.db"
pw_assert_grep "$PW_TMP/dangling.log" "dangling\.db is a symbolic link to a missing file"
[ ! -e "$PW_TMP/data/missing.db" ] || pw_fail "a dangling link's target was created"
pw_log "ok: symlinked database: $(grep -m1 'in use' "$PW_TMP/link.log" | cut -c1-160)"
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status after the read-only fault"

# read-only at start: its directory a read-only bind mount (read-only for
# root too; this is a private mount namespace)
mount --bind "$PW_TMP/data" "$PW_TMP/data" && mount -o remount,bind,ro "$PW_TMP/data" ||
	pw_fail "cannot make a read-only bind mount"
st=0
timeout 30 ip netns exec "$PW_NETNS" "$PORTWATCHD" --foreground --config "$PW_TMP/portwatchd.conf" \
	2>"$PW_TMP/ro-start.log" || st=$?
umount "$PW_TMP/data"
pw_assert_eq "$st" 1 "exit status on a read-only database at start"
pw_assert_grep "$PW_TMP/ro-start.log" "Cannot open the database:? .*history\.db"
pw_log "ok: read-only at start: $(grep -m1 'Cannot open' "$PW_TMP/ro-start.log")"

# ------------------------------------------------------------ ENOSPC
mkdir -p "$PW_TMP/small"
mount -t tmpfs -o size=1m pw-faults "$PW_TMP/small" || pw_fail "cannot mount a tmpfs"
PW_CLEANUP_HOOKS+=("umount -l $PW_TMP/small")
cp "$db" "$PW_TMP/small/history.db"
db=$PW_TMP/small/history.db
write_conf
start
sleep 2
before=$(ev_count)
dd if=/dev/zero of="$PW_TMP/small/filler" bs=4k 2>/dev/null || true
toggle 2003
wait_log '2003 .*is now open' "ENOSPC: the change was not detected"
wait_log 'keeping [0-9]+ pending writes in memory' "ENOSPC: the write failure was not logged"
alive "ENOSPC"
rm "$PW_TMP/small/filler"
wait_log 'Database writes succeed again' "ENOSPC: no recovery logged" 20
caught_up "ENOSPC"
no_loss "$before" "ENOSPC"
pw_log "ok: disk full: held back, written once space was freed"

# ------------------------------------------------------------ locked
# Another writer holds the lock for 45 s while the 1 s jobs run. The loop
# must not wait for it (issue 14.2): the control socket answers within 1 s
# throughout, the jobs keep their cadence, the failure says how much waits
# (runs count too), every run is written once the lock ends, and the
# recovery is logged once, when it happens.
before=$(ev_count)
: >"$PW_TMP/daemon.log"
( printf "BEGIN EXCLUSIVE;\nSELECT 1;\n"; sleep 45; printf "COMMIT;\n" ) | sqlite3 "$db" >"$PW_TMP/locker.log" 2>&1 &
locker=$!
sleep 1
toggle 2002
slow_answers=0 answers=0
while kill -0 "$locker" 2>/dev/null; do
	t0=$(date +%s%N)
	timeout 5 "$PORTWATCH" status --socket "$sock" --db "$db" --json >"$PW_TMP/status.json" 2>&1 || true
	t1=$(date +%s%N)
	answers=$((answers + 1))
	if [ $(((t1 - t0) / 1000000)) -ge 1000 ] || ! grep -q '"daemon": "running"' "$PW_TMP/status.json"; then
		slow_answers=$((slow_answers + 1))
		pw_log "status took $(((t1 - t0) / 1000000)) ms: $(head -c 200 "$PW_TMP/status.json")"
	fi
	sleep 0.5
done
wait "$locker"
pw_assert_eq "$slow_answers" 0 "locked: status answers over 1 s or without the daemon (of $answers)"
wait_log '2002 .*is now closed' "locked: the change was not detected"
pw_assert_grep "$PW_TMP/daemon.log" "keeping [1-9][0-9]* pending writes in memory" \
	"locked: the failure did not count what waits ($(cat "$PW_TMP/locker.log"))"
alive "locked"
locked_runs=$(grep -cE 'Run [0-9]+ of job f completed' "$PW_TMP/daemon.log")
[ "$locked_runs" -ge 25 ] || pw_fail "locked: job f completed $locked_runs runs in 45 s, want about 45"
wait_log 'Database writes succeed again' "locked: no recovery logged" 20
last_run=$(grep -oE 'Run [0-9]+ of job f completed' "$PW_TMP/daemon.log" | tail -1 | grep -oE '[0-9]+')
pw_wait_for 10 test "$(q "SELECT count(*) FROM runs WHERE id = $last_run AND status = 'completed';")" = 1 ||
	pw_fail "locked: run $last_run of job f never reached the database"
pw_assert_eq "$(grep -c 'Database writes succeed again' "$PW_TMP/daemon.log")" 1 "locked: recoveries logged"
caught_up "locked"
no_loss "$before" "locked"
pw_log "ok: locked for 45 s by another writer: $answers status answers all under 1 s, $locked_runs runs of a 1 s job, written after"

# ------------------------------------------------------------ RLIMIT_NOFILE
before=$(ev_count)
: >"$PW_TMP/daemon.log"
# only the soft limit: raising a hard limit again needs CAP_SYS_RESOURCE
prlimit --pid "$PW_DAEMON_PID" --nofile=8:20000 || pw_fail "prlimit refused"
toggle 2004
sleep 4
alive "RLIMIT_NOFILE=8"
prlimit --pid "$PW_DAEMON_PID" --nofile=20000:20000 || pw_fail "prlimit could not restore the limit"
caught_up "RLIMIT_NOFILE=8" 30
no_loss "$before" "RLIMIT_NOFILE"
pw_log "ok: RLIMIT_NOFILE=8 while running: kept running, caught up after; first warning: $(grep -m1 -E '\[(warning|err|crit)\]' "$PW_TMP/daemon.log" | cut -c1-160)"
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status after the fd limit fault"

# at start, a limit too low for the database and one socket
st=0
timeout 30 ip netns exec "$PW_NETNS" prlimit --nofile=5:5 "$PORTWATCHD" --foreground \
	--config "$PW_TMP/portwatchd.conf" 2>"$PW_TMP/nofile-start.log" &
nf=$!
sleep 4
if kill -0 "$nf" 2>/dev/null; then
	kill "$nf"; wait "$nf" || true
	pw_log "ok: RLIMIT_NOFILE=5 at start: kept running"
else
	wait "$nf" || st=$?
	[ "$st" = 1 ] || { cat "$PW_TMP/nofile-start.log" >&2; pw_fail "RLIMIT_NOFILE=5 at start: exit status $st"; }
	pw_assert_grep "$PW_TMP/nofile-start.log" "(Too many open files|Cannot)"
	pw_log "ok: RLIMIT_NOFILE=5 at start: exit 1, $(grep -m1 -E 'Too many|Cannot' "$PW_TMP/nofile-start.log")"
fi
pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "integrity after the fd limit faults"

# ------------------------------------------------------------ SIGKILL x N
kills=${FAULTS_KILLS:-20}
# what the daemons tell (journal lines, hooks) from here on, and the
# changes the test makes: a change is told once, not again by the daemon
# that finds it again after a kill (issue 12.5)
declare -A made_open made_closed
for p in "${ports[@]}"; do made_open[$p]=${opened[$p]} made_closed[$p]=${closed[$p]}; done
: >"$PW_TMP/told.all"
: >"$PW_TMP/alerts.jsonl"
told() { grep -E '127\.0\.0\.1:200[1-4] .*is now (open|closed)' "$PW_TMP/daemon.log" >>"$PW_TMP/told.all" || true; }
for ((k = 1; k <= kills; k++)); do
	before=$(ev_count)
	start
	# the change before the last kill is seen first (a port flipped twice
	# unseen would be no change at all), then a new change, then a kill at
	# a random moment while it is being found and written
	wait_log 'Run [0-9]+ of job f completed' "kill $k: no run after the restart"
	toggle "${ports[RANDOM % 4]}"
	if ((k % 2)); then
		# right after a run of job slow starts (within 50 ms of its
		# line): its row must already be in the database (issue 12.5)
		n0=$(grep -c 'of job slow started' "$PW_TMP/daemon.log")
		pw_wait_for 10 slow_started_after "$n0" || pw_fail "kill $k: job slow did not start"
	else
		sleep "$((RANDOM % 3)).$((RANDOM % 10))"
	fi
	kill -KILL "$PW_DAEMON_PID"
	wait "$PW_DAEMON_PID" 2>/dev/null || true
	grep -oE 'Run [0-9]+ of job [a-z]+ started' "$PW_TMP/daemon.log" >>"$PW_TMP/started.all" || true
	told
	pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "integrity after kill $k"
	check_events atmost "kill $k"
	no_loss "$before" "kill $k"
done
start
caught_up "after $kills kills"
# every run a killed daemon started is in the history, and no run id was
# handed out twice (a run whose row was lost had its id reused)
dups=$(awk '{ print $2 }' "$PW_TMP/started.all" | sort | uniq -d | head -5)
[ -z "$dups" ] || pw_fail "run ids started twice across the kills: $dups"
while read -r _ id _ _ job _; do
	got=$(q "SELECT j.name || ' ' || r.status FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = $id;")
	case "$got" in
	"$job aborted" | "$job completed") ;;
	*) pw_fail "run $id of job $job, started before a kill, is '$got' in the database" ;;
	esac
done <"$PW_TMP/started.all"
pw_stop_daemon TERM
told
# each change told at most once in the journal and by the hook (a kill
# between its commit and the telling may lose one: at most, not exactly)
n_told=0 n_made=0
for p in "${ports[@]}"; do
	for st in open closed; do
		if [ $st = open ]; then
			made=$((opened[$p] - made_open[$p])) hook=opened
		else
			made=$((closed[$p] - made_closed[$p])) hook=closed
		fi
		logged=$(grep -cE "127\.0\.0\.1:$p .*is now $st" "$PW_TMP/told.all" || true)
		hooked=$(grep -c "\"event\":\"$hook\".*\"port\":$p[,}]" "$PW_TMP/alerts.jsonl" || true)
		[ "$logged" -le "$made" ] ||
			pw_fail "port $p: 'is now $st' logged $logged times across the kills for $made changes"
		[ "$hooked" -le "$made" ] ||
			pw_fail "port $p: the $hook hook ran $hooked times across the kills for $made changes"
		n_told=$((n_told + logged)) n_made=$((n_made + made))
	done
done
aborted=$(q "SELECT count(*) FROM runs WHERE status = 'aborted';")
pw_log "ok: $kills SIGKILLs: integrity ok each time, every change recorded once after restart ($aborted runs closed as aborted); $n_told of $n_made changes told, none twice"

# ------------------------------------------------------------ garbage
# at start: a clear refusal, exit 1
events_final=$(ev_count)
cp "$db" "$PW_TMP/good.db"
head -c 65536 /dev/urandom >"$PW_TMP/garbage.db"
db_save=$db
db=$PW_TMP/garbage.db
write_conf
st=0
timeout 30 ip netns exec "$PW_NETNS" "$PORTWATCHD" --foreground --config "$PW_TMP/portwatchd.conf" \
	2>"$PW_TMP/garbage-start.log" || st=$?
pw_assert_eq "$st" 1 "exit status on a garbage database at start"
pw_assert_grep "$PW_TMP/garbage-start.log" "Cannot open the database:? .*garbage\.db"
pw_log "ok: garbage at start: $(grep -m1 'Cannot open' "$PW_TMP/garbage-start.log")"

# while running: the daemon keeps running or exits with a clear message
db=$db_save
write_conf
start
sleep 2
head -c 65536 /dev/urandom >"$db.tmp" && mv "$db.tmp" "$db"
rm -f "$db-wal" "$db-shm"
toggle 2001
# the store notices before its next batch; the change stays queued
wait_log 'replaced by another file while open.*keeping [0-9]+ pending writes' \
	"garbage by rename: the daemon did not notice its database was replaced" 20
alive "garbage by rename"
pw_log "ok: garbage by rename while running: kept running, $(grep -m1 -oE 'the database file was replaced[^;]*' "$PW_TMP/daemon.log")"
pw_stop_daemon TERM
pw_assert_grep "$PW_TMP/daemon.log" 'Writing the last history at stop: .*replaced' "the loss at stop was not logged"
pw_log "garbage by rename: exit status $PW_DAEMON_STATUS, $(grep -m1 -oE 'Writing the last history at stop: [^:]*' "$PW_TMP/daemon.log")"

# while running, in place: the daemon's own file overwritten (header too)
cp "$PW_TMP/good.db" "$db"
rm -f "$db-wal" "$db-shm"
start
sleep 2
dd if=/dev/urandom of="$db" bs=4096 count=8 conv=notrunc 2>/dev/null
toggle 2001
wait_log 'overwritten while open.*keeping [0-9]+ pending writes' \
	"garbage in place: the daemon did not notice its database was overwritten" 20
alive "garbage in place"
pw_log "ok: garbage in place while running: kept running, $(grep -m1 -oE 'the database file was overwritten[^;]*' "$PW_TMP/daemon.log")"
pw_stop_daemon TERM
pw_log "garbage in place: integrity_check afterwards: $(sqlite3 "$db" 'PRAGMA integrity_check;' 2>&1 | head -2 | tr '\n' ' ' | cut -c1-150)"
# a restart on that file runs, or refuses it with a clear message
timeout 30 ip netns exec "$PW_NETNS" "$PORTWATCHD" --foreground --config "$PW_TMP/portwatchd.conf" \
	2>"$PW_TMP/garbage-restart.log" &
gr=$!
sleep 4
if kill -0 "$gr" 2>/dev/null; then
	kill "$gr"
	st=0
	wait "$gr" || st=$?
	pw_log "garbage in place: restart ran (exit $st at SIGTERM)"
else
	st=0
	wait "$gr" || st=$?
	pw_assert_eq "$st" 1 "exit status of a restart on the damaged file"
	pw_assert_grep "$PW_TMP/garbage-restart.log" "Cannot open the database:? .*history\.db"
	pw_log "ok: garbage in place: restart refused: $(grep -m1 'Cannot open' "$PW_TMP/garbage-restart.log" | cut -c1-160)"
fi
pw_assert_eq "$(sqlite3 "$PW_TMP/good.db" 'PRAGMA integrity_check;')" ok "the copy taken before the garbage"
pw_log "history kept: $events_final change events over all faults"
pw_pass
