#!/bin/bash
# The real daemon end to end, inside a private network namespace: baseline,
# a port opened, a port closed (IPv4 and IPv6), reload adding a job, a
# broken reload keeping the old config, SIGUSR1 run-now, SIGTERM mid-scan
# (run recorded as aborted, no false "closed"), restart (no immediate
# rescan, history intact). Checks stderr events and the database through
# the sqlite3 CLI.
. "$(dirname "$0")/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"

pw_netns_add daemon
export PW_DAEMON_NETNS=$PW_NETNS
db="$PW_TMP/history.db"
conf="$PW_TMP/portwatchd.conf"
mkdir -p "$PW_TMP/conf.d"

write_conf() { # extra job blocks on stdin
	cat >"$conf" <<CONF
database = "$db";
include_dir = "$PW_TMP/conf.d";
defaults = { jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; };
jobs = (
	{ name = "a"; targets = [ "127.0.0.1", "::1" ]; ports = [ "2001-2010" ]; interval = "${A_INTERVAL:-2s}"; }
$(cat)
);
CONF
}
q() { sqlite3 -batch -noheader "$db" "$@"; }
log_has() { grep -qE -- "$1" "$PW_TMP/daemon.log"; }
wait_log() { # PATTERN WHAT
	pw_wait_for "${3:-20}" log_has "$1" || { cat "$PW_TMP/daemon.log" >&2; pw_fail "$2"; }
}
runs_above() { [ "$(count_runs "$1")" -gt "$2" ]; } # JOB N: polled by pw_wait_for
reloads_at_least() { [ "$(grep -c 'reloaded' "$PW_TMP/daemon.log")" -ge "$1" ]; }
# The journal line comes at once, the row with the run's batch: poll for it.
q_is() { [ "$(q "$1")" = "$2" ]; }
wait_q() { # SQL WANT WHAT
	pw_wait_for 10 q_is "$1" "$2" || { cat "$PW_TMP/daemon.log" >&2; q 'SELECT id, run_id, address, port, kind FROM events; SELECT id, status FROM runs;' >&2; pw_fail "$3: got '$(q "$1")', want '$2'"; }
}
count_runs() { q "SELECT count(*) FROM runs JOIN jobs ON jobs.id = runs.job_id WHERE jobs.name = '$1' AND runs.status = '${2:-completed}';"; }

# -- baseline: one open port on each family
pw_netns_listen 127.0.0.1:2001 '[::1]:2001'
first=$PW_LISTEN_PID
write_conf </dev/null
pw_start_daemon --config "$conf" --log-level debug
wait_log 'Baseline recorded for job a' "no baseline"
# the start event counts what the run will probe: 2 addresses x 10 ports
pw_assert_grep "$PW_TMP/daemon.log" 'PORTWATCH_EVENT=run-started PORTWATCH_JOB=a .*PORTWATCH_PROBES_PLANNED=20( |\]|$)'
wait_q "SELECT count(*) FROM events WHERE kind = 'baseline' AND new_state = 'open';" 2 "baseline open ports"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind = 'opened';")" 0 "no 'opened' events in the baseline"
# the run's RTT estimate is saved for the next run to start from
rtt_saved() { [ "$(q "SELECT count(*) FROM rtt r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'a' AND r.address = '::' AND r.srtt_usec > 0;")" = 1 ]; }
pw_wait_for 10 rtt_saved || pw_fail "job a's RTT estimate was not saved"

# -- a port opens: warning-priority event, recorded once
pw_netns_listen 127.0.0.1:2002
wait_log '\[warning\]: 127\.0\.0\.1:2002 .*is now open \(was closed\)' "port 2002 opening was not logged at warning"
wait_q "SELECT count(*) FROM events WHERE kind = 'opened' AND port = 2002 AND address = '127.0.0.1';" 1 "opened event for 2002"

# -- ports close, on both families
pw_unlisten "$first"
wait_log '127\.0\.0\.1:2001 .*is now closed \(was open\)' "IPv4 close not logged"
wait_log '::1\]?:2001 .*is now closed \(was open\)' "IPv6 close not logged"
wait_q "SELECT count(*) FROM events WHERE kind = 'closed' AND port = 2001;" 2 "closed events for 2001"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind = 'closed' AND port <> 2001;")" 0 "no other closed events"

# -- reload adding a job
write_conf <<'JOB'
	, { name = "b"; targets = [ "127.0.0.2" ]; ports = [ "4000-4199" ]; interval = "1h"; rate = 100; }
