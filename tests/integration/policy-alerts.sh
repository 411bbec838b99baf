#!/bin/bash
# Expected-state policy, alert hooks and the control socket with the real
# daemon inside a private network namespace:
#  - a port open against the policy is logged at warning as unexpected-open
#    (at baseline and later), an expected port that is closed or closes as
#    expected-closed, an expected change at notice; the events carry their
#    verdict in the database and current violations show in the view;
#  - a hook gets the event in PORTWATCH_* variables and as one JSON object
#    on stdin (validated by pw-json-check);
#  - a hook that hangs is killed at its timeout while runs keep completing;
#  - a flood of events: at most 4 hooks run, 64 wait, the rest are dropped
#    and logged, and every event is still in the database;
#  - `portwatch run JOB` runs a job at once (every run of this test is
#    started that way) and fails clearly without a daemon;
#  - `portwatch ack EVENT_ID` marks a violation acknowledged.
. "$(dirname "$0")/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"
: "${PORTWATCH:?run through make check (PORTWATCH unset)}"

pw_netns_add policy
export PW_DAEMON_NETNS=$PW_NETNS
db="$PW_TMP/history.db"
conf="$PW_TMP/portwatchd.conf"
sock="$PW_TMP/control.sock"
hooks="$PW_TMP/hooks"
mkdir -p "$PW_TMP/conf.d" "$hooks"

# Each call records its environment and stdin in a file of its own.
cat >"$PW_TMP/record-hook" <<'HOOK'
#!/bin/sh
f="$1/$PORTWATCH_EVENT.$PORTWATCH_PORT.$$"
env | grep '^PORTWATCH_' | sort >"$f.env"
cat >"$f.tmp" && mv "$f.tmp" "$f.json" # whole when it appears
echo "recorded $PORTWATCH_EVENT $PORTWATCH_PORT"
HOOK
cat >"$PW_TMP/hang-hook" <<'HOOK'
#!/bin/sh
echo "hanging for $PORTWATCH_PORT"
touch "$1/hang.started"
exec sleep 1000
HOOK
cat >"$PW_TMP/slow-hook" <<'HOOK'
#!/bin/sh
touch "$1/flood.$PORTWATCH_PORT"
# long enough that all 200 events are in before the first 4 hooks end
sleep 1
HOOK
chmod +x "$PW_TMP/record-hook" "$PW_TMP/hang-hook" "$PW_TMP/slow-hook"

# Jobs run when asked (`portwatch run`) and, being new, once on their own
# within the 30 s start spread; the 1h interval keeps them from more.
cat >"$conf" <<CONF
database = "$db";
control_socket = "$sock";
include_dir = "$PW_TMP/conf.d";
defaults = { interval = "1h"; jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; };
alert = {
	command = [ "$PW_TMP/record-hook", "$hooks" ];
	events = [ "unexpected-open", "expected-closed", "opened", "closed" ];
	timeout = "5s";
};
jobs = (
	{ name = "pol"; targets = [ "127.0.0.1" ]; ports = [ "2001-2010" ];
	  expect_open = [ "2001", "2002" ]; never_open = [ "2009" ]; },
	{ name = "hang"; targets = [ "127.0.0.2" ]; ports = [ "2100" ]; never_open = [ "2100" ];
	  alert = { command = [ "$PW_TMP/hang-hook", "$hooks" ]; timeout = "5s"; }; },
	{ name = "flood"; targets = [ "127.0.0.3" ]; ports = [ "3000-3199" ]; never_open = [ "3000-3199" ];
	  accept_all_threshold = 0.0;
	  alert = { command = [ "$PW_TMP/slow-hook", "$hooks" ]; timeout = "10s"; }; }
);
CONF

