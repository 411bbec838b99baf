#!/bin/bash
# An address that accepts every port (issue 12.3, 12.4, 14.15), with the
# real daemon inside a private network namespace. 127.0.0.1 has 20
# listeners in 1-2000; job "wild" probes 1-2000 at 400/s (a 5 s run). An
# nft nat rule in the output hook redirects every port of 127.0.0.1 but
# 9999 to a listener on 9999, so the address answers everywhere:
#  - switched on 2 s into a run: one accepts-all event (a violation), no
#    port-opened event, journal line or hook call;
#  - still on for two more runs: nothing new is logged, stored or hooked;
#    `portwatch changes` and the views show the episode, `portwatch ack`
#    acknowledges it;
#  - switched off: one accepts-all-ended event, no port changes, the port
#    states are the baseline's;
#  - a 5 ms blip 2 s into a run: no port-opened, at most one accepts-all;
#  - job "many", one thread (workers = 0): 2048 addresses of 127.1.0.0/21
#    that all accept everything, more than the engine's host table holds:
#    each is reported by the engine and recorded exactly once.
# Before: the guard judged 127.0.0.1 clean at its first open port and
# ~1200 ports were reported opened (then closed), every run logged and
# hooked accepts-all again and stored nothing, and the single thread
# reported evicted addresses again.
. "$(dirname "$0")/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"
: "${PORTWATCH:?run through make check (PORTWATCH unset)}"

pw_netns_add wild
export PW_DAEMON_NETNS=$PW_NETNS
db="$PW_TMP/history.db"
conf="$PW_TMP/portwatchd.conf"
sock="$PW_TMP/control.sock"
hooks="$PW_TMP/hooks"
mkdir -p "$hooks"
cat >"$PW_TMP/record-hook" <<'HOOK'
#!/bin/sh
f="$1/$PORTWATCH_EVENT.${PORTWATCH_PORT:-0}.$$"
env | grep '^PORTWATCH_' | sort >"$f.env"
HOOK
chmod +x "$PW_TMP/record-hook"
cat >"$conf" <<CONF
database = "$db";
control_socket = "$sock";
workers = 0;
defaults = { interval = "1h"; jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; };
alert = {
	command = [ "$PW_TMP/record-hook", "$hooks" ];
	events = [ "opened", "closed", "flapping", "accepts-everything", "accepts-everything-ended" ];
	timeout = "5s";
};
jobs = (
	{ name = "wild"; targets = [ "127.0.0.1" ]; ports = [ "1-2000" ]; rate = 400; },
	{ name = "many"; targets = [ "127.1.0.0/21" ]; ports = [ "1-2" ];
	  alert = { command = [ "/bin/true" ]; events = [ "run-failed" ]; }; }
);
CONF

