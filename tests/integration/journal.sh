#!/bin/bash
# What a real systemd-journald stores: the daemon's start and stop entries
# (--log-target journal), one entry of every event type (logged by
# pw-emit-events through events.c) with its MESSAGE_ID, PRIORITY and
# PORTWATCH_* fields, `journalctl -p warning` as the alert feed, and the
# catalog text under `journalctl -x`. Runs journald in a private mount
# namespace (see lib.sh); needs root.
. "$(dirname "$0")/lib.sh"
pw_journal_reexec "$@"
pw_journal_start

emit="$PW_HELPERS/pw-emit-events"
"$emit" --list >"$PW_TMP/types" || pw_fail "pw-emit-events --list failed"
id_of() { awk -v n="$1" '$1 == n { print $2 }' "$PW_TMP/types"; }
ntypes=$(wc -l <"$PW_TMP/types")
[ "$ntypes" -ge 18 ] || pw_fail "only $ntypes event types listed"

# entry FILE FIELD VALUE: the export-format FILE has FIELD=VALUE.
expect_field() {
	grep -qxF -- "$2=$3" "$1" || { cat "$1" >&2; pw_fail "$4: no $2=$3 in the entry"; }
}
expect_no_field() {
	! grep -q -- "^$2=" "$1" || { cat "$1" >&2; pw_fail "$3: unexpected field $2"; }
}
# one_entry FILE WHAT MATCH...: exactly one entry matches; store it in FILE.
one_entry() {
	local file=$1 what=$2 n
	shift 2
	pw_journal_export "$@" >"$file"
	n=$(grep -c '^__CURSOR=' "$file" || true)
	[ "$n" = 1 ] || { cat "$file" >&2; pw_fail "$what: $n entries match $*, want 1"; }
}

# ---- the daemon, forced to the journal
conf="$PW_TMP/portwatchd.conf"
printf 'database = "%s";\n' "$PW_TMP/portwatch.db" >"$conf"

st=0; "$PORTWATCHD" --log-target syslog --check-config --config "$conf" 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for an unknown --log-target"
pw_assert_grep "$PW_TMP/err" 'log-target.*"syslog"'

pw_start_daemon --config "$conf" --log-target journal
started=$(id_of daemon-started)
pw_journal_wait 10 MESSAGE_ID="$started" _PID="$PW_DAEMON_PID" ||
	{ cat "$PW_TMP/daemon.log" >&2; pw_fail "no daemon-started entry from the daemon in the journal"; }
one_entry "$PW_TMP/start" "daemon start" MESSAGE_ID="$started" _PID="$PW_DAEMON_PID"
expect_field "$PW_TMP/start" SYSLOG_IDENTIFIER portwatchd "daemon start"
expect_field "$PW_TMP/start" PRIORITY 5 "daemon start"
expect_field "$PW_TMP/start" PORTWATCH_EVENT daemon-started "daemon start"
expect_field "$PW_TMP/start" PORTWATCH_CONFIG "$conf" "daemon start"
expect_field "$PW_TMP/start" _TRANSPORT journal "daemon start"
pw_assert_grep "$PW_TMP/start" '^MESSAGE=portwatchd [0-9.]+ started \(config '
# it went to the journal, not to stderr as well
pw_assert_no_grep "$PW_TMP/daemon.log" 'started' "the start line also went to stderr"

pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "daemon exit status"
# journald stores what the daemon sent a moment after it exited
pw_journal_wait 10 MESSAGE_ID="$(id_of daemon-stopped)" _PID="$PW_DAEMON_PID" ||
	pw_fail "no daemon-stopped entry from the daemon in the journal"
one_entry "$PW_TMP/stop" "daemon stop" MESSAGE_ID="$(id_of daemon-stopped)" _PID="$PW_DAEMON_PID"
expect_field "$PW_TMP/stop" SYSLOG_IDENTIFIER portwatchd "daemon stop"

# ---- every event type, as journald stores it
job="emit-$$"
"$emit" "$job" 2>"$PW_TMP/emit.err" || { cat "$PW_TMP/emit.err" >&2; pw_fail "pw-emit-events failed"; }
# with the journal up, nothing falls back to stderr
[ ! -s "$PW_TMP/emit.err" ] || { cat "$PW_TMP/emit.err" >&2; pw_fail "events went to stderr"; }
pw_journal_wait 10 PORTWATCH_JOB="$job" MESSAGE_ID="$(id_of address-accepts-all-ended)" ||
	pw_fail "the last event did not reach the journal"
ssh_name=$(getent services 22/tcp | awk '{ print $1 }')

