#!/bin/bash
# Hostile command lines and hook arguments against a real history:
#   - SQL injection attempts in every value the query verbs take (--job,
#     --host, HOST[:PORT], --since, --limit, --db) give no rows or a clean
#     error, never other rows, and leave the database as it was;
#   - an alert command whose arguments are full of shell syntax runs them
#     literally: no shell ever interprets them.
# Everything, the CLI included, runs in a private network namespace, so a
# value that looks like a host name cannot reach a DNS server.
. "$(dirname "$0")/../integration/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"
: "${PORTWATCH:?run through make check (PORTWATCH unset)}"
"$PORTWATCH" changes --help >/dev/null 2>&1 ||
	pw_skip "portwatch has no query verbs (changes) in this build"

pw_netns_add cli
export PW_DAEMON_NETNS=$PW_NETNS
db=$PW_TMP/history.db
chmod 0755 "$PW_TMP"

# The hook records its arguments and the event, one per line; the marker
# files appear only if a shell ran the arguments.
cat >"$PW_TMP/hook.sh" <<HOOK
#!/bin/sh
for a in "\$@"; do printf 'arg=%s\n' "\$a"; done >>"$PW_TMP/hook.out"
printf 'event=%s port=%s\n' "\$PORTWATCH_EVENT" "\$PORTWATCH_PORT" >>"$PW_TMP/hook.out"
HOOK
chmod 0755 "$PW_TMP/hook.sh"
evil=(
	"; touch $PW_TMP/pwned1"
	"\$(touch $PW_TMP/pwned2)"
	"\`touch $PW_TMP/pwned3\`"
	"| touch $PW_TMP/pwned4"
	"&& touch $PW_TMP/pwned5 #"
	"'\"\\ \$PATH *"
)
cmd="\"$PW_TMP/hook.sh\""
for a in "${evil[@]}"; do
	esc=${a//\\/\\\\}
	esc=${esc//\"/\\\"}
	cmd+=", \"$esc\""
done
cat >"$PW_TMP/portwatchd.conf" <<CONF
database = "$db";
include_dir = "$PW_TMP/conf.d";
defaults = { jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; };
alert = { command = [ $cmd ]; events = [ "opened" ]; };
jobs = (
	{ name = "web"; targets = "127.0.0.1"; ports = "2001-2003"; interval = "1s"; },
	{ name = "db"; targets = "127.0.0.2"; ports = "5432"; interval = "1s"; }
);
CONF
mkdir -p "$PW_TMP/conf.d"
pw_netns_listen 127.0.0.1:2001 127.0.0.2:5432
pw_start_daemon --config "$PW_TMP/portwatchd.conf"
q() { sqlite3 -batch -noheader "$db" "$@"; }
baselines() { [ "$(q "SELECT count(DISTINCT job_id) FROM events WHERE kind = 'baseline';" 2>/dev/null)" = 2 ]; }
pw_wait_for 20 baselines || pw_fail "no baselines"
pw_netns_listen 127.0.0.1:2002
opened() { [ "$(q "SELECT count(*) FROM events WHERE kind = 'opened';")" = 1 ]; }
pw_wait_for 20 opened || pw_fail "the opened event was not recorded"
pw_wait_for 20 grep -q '^event=opened port=2002' "$PW_TMP/hook.out" 2>/dev/null ||
	{ cat "$PW_TMP/daemon.log" >&2; pw_fail "the hook did not run"; }
pw_stop_daemon TERM

# -- the hook got its arguments literally
for a in "${evil[@]}"; do
	grep -qxF -- "arg=$a" "$PW_TMP/hook.out" ||
		{ cat "$PW_TMP/hook.out" >&2; pw_fail "hook argument changed: $a"; }
done
for i in 1 2 3 4 5; do
	[ ! -e "$PW_TMP/pwned$i" ] || pw_fail "a shell ran hook argument $i"
done
pw_log "ok: hook arguments with ; \$( ) \` | && quotes and globs arrived literally, no shell"

# -- SQL injection into the query verbs
snapshot=$(q "SELECT count(*) FROM events; SELECT count(*) FROM runs; SELECT count(*) FROM jobs;" | tr '\n' ' ')
n_cases=0
# pw_cli ARGS...: the CLI inside the namespace; sets st, out, err
pw_cli() {
	st=0
	ip netns exec "$PW_NETNS" timeout 20 "$PORTWATCH" "$@" --db "$db" \
		>"$PW_TMP/cli.out" 2>"$PW_TMP/cli.err" </dev/null || st=$?
	[ "$st" -lt 124 ] || { cat "$PW_TMP/cli.err" >&2; pw_fail "portwatch $*: exit $st (timeout or signal)"; }
	grep -qiE 'sanitizer|runtime error' "$PW_TMP/cli.err" && pw_fail "portwatch $*: sanitizer report"
	return 0
}
# no_rows ARGS...: a clean error (1 or 2 with a message), or success with
# no data row at all (header only, or an empty JSON array)
no_rows() {
	n_cases=$((n_cases + 1))
	pw_cli "$@" --csv --no-header
	case $st in
	0) [ ! -s "$PW_TMP/cli.out" ] || { cat "$PW_TMP/cli.out" >&2; pw_fail "portwatch $*: returned rows"; } ;;
	1 | 2) [ -s "$PW_TMP/cli.err" ] || pw_fail "portwatch $*: exit $st without a message" ;;
	*) pw_fail "portwatch $*: exit status $st" ;;
	esac
	pw_log "ok: $*: exit $st $(head -c 120 "$PW_TMP/cli.err" | head -1)"
}
inj=(
	"x' OR 1=1 --"
	"x\" OR \"1\"=\"1"
	"web' OR 'a'='a"
	"web'; DROP TABLE events; --"
	"' UNION SELECT name, sql, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 FROM sqlite_master --"
	"%"
	"_%"
	"*"
	"web%"
	"web' --"
	"web\\"
	"1 OR 1=1"
	"?"
	":job"
	"\$1"
)
for v in "${inj[@]}"; do
	for verb in changes runs open history; do
		if [ "$verb" = history ]; then
			no_rows history --job "$v" 127.0.0.1:2002
		else
			no_rows "$verb" --job "$v"
		fi
	done
	no_rows changes --host "$v"
	no_rows changes --since "$v"
	no_rows changes --limit "$v"
	no_rows runs --limit "$v"
	no_rows open "$v"
	no_rows history "$v"
	no_rows history "127.0.0.1:$v"
done
# a valid filter still works, so the cases above were really filtered
pw_cli changes --job web --csv --no-header
pw_assert_eq "$st" 0 "portwatch changes --job web"
pw_assert_eq "$(grep -c ',2002,' "$PW_TMP/cli.out")" 1 "the real change of job web"
pw_assert_eq "$(q "SELECT count(*) FROM events; SELECT count(*) FROM runs; SELECT count(*) FROM jobs;" | tr '\n' ' ')" \
	"$snapshot" "database contents after the injection attempts"
pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "integrity_check"

# --db as an SQLite URI must not open (or create) anything else
n_cases=$((n_cases + 1))
st=0
ip netns exec "$PW_NETNS" "$PORTWATCH" open --db "file:$PW_TMP/created.db?mode=rwc" \
	>"$PW_TMP/cli.out" 2>"$PW_TMP/cli.err" || st=$?
[ "$st" -ne 0 ] || pw_fail "--db with a file: URI and mode=rwc succeeded"
[ ! -e "$PW_TMP/created.db" ] || pw_fail "--db file:...?mode=rwc created a database"
pw_log "ok: --db file:...?mode=rwc: exit $st, nothing created"
pw_log "$n_cases hostile command lines: no rows or a clean error, database unchanged"
pw_pass
