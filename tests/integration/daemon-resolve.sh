#!/bin/bash
# Host-name targets against a dead name server: lookups stall for seconds,
# the daemon does not. Inside a private network namespace whose only name
# server, 127.0.0.1:53, drops every query (nftables), the daemon sees a
# resolv.conf of our own. While job "named" waits on its lookups, job
# "fast" keeps completing runs and the control socket answers; the names
# that do resolve (localhost, from /etc/hosts) are scanned; a reload keeps
# a resolving run whose job did not change and aborts one whose job did;
# SIGTERM during the lookups ends the daemon at once and records the run
# as aborted.
. "$(dirname "$0")/lib.sh"
pw_require_netns
command -v sqlite3 >/dev/null || pw_skip "needs the sqlite3 CLI"
command -v unshare >/dev/null || pw_skip "needs unshare (util-linux)"
# nss-resolve asks systemd-resolved over a unix socket, which the netns
# does not cut off: the names would fail at once, without a stall.
grep -qE '^hosts:.*\bresolve\b' /etc/nsswitch.conf 2>/dev/null &&
	pw_skip "hosts: resolve in nsswitch.conf; this test needs the glibc stub resolver"

pw_netns_add dns
export PW_DAEMON_NETNS=$PW_NETNS
pw_netns_nft udp dport 53 drop
pw_netns_nft tcp dport 53 drop
# Without a resolv.conf glibc asks 127.0.0.1 anyway (5 s, 2 attempts).
printf 'nameserver 127.0.0.1\noptions timeout:3 attempts:1\n' >"$PW_TMP/resolv.conf"
[ -e /etc/resolv.conf ] && export PW_DAEMON_RESOLV="$PW_TMP/resolv.conf"
# the same through the environment, for a host without the file; and no
# search domains, so each name is one query
export RES_OPTIONS="timeout:3 attempts:1" LOCALDOMAIN=

db="$PW_TMP/history.db"
conf="$PW_TMP/portwatchd.conf"
write_conf() { # NAMED-TARGETS
	cat >"$conf" <<CONF
database = "$db";
include_dir = "$PW_TMP/conf.d";
defaults = { jitter = "0s"; timeout = "200ms"; confirm = 1; confirm_spacing = "100ms"; };
jobs = (
	{ name = "named"; targets = [ $1 ]; ports = [ "3001" ]; interval = "1h"; },
	{ name = "fast"; targets = [ "127.0.0.2" ]; ports = [ "3002" ]; interval = "1s"; }
);
CONF
}
write_conf '"localhost", "stall-a.invalid", "stall-b.invalid"'
mkdir -p "$PW_TMP/conf.d"
q() { sqlite3 -batch -noheader "$db" "$@"; }
named_run() { # COLUMN STATUS: of job named's last run with that status
	q "SELECT r.$1 FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'named' AND r.status = '$2' ORDER BY r.id DESC LIMIT 1;"
}
named_runs() { # STATUS
	q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'named' AND r.status = '$1';"
}
named_runs_are() { [ "$(named_runs "$1")" = "$2" ]; }
log_has() { grep -qE -- "$1" "$PW_TMP/daemon.log"; }
# resolve_named: run job named now and wait until it is resolving
resolve_named() {
	local seen
	seen=$(wc -l <"$PW_TMP/notify.log")
	kill -USR1 "$PW_DAEMON_PID"
	pw_wait_for 10 resolving_since "$seen" || { cat "$PW_TMP/notify.log" >&2; pw_fail "job named did not start resolving"; }
}
resolving_since() { tail -n +"$(($1 + 1))" "$PW_TMP/notify.log" | grep -q '^STATUS=.*named resolving'; }

pw_netns_listen 127.0.0.1:3001 '[::1]:3001' 127.0.0.2:3002
pw_start_daemon --config "$conf" --control-socket "$PW_TMP/ctl.sock"
# new jobs start within a spread of up to 30 s: run both now
kill -USR1 "$PW_DAEMON_PID"
pw_wait_for 10 grep -q '^STATUS=.*named resolving' "$PW_TMP/notify.log" ||
	{ cat "$PW_TMP/notify.log" >&2; pw_fail "STATUS= never showed job named resolving"; }
# the control socket answers while the lookups hang (the CLI waits 2 s)
"$PORTWATCH" --config "$conf" status --socket "$PW_TMP/ctl.sock" >"$PW_TMP/status" ||
	pw_fail "portwatch status failed during the lookups"
pw_assert_grep "$PW_TMP/status" "^Daemon: +running \\(pid $PW_DAEMON_PID"
pw_assert_grep "$PW_TMP/status" "named, run [0-9]+: resolving host names"
pw_wait_for 30 log_has 'Baseline recorded for job named' ||
	{ cat "$PW_TMP/daemon.log" >&2; pw_fail "job named never completed"; }
pw_assert_grep "$PW_TMP/daemon.log" 'Job named: 2 of 3 host names did not resolve; scanning the rest'