q() { sqlite3 -batch -noheader "$db" "$@"; }
log_has() { grep -qE -- "$1" "$PW_TMP/daemon.log"; }
wait_log() { # PATTERN WHAT [SECS]
	pw_wait_for "${3:-20}" log_has "$1" || { cat "$PW_TMP/daemon.log" >&2; pw_fail "$2"; }
}
count_runs() { q "SELECT count(*) FROM runs JOIN jobs ON jobs.id = runs.job_id WHERE jobs.name = '$1' AND runs.status = 'completed';" 2>/dev/null || echo 0; }
runs_above() { [ "$(count_runs "$1")" -gt "$2" ]; }
hook_files() { find "$hooks" -name "$1" | wc -l; }
# hook_seen GLOB [MIN]: a hook has written a file matching GLOB (at least
# MIN of them). A function, so pw_wait_for looks again on every try; a
# "$(ls ...)" argument would be read once, before the hook ran.
hook_seen() { [ "$(hook_files "$1")" -ge "${2:-1}" ]; }
# run_now JOB: `portwatch run` and wait for the run it started to complete
# New jobs also start on their own within the daemon's 30 s start spread:
# when that run is going, wait for it to end and ask again.
run_now() {
	local before out try
	for try in 1 2 3; do
		before=$(count_runs "$1")
		out=$("$PORTWATCH" run --socket "$sock" "$1" 2>&1) && break
		case "$out" in
		*"already running"*)
			pw_wait_for 20 runs_above "$1" "$before" || pw_fail "portwatch run $1: the running run never ended"
			;;
		*) pw_fail "portwatch run $1: $out" ;;
		esac
	done
	[ "$out" = "Job $1 runs now." ] || pw_fail "portwatch run $1 said: $out"
	pw_wait_for 10 runs_above "$1" "$before" || { cat "$PW_TMP/daemon.log" >&2; pw_fail "portwatch run $1: no run completed"; }
}

# -- no daemon yet: a clear error, exit 1
out=$("$PORTWATCH" run --socket "$sock" pol 2>&1) && pw_fail "portwatch run without a daemon succeeded"
pw_assert_eq "$out" "portwatch run: portwatchd is not running (no socket at $sock)" "message without a daemon"
"$PORTWATCH" run --socket "$sock" pol 2>/dev/null
pw_assert_eq "$?" 1 "exit status without a daemon"

# -- baseline: 2001 expected and open, 2002 expected but closed, 2005 and 2009
# open against the policy
pw_netns_listen 127.0.0.1:2001 127.0.0.1:2005 127.0.0.1:2009
first=$PW_LISTEN_PID
pw_start_daemon --config "$conf" --log-level debug
pw_wait_for 10 test -S "$sock" || pw_fail "no control socket at $sock"
pw_assert_eq "$(stat -c %a "$sock")" 600 "control socket mode"
out=$("$PORTWATCH" run --socket "$sock" nosuchjob 2>&1) && pw_fail "portwatch run of an unknown job succeeded"
pw_assert_eq "$out" "portwatch run: nosuchjob: no such job" "unknown job message"
run_now pol
wait_log 'Baseline recorded for job pol' "no baseline for pol"
wait_log '\[warning\]: 127\.0\.0\.1:2005 .*is open but the policy does not expect it \[job pol\] \[PORTWATCH_EVENT=unexpected-open' "baseline unexpected-open 2005 not logged at warning"
wait_log '\[warning\]: 127\.0\.0\.1:2009 .*is open but the policy does not expect it' "never_open 2009 not logged at warning"
wait_log '\[warning\]: 127\.0\.0\.1:2002 .*is closed but the policy expects it open .*PORTWATCH_EVENT=expected-closed' "baseline expected-closed 2002 not logged at warning"
pw_assert_no_grep "$PW_TMP/daemon.log" '2001 .*policy' "the expected open port 2001 was reported"
pw_assert_eq "$(q "SELECT group_concat(port || '=' || coalesce(policy, '-'), ' ') FROM (SELECT port, policy FROM events e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'pol' ORDER BY port);")" \
	"2001=- 2002=expected-closed 2005=unexpected-open 2009=unexpected-open" "baseline events and verdicts"
pw_assert_eq "$(q "SELECT group_concat(port || ':' || policy || ':' || acked, ' ') FROM (SELECT * FROM violations WHERE job = 'pol' ORDER BY port);")" \
	"2002:expected-closed:no 2005:unexpected-open:no 2009:unexpected-open:no" "violations after the baseline"

# -- the hook's view of one event: environment and JSON
pw_wait_for 10 hook_seen 'unexpected-open.2005.*.json' || pw_fail "no hook call for 2005"
env_file=$(ls "$hooks"/unexpected-open.2005.*.env | head -1)
json_file=${env_file%.env}.json
# the run that recorded it: job pol may have run on its own (new jobs start
# within the 30 s start spread) before `portwatch run`
run_id=$(q "SELECT e.run_id FROM events e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'pol' AND e.port = 2005 AND e.policy = 'unexpected-open';")
pw_assert_eq "$(grep -v '^PORTWATCH_TIME=' "$env_file" | tr '\n' ' ')" \
	"PORTWATCH_ADDRESS=127.0.0.1 PORTWATCH_EVENT=unexpected-open PORTWATCH_JOB=pol PORTWATCH_NEW_STATE=open PORTWATCH_PORT=2005 PORTWATCH_RUN_ID=$run_id " \
	"hook environment"
