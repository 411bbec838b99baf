#!/bin/bash
# kill -9 a store writer at random moments, mid-batch: the database must
# pass PRAGMA integrity_check and hold exactly the committed batches, each
# whole (run counters agree with the rows), while sqlite3 reads throughout.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || pw_skip "no sqlite3 CLI (apt-get install sqlite3)"
tool="$PW_HELPERS/pw-store-tool"
batch=20000

q() { sqlite3 -batch -noheader "$1" "$2"; }

for round in 1 2 3 4; do
	db="$PW_TMP/crash$round.db"
	out="$PW_TMP/writer$round.out"
	err="$PW_TMP/writer$round.err"
	"$tool" -c "$db" "$batch" >"$out" 2>"$err" &
	pid=$!
	PW_PIDS+=("$pid")
	pw_wait_for 30 grep -q "^committed $((batch * (round + 1)))\$" "$out" ||
		{ cat "$err" >&2; pw_fail "writer made no progress"; }
	# readers are never blocked by the writer (WAL)
	for i in 1 2 3; do
		n=$(sqlite3 -readonly -batch "$db" "SELECT count(*) FROM ports") ||
			pw_fail "reader failed while the writer runs"
		[ "$n" -ge $((batch * (round + 1))) ] || pw_fail "reader sees $n rows"
	done
	if [ $((round % 2)) -eq 1 ]; then
		# somewhere in the next batches: observing or committing
		sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
	else
		# inside a commit: as soon as the writer says it is flushing
		pw_wait_for 30 eval '[[ $(tail -n 1 "$out") == flushing* ]]' ||
			pw_fail "writer never seen flushing"
	fi
	kill -0 "$pid" 2>/dev/null || pw_fail "writer exited early: $(cat "$err")"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	last=$(tail -n 1 "$out")
	committed=$(grep '^committed' "$out" | tail -n 1 | sed 's/^committed //')

	pw_assert_eq "$(q "$db" 'PRAGMA integrity_check')" ok "integrity after kill -9 (round $round)"
	pw_assert_eq "$(q "$db" 'PRAGMA foreign_key_check')" "" "foreign keys (round $round)"
	ports=$(q "$db" "SELECT count(*) FROM ports")
	# whole batches only, at least what the writer saw committed
	[ $((ports % batch)) -eq 0 ] || pw_fail "round $round: $ports rows, not whole batches"
	[ "$ports" -ge "$committed" ] || pw_fail "round $round: $ports rows < $committed committed"
	# the run row was written in the same transactions as the rows
	pw_assert_eq "$(q "$db" "SELECT probes FROM runs")" "$ports" "run probes (round $round)"
	open=$(q "$db" "SELECT count(*) FROM ports WHERE state = 'open'")
	pw_assert_eq "$(q "$db" "SELECT n_open FROM runs")" "$open" "run n_open (round $round)"
	pw_assert_eq "$(q "$db" "SELECT count(*) FROM events WHERE kind = 'baseline'")" "$open" \
		"baseline events (round $round)"
	# the writer's pattern: every 7th observation open
	pw_assert_eq "$open" $(((ports + 6) / 7)) "open rows (round $round)"
	pw_assert_eq "$(q "$db" "SELECT status FROM runs")" running "status before recovery"

	# the next daemon start closes the crashed run as aborted
	echo recover | "$tool" "$db" >"$PW_TMP/recover.out" || pw_fail "recover failed"
	pw_assert_grep "$PW_TMP/recover.out" '^recovered 1$'
	pw_assert_eq "$(q "$db" "SELECT status, ended IS NOT NULL FROM run_summary")" "aborted|1" \
		"status after recovery (round $round)"
	pw_log "round $round: killed (last said: $last) after $committed committed;" \
		"$ports rows on disk, consistent"
done

pw_pass
