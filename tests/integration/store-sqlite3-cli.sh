#!/bin/bash
# The store as an operator sees it: a database written through the store
# (by pw-store-tool), read with the real sqlite3 CLI through the views, and
# every query of sql/queries.sql run against it.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || pw_skip "no sqlite3 CLI (apt-get install sqlite3)"
tool="$PW_HELPERS/pw-store-tool"
db="$PW_TMP/portwatch.db"
T=1795611600 # 2026-11-25 13:00:00 UTC

q() { sqlite3 -readonly -batch -noheader -separator '|' "$1" "$2"; }
expect_q() { # SQL EXPECTED [DB]
	local got
	got=$(q "${3:-$db}" "$1") || pw_fail "sqlite3 failed on: $1"
	if [ "$got" != "$2" ]; then
		printf '%s\n--- got:\n%s\n--- want:\n%s\n' "$1" "$got" "$2" >&2
		pw_fail "unexpected output from sqlite3"
	fi
}

"$tool" "$db" >"$PW_TMP/changes" <<EOF || pw_fail "pw-store-tool failed"
begin web $T
obs 1 127.0.0.1 22 open $((T + 1)) rtt=210
obs 1 127.0.0.1 80 open $((T + 1)) rtt=190
obs 1 127.0.0.1 443 closed $((T + 2))
obs 1 127.0.0.1 8080 filtered $((T + 3))
obs 1 ::1 22 open $((T + 4)) rtt=90
end 1 completed $((T + 5))
begin web $((T + 3600))
obs 2 127.0.0.1 22 filtered $((T + 3601)) unconfirmed
obs 2 127.0.0.1 80 closed $((T + 3602))
obs 2 127.0.0.1 443 open $((T + 3603)) rtt=200
obs 2 127.0.0.1 8080 closed $((T + 3604))
obs 2 ::1 22 open $((T + 3605)) rtt=95
obs 2 127.0.0.1 9090 open $((T + 3606))
end 2 completed $((T + 3607))
begin web $((T + 7200))
obs 3 127.0.0.1 443 closed $((T + 7201))
end 3 aborted $((T + 7202))
EOF

# what the store told the caller, synchronously
diff -u - "$PW_TMP/changes" <<'EOF' || pw_fail "changes reported by the store"
run 1
baseline 127.0.0.1 22 open
baseline 127.0.0.1 80 open
new 127.0.0.1 443 closed
new 127.0.0.1 8080 filtered
baseline ::1 22 open
run 2
flap 127.0.0.1 22 open>filtered
closed 127.0.0.1 80 open>closed major
opened 127.0.0.1 443 closed>open major
closed 127.0.0.1 8080 filtered>closed
opened 127.0.0.1 9090 closed>open major
run 3
closed 127.0.0.1 443 open>closed major
EOF

expect_q "PRAGMA integrity_check" "ok"
expect_q "PRAGMA journal_mode" "wal"

# the aborted run 3 never probed 22, 80, 9090: they keep their state
expect_q "SELECT * FROM open_ports" "\
web|::1|22|2026-11-25 13:00:04|2026-11-25 14:00:05|95
web|127.0.0.1|22|2026-11-25 13:00:01|2026-11-25 14:00:01|
web|127.0.0.1|9090|2026-11-25 14:00:06|2026-11-25 14:00:06|"

expect_q "SELECT * FROM recent_changes" "\
2026-11-25 15:00:01|web|127.0.0.1|443|closed|open|closed|major|3
2026-11-25 14:00:06|web|127.0.0.1|9090|opened|closed|open|major|2
2026-11-25 14:00:04|web|127.0.0.1|8080|closed|filtered|closed|minor|2
2026-11-25 14:00:03|web|127.0.0.1|443|opened|closed|open|major|2
2026-11-25 14:00:02|web|127.0.0.1|80|closed|open|closed|major|2"