q() { sqlite3 -batch -noheader "$db" "$@"; }
count_runs() { q "SELECT count(*) FROM runs JOIN jobs ON jobs.id = runs.job_id WHERE jobs.name = '$1' AND runs.status = 'completed';" 2>/dev/null || echo 0; }
runs_above() { [ "$(count_runs "$1")" -gt "$2" ]; }
hooks_of() { find "$hooks" -name "$1.*.env" | wc -l; }
last_run() { q "SELECT max(r.id) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = '$1' AND r.status = 'completed';"; }
events_in() { q "SELECT count(*) FROM events WHERE run_id = $1 AND kind = '$2';"; }
log_count() { grep -cE -- "$1" "$PW_TMP/daemon.log"; }
states() { q "SELECT state || ' ' || count(*) FROM ports p JOIN jobs j ON j.id = p.job_id WHERE j.name = 'wild' GROUP BY state ORDER BY state;" | tr '\n' ' '; }
# start JOB: `portwatch run`. A new job also starts on its own within the
# daemon's 30 s start spread: when that run is going, wait for it to end
# and ask again (after a `portwatch run` the next is an hour away).
start() {
	local out try before
	for try in 1 2 3; do
		before=$(count_runs "$1")
		out=$("$PORTWATCH" run --socket "$sock" "$1" 2>&1) && return 0
		case "$out" in
		*"already running"*)
			pw_wait_for 60 runs_above "$1" "$before" || pw_fail "portwatch run $1: the running run never ended"
			;;
		*) pw_fail "portwatch run $1: $out" ;;
		esac
	done
	pw_fail "portwatch run $1: $out"
}
# run_now JOB: start a run and wait for it to complete
run_now() {
	local before
	before=$(count_runs "$1")
	start "$1"
	pw_wait_for 60 runs_above "$1" "$before" || pw_fail "portwatch run $1: no run completed"
}
redirect() { # on|off [DADDR]
	if [ "$1" = on ]; then
		pw_netns_exec nft -f - <<-NFT || pw_netns_skip "nft nat does not work here"
		table ip pwwild {
			chain out { type nat hook output priority -100;
				ip daddr ${2:-127.0.0.1} tcp dport != 9999 redirect to :9999
			}
		}
		NFT
	else
		pw_netns_exec nft delete table ip pwwild
	fi
}
# the daemon's writes are batched: look at the database once the run's flush is in
flushed() { [ "$(q "SELECT count(*) FROM runs WHERE status = 'running';")" = 0 ]; }

listeners=()
for p in 21 22 25 80 110 143 443 465 587 993 995 1080 1194 1433 1521 1723 1883 1900 1935 1985; do
	listeners+=("127.0.0.1:$p")
done
pw_netns_listen "${listeners[@]}" 0.0.0.0:9999
pw_start_daemon --config "$conf" --log-level debug
pw_wait_for 10 test -S "$sock" || pw_fail "no control socket at $sock"

# -- the baselines (and so neither job starts on its own later)
run_now many
run_now wild
baseline=$(states)
pw_assert_eq "$baseline" "open 20 " "baseline states (closed ports have no row)"

# -- episode 1: everything accepts from 2 s into the run on
before=$(count_runs wild)
start wild
sleep 2
redirect on
pw_wait_for 60 runs_above wild "$before" || pw_fail "the run with the wildcard did not complete"
run=$(last_run wild)
pw_wait_for 10 flushed
pw_assert_eq "$(events_in "$run" accepts-all)" 1 "accepts-all events in the run it began"
pw_assert_eq "$(events_in "$run" opened)" 0 "port-opened events in that run"
pw_assert_eq "$(log_count 'is now open')" 0 "port-opened journal lines"
pw_assert_eq "$(log_count 'PORTWATCH_EVENT=address-accepts-all ')" 1 "accepts-all journal lines"
pw_wait_for 10 test "$(hooks_of accepts-everything)" -ge 1 || pw_fail "no hook for accepts-everything"
pw_assert_eq "$(hooks_of opened)" 0 "opened hook calls"
pw_assert_eq "$(states)" "$baseline" "port states while it accepts everything"
pw_log "ok: switched on mid-run: 1 accepts-all event, 0 port-opened"