pw_assert_grep "$env_file" '^PORTWATCH_TIME=20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
"$PW_HELPERS/pw-json-check" "$json_file" || pw_fail "the hook's stdin is not one JSON document: $(cat "$json_file")"
pw_assert_grep "$json_file" "^\{\"event\":\"unexpected-open\",\"job\":\"pol\",\"run_id\":$run_id,\"address\":\"127\.0\.0\.1\",\"port\":2005,\"new_state\":\"open\",\"time\":\"[0-9T:Z-]+\",\"time_usec\":[0-9]+\}$"
wait_log "Alert hook $PW_TMP/record-hook for unexpected-open of job pol exited with status 0 .*output: recorded unexpected-open 2005" "hook exit and output not logged"
pw_assert_eq "$(hook_files 'expected-closed.2002.*.env')" 1 "hook calls for the baseline expected-closed"
pw_assert_eq "$(hook_files '*.2001.*.env')" 0 "hook called for the expected open port"

# -- an expected port closes (warning), an expected port opens (notice)
pw_unlisten "$first"
pw_netns_listen 127.0.0.1:2002 127.0.0.1:2005 127.0.0.1:2009
run_now pol
wait_log '\[warning\]: 127\.0\.0\.1:2001 .*is closed but the policy expects it open .*PORTWATCH_OLD_STATE=open PORTWATCH_NEW_STATE=closed' "expected port closing not logged as expected-closed"
wait_log '\[notice\]: 127\.0\.0\.1:2002 .*is now open \(was closed\)' "expected change not logged at notice"
pw_wait_for 10 hook_seen 'expected-closed.2001.*.json' || pw_fail "no hook call for 2001 closing"
pw_assert_grep "$(ls "$hooks"/expected-closed.2001.*.env | head -1)" '^PORTWATCH_OLD_STATE=open$'
pw_wait_for 10 hook_seen 'opened.2002.*.json' || pw_fail "the plain 'opened' alert for 2002 did not run"
pw_assert_eq "$(q "SELECT group_concat(port || ':' || policy, ' ') FROM (SELECT * FROM violations WHERE job = 'pol' ORDER BY port);")" \
	"2001:expected-closed 2005:unexpected-open 2009:unexpected-open" "violations after 2001 closed and 2002 opened"

# -- portwatch ack: stored, shown in the views, the first one stays
ev=$(q "SELECT event_id FROM violations WHERE job = 'pol' AND port = 2005;")
out=$("$PORTWATCH" ack --db "$db" "$ev" 2>&1) || pw_fail "portwatch ack $ev: $out"
pw_assert_eq "$out" "Event $ev acknowledged." "ack output"
pw_assert_eq "$(q "SELECT acked || ' ' || acked_by FROM violations WHERE event_id = $ev;")" "yes root" "violation acknowledged"
pw_assert_eq "$(q "SELECT acked FROM event_log WHERE event_id = $ev;")" "yes" "event_log shows the ack"
pw_assert_eq "$("$PORTWATCH" ack --db "$db" "$ev")" "Event $ev was already acknowledged." "second ack"
out=$("$PORTWATCH" ack --db "$db" 999999 2>&1) && pw_fail "ack of a missing event succeeded"
pw_assert_grep <(echo "$out") 'no event 999999'

# -- a hook that hangs: killed at its timeout, runs keep completing meanwhile
pw_netns_listen 127.0.0.2:2100
run_now hang
pw_wait_for 10 test -e "$hooks/hang.started" || pw_fail "the hanging hook did not start"
t0=$(date +%s%N)
run_now pol
t1=$(date +%s%N)
# the run finishes while the hook still hangs (its timeout is 5 s)
[ $(((t1 - t0) / 1000000)) -lt 4000 ] || pw_fail "a run took $(((t1 - t0) / 1000000)) ms while a hook hung"
log_has 'hang-hook .*timed out' && pw_fail "the hook was killed before the run completed"
wait_log "Alert hook $PW_TMP/hang-hook for unexpected-open of job hang timed out and was killed \(signal 15\); output: hanging for 2100 .*PORTWATCH_EVENT=alert-failed .*PORTWATCH_HOOK_SIGNAL=15 PORTWATCH_HOOK_TIMED_OUT=1" "the hanging hook was not killed at its timeout (an alert-failed event)" 15
run_now pol

