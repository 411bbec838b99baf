#!/bin/bash
# Change events must be true (issue 12). Inside a private network
# namespace:
#  - the first two SYNs to an open port are lost during the baseline (an
#    nft quota drops exactly two): the baseline records the port open, not
#    filtered, and the next run reports no change. Before, the baseline
#    said "filtered" and the next run raised a false port-opened warning.
. "$(dirname "$0")/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"

pw_netns_add accuracy
export PW_DAEMON_NETNS=$PW_NETNS
db="$PW_TMP/history.db"
conf="$PW_TMP/portwatchd.conf"
cat >"$conf" <<CONF
database = "$db";
defaults = { jitter = "0s"; timeout = "200ms"; retries = 1; confirm = 1; confirm_spacing = "100ms"; };
jobs = ( { name = "acc"; targets = "127.0.0.1"; ports = "8080-8082"; interval = "1h"; } );
CONF
q() { sqlite3 -batch -noheader "$db" "$@"; }
completed() { [ "$(q "SELECT count(*) FROM runs WHERE status = 'completed';" 2>/dev/null)" -ge "$1" ]; }

pw_netns_listen 127.0.0.1:8080
# a SYN on lo is 60 bytes: the quota covers two, never a third
pw_netns_nft tcp dport 8080 tcp flags syn quota until 150 bytes drop
pw_start_daemon --config "$conf"
kill -USR1 "$PW_DAEMON_PID"
pw_wait_for 30 completed 1 || { cat "$PW_TMP/daemon.log" >&2; pw_fail "no baseline run"; }
pw_assert_grep "$PW_TMP/daemon.log" 'Baseline recorded for job acc: 1 open, 2 closed, 0 filtered' \
	"the baseline took two lost SYNs for a filtered port"
kill -USR1 "$PW_DAEMON_PID"
pw_wait_for 30 completed 2 || { cat "$PW_TMP/daemon.log" >&2; pw_fail "no second run"; }
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind <> 'baseline';")" 0 "change events after the lost SYNs"
pw_assert_eq "$(q "SELECT state FROM ports WHERE port = 8080;")" open "state of 8080"
pw_assert_no_grep "$PW_TMP/daemon.log" 'is now open' "a false port-opened"
pw_log "ok: two SYNs lost during the baseline: recorded open, no change after"
pw_pass