# -- it holds for two more runs: nothing new
run_now wild
run_now wild
pw_wait_for 10 flushed
sleep 1 # any hook of the last run has had time to write
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind = 'accepts-all';")" 1 "accepts-all events after 3 runs"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind NOT IN ('baseline', 'accepts-all', 'flap');")" 0 "port events after 3 runs"
pw_assert_eq "$(log_count 'PORTWATCH_EVENT=address-accepts-all ')" 1 "accepts-all journal lines after 3 runs"
pw_assert_eq "$(hooks_of accepts-everything)" 1 "accepts-everything hook calls after 3 runs"
pw_assert_eq "$(hooks_of opened)$(hooks_of closed)" 00 "port hook calls after 3 runs"
pw_assert_eq "$(log_count 'still accepts every port')" 2 "the later runs' debug lines"
"$PORTWATCH" changes --db "$db" --no-header >"$PW_TMP/changes" || pw_fail "portwatch changes failed"
pw_assert_grep "$PW_TMP/changes" 'wild +127\.0\.0\.1 +0 .*accepts-all' "portwatch changes lists the episode"
pw_assert_eq "$(q "SELECT job || ' ' || address || ' ' || acked FROM accepts_all;")" "wild 127.0.0.1 no" "accepts_all view"
pw_assert_eq "$(q "SELECT port || ' ' || policy || ' ' || state FROM violations;")" "0 accepts-all accepts-all" "violations view"
id=$(q "SELECT event_id FROM violations;")
"$PORTWATCH" ack --db "$db" "$id" >"$PW_TMP/ack" || pw_fail "portwatch ack $id failed"
pw_assert_eq "$(cat "$PW_TMP/ack")" "Event $id acknowledged." "portwatch ack"
pw_assert_eq "$(q "SELECT acked FROM violations;")" yes "acknowledged in violations"
pw_log "ok: three runs of one episode: 1 event, 1 hook call, acknowledged"

# -- it ends
redirect off
run_now wild
pw_wait_for 10 flushed
pw_wait_for 10 test "$(hooks_of accepts-everything-ended)" -ge 1 || pw_fail "no hook for accepts-everything-ended"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind = 'accepts-all-ended';")" 1 "accepts-all-ended events"
pw_assert_eq "$(log_count 'PORTWATCH_EVENT=address-accepts-all-ended')" 1 "accepts-all-ended journal lines"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind NOT IN ('baseline', 'accepts-all', 'accepts-all-ended', 'flap');")" 0 "port events when it ended"
pw_assert_eq "$(states)" "$baseline" "port states after the episode"
pw_assert_eq "$(q "SELECT count(*) FROM violations;")" 0 "violations after the episode"
pw_log "ok: switched off: 1 accepts-all-ended event, ports as before"

# -- a 5 ms blip
wild_before=$(q "SELECT count(*) FROM events WHERE kind = 'accepts-all';")
before=$(count_runs wild)
start wild
sleep 2
redirect on
sleep 0.005
redirect off
pw_wait_for 60 runs_above wild "$before" || pw_fail "the run with the blip did not complete"
run=$(last_run wild)
pw_wait_for 10 flushed
pw_assert_eq "$(events_in "$run" opened)" 0 "port-opened events after a blip"
pw_assert_eq "$(log_count 'is now open')" 0 "port-opened journal lines after a blip"
[ "$(events_in "$run" accepts-all)" -le 1 ] || pw_fail "more than one accepts-all event for a blip"
pw_assert_eq "$(hooks_of opened)" 0 "opened hook calls after a blip"
pw_log "ok: 5 ms blip: 0 port-opened, $(events_in "$run" accepts-all) accepts-all, $(events_in "$run" flap) flap(s)"

# -- 14.15: 2048 addresses accepting everything, one thread
redirect on 127.1.0.0/21
run_now many
run=$(last_run many)
pw_wait_for 10 flushed
pw_assert_eq "$(events_in "$run" accepts-all)" 2048 "accepts-all events for 2048 addresses"
pw_assert_eq "$(q "SELECT count(DISTINCT addr) FROM events WHERE run_id = $run;")" 2048 "addresses with an event"
pw_assert_eq "$(log_count "PORTWATCH_EVENT=address-accepts-all .*PORTWATCH_JOB=many")" 2048 "accepts-all journal lines for job many"
pw_assert_eq "$(log_count 'Job many: .* still accepts every port')" 0 "addresses the engine reported twice"
run_now many
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind = 'accepts-all' AND run_id > $run;")" 0 "accepts-all events in the second run"
pw_assert_eq "$(log_count 'Job many: .* still accepts every port')" 2048 "one report per address in the second run"
pw_log "ok: 2048 accepting addresses, one thread: one report each per run, one event each"

pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status"
pw_pass