# -- a flood: 200 unexpected ports at once
flood_ports=()
for ((p = 3000; p < 3200; p++)); do flood_ports+=("127.0.0.3:$p"); done
pw_netns_listen "${flood_ports[@]}"
run_now flood
wait_log 'Alert queue full \(4 hooks running, 64 queued\): dropping alerts until it drains' "queue overflow not logged"
wait_log 'Alert queue drained; 132 alert\(s\) were dropped while it was full' "dropped alerts not counted" 60
pw_wait_for 10 hook_seen 'flood.*' 68 || true
pw_assert_eq "$(hook_files 'flood.*')" 68 "hooks run for the flood (4 at once + 64 queued)"
pw_assert_eq "$(q "SELECT count(*) FROM events e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'flood' AND e.policy = 'unexpected-open';")" 200 "flood events in the database"
pw_assert_eq "$(q "SELECT count(*) FROM violations WHERE job = 'flood';")" 200 "flood violations"
# one name per port everywhere (3000 is in the curated list): the log line
# and the CLI agree
pw_assert_grep "$PW_TMP/daemon.log" '127\.0\.0\.3:3000 \(grafana\) is open but the policy'
"$PORTWATCH" --db "$db" history 127.0.0.3:3000 --csv >"$PW_TMP/history.csv" || pw_fail "portwatch history 127.0.0.3:3000 failed"
pw_assert_grep "$PW_TMP/history.csv" ',grafana,'
run_now pol

# -- the shipped example hook appends each event's JSON as one line
for port in 1 2; do
	printf '{"event":"opened","port":%s}' "$port" | "$top_srcdir/etc/hooks/log-to-file" "$PW_TMP/alerts.jsonl" ||
		pw_fail "log-to-file failed"
done
pw_assert_eq "$(wc -l <"$PW_TMP/alerts.jsonl")" 2 "log-to-file lines"
while read -r line; do
	printf '%s' "$line" | "$PW_HELPERS/pw-json-check" || pw_fail "log-to-file wrote a line that is not JSON: $line"
done <"$PW_TMP/alerts.jsonl"
"$top_srcdir/etc/hooks/log-to-file" </dev/null 2>/dev/null && pw_fail "log-to-file without a file argument succeeded"

# -- every job at once, and a reload that says whether it took (issue 13:
# SIGHUP and `systemctl reload` could not tell a rejected configuration)
out=$("$PORTWATCH" run --all --socket "$sock" 2>&1) || pw_fail "portwatch run --all: $out"
pw_assert_grep <(echo "$out") '^[0-9]+ job\(s\) run now; [0-9]+ already running\.$'
wait_log 'Control socket: running [0-9]+ job\(s\) now' "run --all not logged"
out=$("$PORTWATCH" run --all --socket "$sock" pol 2>&1) && pw_fail "portwatch run --all JOB succeeded"
out=$("$PORTWATCH" reload --socket "$sock" 2>&1) || pw_fail "portwatch reload: $out"
pw_assert_eq "$out" "Configuration reloaded." "reload answer"
cat >"$PW_TMP/conf.d/90-broken.conf" <<'CONF'
jobs = ( { name = "broken"; targets = "127.0.0.1"; ports = "22"; intervall = "5m"; } );
CONF
st=0
out=$("$PORTWATCH" reload --socket "$sock" 2>&1) || st=$?
pw_assert_eq "$st" 1 "portwatch reload exit status for a broken configuration"
pw_assert_grep <(echo "$out") '^portwatch reload: reload: configuration rejected, old one kept: .*90-broken\.conf:1: job "broken": unknown key "intervall"'
kill -0 "$PW_DAEMON_PID" || pw_fail "the daemon died of a rejected reload"
# as the unit's ExecReload asks (--config): the daemon judges the broken
# file, not the CLI, which only looks for the socket in it
st=0
out=$("$PORTWATCH" reload --config "$conf" 2>&1) || st=$?
pw_assert_eq "$st" 1 "portwatch reload --config exit status for a broken configuration"
pw_assert_grep <(echo "$out") '^portwatch reload: reload: configuration rejected, old one kept: .*90-broken\.conf:1:'
rm "$PW_TMP/conf.d/90-broken.conf"

# -- the daemon's status over the socket (portwatch status asks it), then a
# clean stop removes the socket
out=$("$PORTWATCH" status --config "$conf" 2>&1) || pw_fail "portwatch status: $out"
pw_assert_grep <(echo "$out") "running \(pid $PW_DAEMON_PID, control socket $sock\)"
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status"
[ -e "$sock" ] && pw_fail "control socket left behind"
out=$("$PORTWATCH" run --socket "$sock" pol 2>&1) && pw_fail "portwatch run after stop succeeded"
out=$("$PORTWATCH" reload --socket "$sock" 2>&1) && pw_fail "portwatch reload after stop succeeded"
pw_assert_eq "$out" "portwatch reload: portwatchd is not running (no socket at $sock)" "reload without a daemon"
pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "integrity_check"
pw_pass