while read -r name id prio; do
	e="$PW_TMP/entry.$name"
	one_entry "$e" "$name" MESSAGE_ID="$id" PORTWATCH_JOB="$job"
	expect_field "$e" PRIORITY "$prio" "$name"
	expect_field "$e" PORTWATCH_EVENT "$name" "$name"
	expect_field "$e" SYSLOG_IDENTIFIER pw-emit-events "$name"
	pw_assert_grep "$e" '^MESSAGE=.{10,}' "$name: no readable MESSAGE"
	case $name in
	port-* | unexpected-open | expected-closed)
		expect_field "$e" PORTWATCH_ADDRESS 127.0.0.1 "$name"
		expect_field "$e" PORTWATCH_PORT 22 "$name"
		expect_field "$e" PORTWATCH_SERVICE "$ssh_name" "$name"
		expect_field "$e" PORTWATCH_RUN_ID 42 "$name"
		expect_field "$e" PORTWATCH_RTT_USEC 123 "$name"
		pw_assert_grep "$e" '^PORTWATCH_OLD_STATE=(open|closed)$' "$name: old state"
		pw_assert_grep "$e" '^PORTWATCH_NEW_STATE=(open|closed|filtered|unreachable)$' "$name: new state"
		;;
	address-accepts-all)
		expect_field "$e" PORTWATCH_ADDRESS 127.0.0.1 "$name"
		expect_field "$e" PORTWATCH_OPEN 3 "$name"
		expect_field "$e" PORTWATCH_PROBES_DONE 1000 "$name"
		expect_no_field "$e" PORTWATCH_PORT "$name"
		;;
	address-accepts-all-ended)
		expect_field "$e" PORTWATCH_ADDRESS 127.0.0.1 "$name"
		expect_no_field "$e" PORTWATCH_PORT "$name"
		;;
	baseline-recorded | run-started | run-completed | run-aborted)
		expect_field "$e" PORTWATCH_RUN_ID 42 "$name"
		expect_field "$e" PORTWATCH_PROBES_PLANNED 1000 "$name"
		expect_field "$e" PORTWATCH_CHANGES 2 "$name"
		expect_field "$e" PORTWATCH_DURATION_USEC 1500000 "$name"
		expect_no_field "$e" PORTWATCH_ADDRESS "$name"
		;;
	run-skipped)
		expect_field "$e" PORTWATCH_RUN_ID 42 "$name"
		;;
	run-failed)
		expect_field "$e" PORTWATCH_RUN_ID 42 "$name"
		expect_field "$e" ERRNO 24 "$name"
		pw_assert_grep "$e" '^PORTWATCH_REASON=.+' "$name: no reason"
		;;
	config-* | daemon-*)
		expect_field "$e" PORTWATCH_CONFIG /etc/portwatch/portwatchd.conf "$name"
		expect_no_field "$e" PORTWATCH_RUN_ID "$name"
		;;
	alert-failed)
		expect_field "$e" PORTWATCH_ALERT_EVENT opened "$name"
		expect_field "$e" PORTWATCH_HOOK /usr/local/bin/notify "$name"
		expect_field "$e" PORTWATCH_HOOK_STATUS 1 "$name"
		expect_field "$e" PORTWATCH_HOOK_OUTPUT "relay refused" "$name"
		expect_no_field "$e" PORTWATCH_RUN_ID "$name"
		;;
	*)
		pw_fail "event type $name is not covered by this test"
		;;
	esac
done <"$PW_TMP/types"
expect_field "$PW_TMP/entry.port-opened" MESSAGE \
	"127.0.0.1:22${ssh_name:+ ($ssh_name)} is now open (was closed) [job $job]" "port-opened"
expect_field "$PW_TMP/entry.config-reloaded" PORTWATCH_JOBS_ADDED 1 "config-reloaded"

# ---- journalctl -p warning is the alert feed: exactly the types at warning or above
journalctl -D "$PW_JOURNAL_DIR" --no-pager -q -o export -p warning PORTWATCH_JOB="$job" |
	sed -n 's/^PORTWATCH_EVENT=//p' | sort >"$PW_TMP/alerts"
awk '$3 <= 4 { print $1 }' "$PW_TMP/types" | sort >"$PW_TMP/want-alerts"
diff -u "$PW_TMP/want-alerts" "$PW_TMP/alerts" >&2 || pw_fail "journalctl -p warning shows the wrong events"
grep -qx port-opened "$PW_TMP/alerts" || pw_fail "port-opened is not in the alert feed"

# ---- the catalog explains every entry under journalctl -x
if pw_journal_install_catalog "$top_srcdir/systemd/portwatch.catalog"; then
	journalctl --list-catalog >"$PW_TMP/catalog-list"
	while read -r name id prio; do
		grep -q "^$id portwatch: " "$PW_TMP/catalog-list" || pw_fail "$name ($id) is not in the catalog"
	done <"$PW_TMP/types"
	journalctl -D "$PW_JOURNAL_DIR" --no-pager -q -x MESSAGE_ID="$(id_of port-opened)" \
		PORTWATCH_JOB="$job" >"$PW_TMP/explained"
	pw_assert_grep "$PW_TMP/explained" 'Subject: Port 22 on 127\.0\.0\.1 is now open'
	pw_assert_grep "$PW_TMP/explained" 'Defined-By: portwatch'
	pw_assert_grep "$PW_TMP/explained" "portwatchd job $job found TCP port 22"
else
	pw_log "no /var/lib/systemd/catalog on this machine: journalctl -x not checked"
fi

pw_pass