started=$(named_run started_usec completed)
ended=$(named_run ended_usec completed)
# A stall shorter than the two 3 s timeouts means DNS failed fast and the
# rest of this test would prove nothing.
[ $((ended - started)) -ge 5000000 ] ||
	pw_fail "the lookups took $(((ended - started) / 1000)) ms: the dead name server did not stall them"
fast_runs=$(q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'fast' AND r.status = 'completed' AND r.started_usec > $started AND r.ended_usec < $ended;")
[ "$fast_runs" -ge 3 ] ||
	pw_fail "job fast completed $fast_runs run(s) during $(((ended - started) / 1000)) ms of lookups: the loop was blocked"
# localhost's addresses (from /etc/hosts: 127.0.0.1, and ::1 where listed)
# were scanned; the dead names added nothing
want=$(pw_netns_exec getent ahosts localhost | awk '{ print $1 }' | LC_ALL=C sort -u | tr '\n' ' ')
got=$(q "SELECT address FROM events WHERE kind = 'baseline' AND new_state = 'open' AND port = 3001;" |
	LC_ALL=C sort -u | tr '\n' ' ')
pw_assert_eq "$got" "$want" "ports found through localhost"

# a reload that leaves job named as it is keeps its resolving run
resolve_named
kill -HUP "$PW_DAEMON_PID"
pw_wait_for 30 named_runs_are completed 2 || pw_fail "the run kept over a reload did not complete"
pw_assert_eq "$(named_runs aborted)" 0 "runs aborted by a reload that changed nothing"
# a reload that changes job named's targets aborts it, and does not wait:
# its two lookups have 6 s to go, the bounds below (4 s) only allow for a
# loaded machine and a sanitizer's exit
resolve_named
write_conf '"localhost", "stall-a.invalid"'
t0=$(date +%s%N)
kill -HUP "$PW_DAEMON_PID"
pw_wait_for 10 named_runs_are aborted 1 || pw_fail "a reload changing job named did not abort its run"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -le 4000 ] ||
	pw_fail "aborting on reload took $(((t1 - t0) / 1000000)) ms: the daemon waited for the lookups"
kill -0 "$PW_DAEMON_PID" || pw_fail "the daemon died on the reload"

# SIGTERM while the lookups hang: the daemon does not wait for them
resolve_named
t0=$(date +%s%N)
pw_stop_daemon TERM
t1=$(date +%s%N)
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status after SIGTERM during lookups"
[ $(((t1 - t0) / 1000000)) -le 4000 ] ||
	pw_fail "stopping took $(((t1 - t0) / 1000000)) ms: the daemon waited for the lookups"
pw_assert_eq "$(named_runs aborted)" 2 "runs aborted by the reload and the stop"
pw_assert_eq "$(q "SELECT count(*) FROM events WHERE kind <> 'baseline';")" 0 "events other than the baseline"
pw_assert_eq "$(q 'PRAGMA integrity_check;')" ok "integrity_check"

# The caps hold after resolution too (issue 14.8): one name in /etc/hosts
# for 65,600 addresses x all ports is 4.3e9 probes, over the 2^32 cap that
# --check-config could not apply to a name. The run fails with the reason
# and probes nothing.
awk 'BEGIN { print "127.0.0.1 localhost"; n = 0
	for (c = 0; c < 512 && n < 65600; c++) for (d = 1; d < 256 && n < 65600; d++) {
		printf "127.%d.%d.%d big.test\n", 10 + int(c / 256), c % 256, d; n++ } }' >"$PW_TMP/hosts"
cat >"$conf" <<CONF
database = "$db";
defaults = { jitter = "0s"; timeout = "200ms"; };
jobs = ( { name = "big"; targets = [ "big.test" ]; ports = "all"; interval = "1h"; } );
CONF
"$PORTWATCHD" --check-config --config "$conf" >/dev/null 2>&1 || pw_fail "the big job does not pass --check-config"
: >"$PW_TMP/daemon.log"
PW_DAEMON_HOSTS="$PW_TMP/hosts" pw_start_daemon --config "$conf"
kill -USR1 "$PW_DAEMON_PID"
big_failed() { [ "$(q "SELECT count(*) FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'big' AND r.status = 'failed';")" = 1 ]; }
pw_wait_for 30 big_failed || { tail -5 "$PW_TMP/daemon.log" >&2; pw_fail "the run over the cap did not fail"; }
pw_assert_grep "$PW_TMP/daemon.log" 'job big failed: the host names resolved to 65600 addresses: x 65535 ports = 4299096000 probes per run, above the cap of 4294967296'
pw_assert_eq "$(q "SELECT r.probes FROM runs r JOIN jobs j ON j.id = r.job_id WHERE j.name = 'big';")" 0 "probes of the run over the cap"
pw_stop_daemon TERM
pw_assert_eq "$PW_DAEMON_STATUS" 0 "exit status after the run over the cap"
pw_pass
