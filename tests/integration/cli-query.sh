#!/bin/bash
# The query verbs as the real portwatch binary runs them. Part 1 (no
# privileges): a database written by pw-store-tool; every verb in every
# format, JSON through pw-json-check, global options before the verb,
# exit codes and messages for bad arguments and bad databases. Part 2
# (root, skipped without a netns): a database the real daemon keeps
# writing in a private netns, read while it runs.
. "$(dirname "$0")/lib.sh"
: "${PORTWATCH:?run through make check (PORTWATCH unset)}"

pw=$PORTWATCH
jc=$PW_HELPERS/pw-json-check
db=$PW_TMP/store.db
out=$PW_TMP/out
err=$PW_TMP/err

# expect RC CMD...: run CMD with stdout in $out, stderr in $err; check the exit status.
expect() {
	local want=$1 rc=0
	shift
	"$@" >"$out" 2>"$err" || rc=$?
	if [ "$rc" != "$want" ]; then
		pw_log "--- stdout:"; cat "$out" >&2
		pw_log "--- stderr:"; cat "$err" >&2
		pw_fail "$*: exit $rc, want $want"
	fi
}
json_ok() { "$jc" "$out" || { cat "$out" >&2; pw_fail "$1: invalid JSON"; }; }
lines() { wc -l <"$out" | tr -d ' '; }

# ---------------------------------------------------------------- part 1
# 2025-11-25 13:00:00 UTC and a quarter of an hour later: long past
"$PW_HELPERS/pw-store-tool" "$db" >/dev/null <<'EOF' || pw_fail "pw-store-tool failed"
begin lo 1764075600
obs 1 127.0.0.1 22 open 1764075601
obs 1 127.0.0.1 80 closed 1764075601
obs 1 ::1 443 open 1764075602
end 1 completed 1764075605
begin lo 1764076500
obs 2 127.0.0.1 22 open 1764076501
obs 2 127.0.0.1 80 open 1764076501
obs 2 ::1 443 closed 1764076502
end 2 completed 1764076510
EOF

expect 0 "$pw" open --db "$db"
pw_assert_grep "$out" '^JOB +ADDRESS +PORT +SERVICE +OPEN SINCE +FOR +LAST SEEN$'
pw_assert_grep "$out" '^lo +127\.0\.0\.1 +22 +ssh +2025-11-25 13:00:01 '
pw_assert_grep "$out" '^lo +127\.0\.0\.1 +80 +http +2025-11-25 13:15:01 '
pw_assert_eq "$(lines)" 3 "open: header and two ports"

# global options before the verb; one JSON document
expect 0 "$pw" --db "$db" --json open
json_ok "open --json"
pw_assert_grep "$out" '"address": "127.0.0.1", "port": 80, "service": "http", "open_since": "2025-11-25T13:15:01Z"'
expect 0 "$pw" --db="$db" --csv open --no-header
pw_assert_eq "$(lines)" 2 "open --csv --no-header"
pw_assert_grep "$out" '^lo,127\.0\.0\.1,22,ssh,2025-11-25 13:00:01,[0-9]+,2025-11-25 13:15:01$'

expect 0 "$pw" changes --db "$db" --no-header
pw_assert_eq "$(lines)" 2 "changes: opened and closed"
pw_assert_grep "$out" '^ *[0-9]+  2025-11-25 13:15:02  lo +::1 +443 +https +closed +open +closed '
pw_assert_grep "$out" '^ *[0-9]+  2025-11-25 13:15:01  lo +127\.0\.0\.1 +80 +http +opened +closed +open '
expect 0 "$pw" changes --db "$db" --since "2025-11-25 13:15:02" --csv
pw_assert_eq "$(lines)" 2 "changes --since: header and one change"
expect 0 "$pw" changes --db "$db" --all --json
json_ok "changes --all --json"
pw_assert_eq "$(grep -c '"event": "baseline"' "$out")" 2 "baseline events with --all"
expect 0 "$pw" changes --db "$db" --host ::1 --since 1h --no-header
pw_assert_eq "$(lines)" 0 "nothing changed in the last hour"

expect 0 "$pw" history --db "$db" '[::1]:443' --no-header
pw_assert_eq "$(lines)" 2 "history of [::1]:443"
pw_assert_grep "$out" 'baseline +- +open'
pw_assert_grep "$out" 'closed +open +closed'
expect 0 "$pw" history --db "$db" 127.0.0.1 --json
json_ok "history --json"

expect 0 "$pw" runs --db "$db" --limit 1 --no-header
pw_assert_grep "$out" '^ *2  lo  completed  2025-11-25 13:15:00 +10\.0s +3 +2 +1 +0 +0 +2 +0 +-  no$'
expect 0 "$pw" runs --db "$db" --csv
pw_assert_grep "$out" '^1,lo,completed,2025-11-25 13:00:00,5,3,2,1,0,0,0,0,,yes$'

# the config names the database and the schedule
cat >"$PW_TMP/pw.conf" <<EOF
database = "$db";
jobs = ( { name = "lo"; targets = [ "127.0.0.1", "::1" ]; ports = [ "22", "80", "443" ]; interval = "15m"; } );
EOF
expect 0 "$pw" status --config "$PW_TMP/pw.conf"
pw_assert_grep "$out" "^Database: $db\$"
pw_assert_grep "$out" '^lo +every 15m +2 +2025-11-25 13:15:00 .* completed +10\.0s +2025-11-25 13:30:00 +2 +3$'
expect 0 "$pw" status --config "$PW_TMP/pw.conf" --json
json_ok "status --json"
pw_assert_grep "$out" '"next_due": "2025-11-25T13:30:00Z"'

