#!/bin/bash
# The daemon's command line and life cycle: options, exit codes, READY=1,
# clean stop on SIGTERM and SIGINT, a control socket path taken by someone
# else.
. "$(dirname "$0")/lib.sh"

conf="$PW_TMP/portwatchd.conf"
cat >"$conf" <<CONF
database = "$PW_TMP/portwatch.db";
CONF

# --help and --version exit 0 and say who they are
"$PORTWATCHD" --help >"$PW_TMP/help" || pw_fail "--help exited $?"
pw_assert_grep "$PW_TMP/help" '^Usage: portwatchd'
"$PORTWATCHD" --version >"$PW_TMP/version" || pw_fail "--version exited $?"
pw_assert_grep "$PW_TMP/version" '^portwatchd [0-9]+\.[0-9]+'

# usage errors exit 2
st=0; "$PORTWATCHD" --no-such-option 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for an unknown option"
st=0; "$PORTWATCHD" stray-argument 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for a stray argument"
pw_assert_grep "$PW_TMP/err" 'unexpected argument "stray-argument"'
st=0; "$PORTWATCHD" --log-level loud 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for a bad log level"

# a config with a syntax error: exit 2 and file:line
printf 'a = 1;\nb = ;\n' >"$PW_TMP/broken.conf"
st=0; "$PORTWATCHD" --check-config --config "$PW_TMP/broken.conf" 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for a broken config"
pw_assert_grep "$PW_TMP/err" "broken\.conf:2: "
st=0; "$PORTWATCHD" --check-config --config "$PW_TMP/missing.conf" 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for a missing config"
pw_assert_grep "$PW_TMP/err" "missing\.conf"

# a good config checks clean
"$PORTWATCHD" --check-config --config "$conf" >"$PW_TMP/out" || pw_fail "--check-config failed"

# life cycle: READY=1, logs its start, stops cleanly on SIGTERM and SIGINT
for sig in TERM INT; do
	: >"$PW_TMP/daemon.log"
	pw_start_daemon --config "$conf" --control-socket "$PW_TMP/ctl.sock"
	pw_assert_grep "$PW_TMP/daemon.log" 'portwatchd\[notice\]: portwatchd [0-9.]+ started'
	[ -S "$PW_TMP/ctl.sock" ] || pw_fail "--control-socket: no socket at $PW_TMP/ctl.sock"
	"$PORTWATCH" --config "$conf" status --socket "$PW_TMP/ctl.sock" >"$PW_TMP/status" ||
		pw_fail "portwatch status --socket failed"
	pw_assert_grep "$PW_TMP/status" "^Daemon: +running \\(pid $PW_DAEMON_PID, control socket $PW_TMP/ctl.sock\\)"
	# one daemon per database: a second one is refused, the first unharmed
	st=0; timeout 10 "$PORTWATCHD" --foreground --config "$conf" 2>"$PW_TMP/second.log" || st=$?
	pw_assert_eq "$st" 1 "exit status of a second daemon on the same database"
	pw_assert_grep "$PW_TMP/second.log" 'in use by another portwatchd'
	# a control socket someone else listens on (another daemon here; a user
	# who bound it first in a shared directory alike): refused, exit 1,
	# never a daemon that `portwatch` cannot reach
	cat >"$PW_TMP/other.conf" <<-CONF
	database = "$PW_TMP/other.db";
	CONF
	st=0; timeout 10 "$PORTWATCHD" --foreground --config "$PW_TMP/other.conf" \
		--control-socket "$PW_TMP/ctl.sock" 2>"$PW_TMP/squat.log" || st=$?
	pw_assert_eq "$st" 1 "exit status of a daemon whose control socket is taken"
	pw_assert_grep "$PW_TMP/squat.log" "Control socket $PW_TMP/ctl\.sock: another process listens there"
	: >"$PW_TMP/not-a-socket"
	st=0; timeout 10 "$PORTWATCHD" --foreground --config "$PW_TMP/other.conf" \
		--control-socket "$PW_TMP/not-a-socket" 2>"$PW_TMP/squat.log" || st=$?
	pw_assert_eq "$st" 1 "exit status of a daemon whose control socket path is a file"
	pw_assert_grep "$PW_TMP/squat.log" "not-a-socket: a file that is not a socket is in the way"
	kill -0 "$PW_DAEMON_PID" || pw_fail "daemon died after READY"
	pw_stop_daemon "$sig"
	pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status after SIG$sig"
	pw_assert_grep "$PW_TMP/daemon.log" 'portwatchd stopped'
	pw_assert_grep "$PW_TMP/notify.log" '^STOPPING=1'
done

pw_pass