expect_q "SELECT count(*) FROM major_changes" "4"
expect_q "SELECT * FROM flaps" "2026-11-25 14:00:01|web|127.0.0.1|22|open|filtered|2"
expect_q "SELECT kind, count(*) FROM event_log GROUP BY kind ORDER BY kind" "\
baseline|3
closed|3
flap|1
opened|2"

expect_q "SELECT * FROM port_timeline WHERE address = '127.0.0.1' AND port = 443" "\
web|127.0.0.1|443|2026-11-25 14:00:03|opened|closed|open|2
web|127.0.0.1|443|2026-11-25 15:00:01|closed|open|closed|3"
expect_q "SELECT * FROM port_timeline WHERE address = '127.0.0.1' AND port = 22" "\
web|127.0.0.1|22|2026-11-25 13:00:01|baseline||open|1
web|127.0.0.1|22|2026-11-25 14:00:01|flap|open|filtered|2"

expect_q "SELECT * FROM run_summary" "\
3|web|aborted|2026-11-25 15:00:00|2026-11-25 15:00:02|2.0|1|0|1|0|0|1|0||
2|web|completed|2026-11-25 14:00:00|2026-11-25 14:00:07|7.0|6|3|2|1|0|4|1||
1|web|completed|2026-11-25 13:00:00|2026-11-25 13:00:05|5.0|5|3|1|1|0|0|0|yes|"

expect_q "SELECT * FROM job_status" \
	"web|3|aborted|2026-11-25 15:00:00|2026-11-25 15:00:02|3|6|yes"

expect_q "SELECT address, port, state, since FROM port_states" "\
::1|22|open|2026-11-25 13:00:04
127.0.0.1|22|open|2026-11-25 13:00:01
127.0.0.1|80|closed|2026-11-25 14:00:02
127.0.0.1|443|closed|2026-11-25 15:00:01
127.0.0.1|8080|closed|2026-11-25 14:00:04
127.0.0.1|9090|open|2026-11-25 14:00:06"

# every example query runs; spot-check two of them
sqlite3 -readonly -batch -bail -separator '|' "$db" <"$top_srcdir/sql/queries.sql" \
	>"$PW_TMP/queries.out" 2>"$PW_TMP/queries.err" || {
	cat "$PW_TMP/queries.err" >&2
	pw_fail "sql/queries.sql does not run"
}
[ -s "$PW_TMP/queries.err" ] && { cat "$PW_TMP/queries.err" >&2; pw_fail "sqlite3 complained"; }
pw_assert_grep "$PW_TMP/queries.out" '^web\|127\.0\.0\.1\|2\|22,9090$' "query 8 (open per address)"
pw_assert_grep "$PW_TMP/queries.out" '^3\|web\|aborted\|2026-11-25 15:00:00\|2026-11-25 15:00:02\|1$' \
	"query 12 (incomplete runs)"

# retention through the store: events and runs before 14:00, baseline kept
cp "$db" "$PW_TMP/pruned.db"
printf 'prune %s 2\nprune %s 2\nprune %s 2\n' $((T + 3600)) $((T + 3600)) $((T + 3600)) |
	"$tool" "$PW_TMP/pruned.db" >"$PW_TMP/prune.out" || pw_fail "prune failed"
diff -u - "$PW_TMP/prune.out" <<'EOF' || pw_fail "prune batches"
pruned 2
pruned 2
pruned 0
EOF
expect_q "SELECT group_concat(run_id) FROM run_summary" "3,2" "$PW_TMP/pruned.db"
expect_q "SELECT count(*) FROM event_log" "6" "$PW_TMP/pruned.db"
expect_q "SELECT has_baseline, open_now FROM job_status" "yes|3" "$PW_TMP/pruned.db"

# a schema from the future is refused with the path and a reason
cp "$db" "$PW_TMP/future.db"
sqlite3 "$PW_TMP/future.db" "PRAGMA user_version = 999"
st=0
echo flush | "$tool" "$PW_TMP/future.db" 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 1 "exit status on a newer schema"
pw_assert_grep "$PW_TMP/err" "future\.db: database schema version 999 is newer than this portwatch"

pw_pass