# errors: usage 2, failures 1, each message on stderr
expect 2 "$pw" open --bogus
pw_assert_grep "$err" 'unknown option "--bogus"'
expect 2 "$pw" --bogus status
expect 2 "$pw" statsu
pw_assert_grep "$err" 'did you mean "status"'
expect 2 "$pw" history --db "$db"
pw_assert_grep "$err" 'missing argument'
expect 2 "$pw" changes --db "$db" --since tomorrow
expect 2 "$pw" runs --db "$db" --json --csv
expect 1 "$pw" runs --db "$PW_TMP/missing.db"
pw_assert_grep "$err" "^portwatch runs: $PW_TMP/missing\.db: no such database"
head -c 4096 /dev/urandom >"$PW_TMP/garbage.db"
expect 1 "$pw" open --db "$PW_TMP/garbage.db"
pw_assert_grep "$err" "^portwatch open: $PW_TMP/garbage\.db: .*not a database"
expect 1 "$pw" open --db "$db" --job nosuch
pw_assert_grep "$err" 'no job "nosuch"'
expect 1 "$pw" status --config "$PW_TMP/missing.conf"
pw_assert_grep "$err" 'missing\.conf'
if [ -w /dev/full ]; then
	rc=0
	"$pw" changes --db "$db" --all >/dev/full 2>"$err" || rc=$?
	pw_assert_eq "$rc" 1 "exit status when stdout is full"
	pw_assert_grep "$err" 'writing the output failed'
fi

# a user who may not write the database's directory: a clear reason
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$pw" --version >/dev/null 2>&1; then
	mkdir "$PW_TMP/ro"
	cp "$db" "$PW_TMP/ro/store.db"
	chmod 755 "$PW_TMP" "$PW_TMP/ro"
	chmod 644 "$PW_TMP/ro/store.db"
	expect 1 setpriv --reuid=nobody --regid=nogroup --clear-groups "$pw" open --db "$PW_TMP/ro/store.db"
	pw_assert_grep "$err" 'needs write access to its directory while portwatchd is stopped'
else
	pw_log "not root or no setpriv: the unprivileged read is not checked"
fi

# ---------------------------------------------------------------- part 2
if ! { [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v nft >/dev/null; }; then
	pw_log "part 2 (the real daemon in a netns) needs root, ip and nft: skipped"
	pw_pass
fi
pw_require_netns
pw_netns_add cliq
export PW_DAEMON_NETNS=$PW_NETNS
ddb=$PW_TMP/daemon.db
conf=$PW_TMP/portwatchd.conf
cat >"$conf" <<EOF
database = "$ddb";
control_socket = "$PW_TMP/portwatchd.sock";
include_dir = "$PW_TMP/conf.d";
defaults = { jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; };
jobs = ( { name = "q"; targets = [ "127.0.0.1", "::1" ]; ports = [ "2001-2005" ]; interval = "1s"; } );
EOF
mkdir -p "$PW_TMP/conf.d"
pw_netns_listen 127.0.0.1:2001 '[::1]:2003'
first=$PW_LISTEN_PID
pw_start_daemon --config "$conf"

open_has() { "$pw" open --config "$conf" --csv --no-header 2>/dev/null | grep -q "$1"; }
pw_wait_for 20 open_has '^q,::1,2003,' || pw_fail "the daemon's baseline never showed in portwatch open"
expect 0 "$pw" open --config "$conf" --no-header
pw_assert_eq "$(lines)" 2 "open ports of the daemon's job"
pw_assert_grep "$out" '^q +127\.0\.0\.1 +2001 '
pw_assert_grep "$out" '^q +::1 +2003 '

pw_unlisten "$first"
closed_seen() { "$pw" changes --config "$conf" --csv --no-header 2>/dev/null | grep -c ',closed,open,closed,' | grep -qx 2; }
pw_wait_for 20 closed_seen || pw_fail "portwatch changes never showed both closes"
expect 0 "$pw" history --config "$conf" 127.0.0.1:2001 --no-header
pw_assert_grep "$out" 'baseline +- +open'
pw_assert_grep "$out" 'closed +open +closed'

# many reads while the daemon writes a run every second: never locked
for i in $(seq 1 20); do
	expect 0 "$pw" runs --config "$conf" --job q --limit 5 --json
	json_ok "runs --json while the daemon writes"
	expect 0 "$pw" status --config "$conf" --csv --no-header
	pw_assert_grep "$out" '^q,every 1s,[0-9]+,'
done
# the daemon answers on its control socket
expect 0 "$pw" status --config "$conf"
pw_assert_grep "$out" "^Daemon:   running \(pid $PW_DAEMON_PID, control socket $PW_TMP/portwatchd\.sock\)\$"
expect 0 "$pw" status --config "$conf" --json
json_ok "status --json of a running daemon"
pw_assert_grep "$out" "\"daemon_pid\": $PW_DAEMON_PID,"
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "daemon exit status"
expect 0 "$pw" status --config "$conf"
pw_assert_grep "$out" '^Daemon:   stopped \(control socket '
pw_assert_grep "$out" '^q +every 1s +[0-9]+ +[-0-9]+ [:0-9]+ +[.0-9smhd]+ +(completed|aborted) '
pw_pass