JOB
kill -HUP "$PW_DAEMON_PID"
wait_log 'reloaded' "reload not logged"
# the notifier prints what it receives a moment after the daemon sent it
pw_wait_for 10 grep -q '^RELOADING=1' "$PW_TMP/notify.log" || pw_fail "no RELOADING=1 on reload"
# a new job starts on its own within the 30 s start spread; do not wait for it
kill -USR1 "$PW_DAEMON_PID"
wait_log 'Baseline recorded for job b' "the added job did not run"
# 200 probes at rate 100 take 2 s: the loop keeps the pace (no timer slack)
b_usec=$(grep -o 'PORTWATCH_EVENT=run-completed PORTWATCH_JOB=b .*PORTWATCH_DURATION_USEC=[0-9]*' "$PW_TMP/daemon.log" |
	head -n 1 | sed 's/.*PORTWATCH_DURATION_USEC=//')
[ -n "$b_usec" ] && [ "$b_usec" -ge 1500000 ] && [ "$b_usec" -le 6000000 ] ||
	pw_fail "job b (200 probes at 100/s) took ${b_usec:-?} us, want 1.5-6 s"

# -- a broken reload is rejected, the old config keeps running
runs_before=$(count_runs a)
printf 'jobs = ( { name = "a"; ports = [ "70000" ]; } );\n' >"$PW_TMP/conf.d/90-broken.conf"
kill -HUP "$PW_DAEMON_PID"
wait_log '90-broken\.conf:1: ' "the broken file's error (file:line) was not logged"
wait_log 'rejected' "rejection not logged"
rm "$PW_TMP/conf.d/90-broken.conf"
pw_wait_for 10 runs_above a "$runs_before" || { cat "$PW_TMP/daemon.log" >&2; pw_fail "job a stopped running after a rejected reload"; }
kill -0 "$PW_DAEMON_PID" || pw_fail "daemon died on a broken reload"

# -- SIGUSR1 runs a job now; a slow job is aborted by SIGTERM mid-scan
A_INTERVAL=1h write_conf <<'JOB'
	, { name = "slow"; targets = [ "127.0.0.1" ]; ports = [ "3000-3999" ]; interval = "3s"; rate = 50; }
JOB
kill -HUP "$PW_DAEMON_PID"
pw_wait_for 20 reloads_at_least 2 || pw_fail "second reload not logged"
sleep 1
runs_before=$(count_runs a)
kill -USR1 "$PW_DAEMON_PID"
pw_wait_for 10 runs_above a "$runs_before" || pw_fail "SIGUSR1 did not run job a now"
pw_wait_for 40 log_has 'Run [0-9]+ of job slow started' || pw_fail "job slow did not start"
# due again every 3 s while its 20 s run goes on: skipped, never overlapping
wait_log 'PORTWATCH_EVENT=run-skipped PORTWATCH_JOB=slow' "overrun of job slow not logged as skipped" 10
# a skip is a notice; the third in a row is one warning (issue 12.6)
pw_assert_grep "$PW_TMP/daemon.log" '\[notice\]: Run [0-9]+ of job slow skipped'
wait_log '\[warning\]: Job slow skipped its last 3 runs: one run takes longer than its interval of 3s' "a job behind its schedule was not warned about" 15
# a reload that changes only alerts and expectations keeps the run going
A_INTERVAL=1h write_conf <<'JOB'
	, { name = "slow"; targets = [ "127.0.0.1" ]; ports = [ "3000-3999" ]; interval = "3s"; rate = 50;
	    never_open = [ "3999" ]; alert = { events = [ "opened" ]; }; }
JOB
kill -HUP "$PW_DAEMON_PID"
pw_wait_for 20 reloads_at_least 3 || pw_fail "third reload not logged"
pw_assert_grep "$PW_TMP/daemon.log" 'reloaded.*0 added, 1 changed, 0 removed' "alert-only change not counted as changed"
sleep 0.5
pw_assert_no_grep "$PW_TMP/daemon.log" 'job slow .*aborted|aborted.*job slow' "an alert-only change aborted the running scan"
events_before=$(q "SELECT count(*) FROM events;")
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status after SIGTERM mid-scan"
pw_assert_eq "$(count_runs slow aborted)" 1 "slow run recorded as aborted"
[ "$(count_runs slow skipped)" -ge 1 ] || pw_fail "skipped run of job slow not recorded"
pw_assert_eq "$(count_runs slow completed)" 0 "a second run of job slow overlapped the first"
pw_assert_eq "$(q "SELECT count(*) FROM events e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'slow' AND e.kind <> 'baseline';")" 0 "aborted run produced non-baseline events"
pw_assert_eq "$(q "SELECT count(*) FROM runs WHERE status = 'running';")" 0 "runs left running"
pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "integrity_check"
pw_assert_grep "$PW_TMP/notify.log" '^STOPPING=1'

# -- restart: history intact, job a not rescanned at once (1h interval)
runs_a=$(count_runs a)
pw_start_daemon --config "$conf" --log-level debug
sleep 3
pw_assert_eq "$(count_runs a)" "$runs_a" "job a rescanned immediately after restart"
pw_assert_eq "$(q "SELECT count(*) FROM events;")" "$events_before" "history changed across restart"
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status of the restarted daemon"
pw_pass
