#!/bin/bash
# The installed unit under a real systemd: a minimal Debian 12 root (made
# with debootstrap, cached under /var/cache/portwatch-test/) booted with
# systemd-nspawn in its own network namespace; `make install DESTDIR=` is
# copied into the container's volatile overlay, then systemctl starts the
# service (Type=notify: it must send READY=1), the start entry is checked as
# the service's own journal entry (with the catalog text under -x), the
# hardening is checked on the live process, the watchdog must be armed and
# fed, and the service must stop cleanly. Needs root and the Debian packages
# debootstrap and systemd-container; the first run downloads about 60 MB of
# packages from the mirror apt is configured with (about 40 s).
#
# Everything is torn down at exit. nspawn runs in a private mount namespace
# with a tmpfs on /run, so it leaves nothing in the machine's /run; the
# cached root is never written to (--volatile=overlay).
. "$(dirname "$0")/lib.sh"

pw_require_root
command -v debootstrap >/dev/null || pw_skip "debootstrap missing (Debian package debootstrap)"
command -v systemd-nspawn >/dev/null || pw_skip "systemd-nspawn missing (Debian package systemd-container)"
command -v nsenter >/dev/null || pw_skip "nsenter missing (Debian package util-linux)"
: "${top_builddir:?run through make check (top_builddir unset)}"

# Reload and the port-change check need the manager (SIGHUP, scans); set
# to false to run only the service life-cycle checks.
manager_landed=true

cache=${PW_NSPAWN_CACHE:-/var/cache/portwatch-test}
suite=bookworm
# systemd to boot; the daemon's libraries (the sanitizer runtimes too, so an
# --enable-sanitizers build runs as well); sqlite3 to look at the database.
packages=systemd,systemd-sysv,dbus,libconfig9,libsqlite3-0,libasan8,libubsan1,procps,sqlite3
root="$cache/debian-$suite-$(printf '%s' "$packages" | sha256sum | cut -c1-12)"

# The mirror apt uses here: the only package source this machine reaches.
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk -v s="$suite" '
			/^URIs:/ { u = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) ok = 1 }
			/^$/ { if (ok && u) { print u; exit } u = ""; ok = 0 }
			END { if (ok && u) print u }' "$f" | head -n1)
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri=$(awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	echo http://deb.debian.org/debian
}

# ---- the root, made once and then reused
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 900 9 || pw_fail "another run holds $cache/.lock"
if [ ! -e "$root.done" ]; then
	mirror=$(debian_mirror)
	pw_log "debootstrap $suite from $mirror into $root (first run only)"
	rm -rf "$root.tmp" "$root"
	if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root.tmp" "$mirror" \
		>"$PW_TMP/debootstrap.log" 2>&1; then
		tail -n 20 "$PW_TMP/debootstrap.log" >&2
		rm -rf "$root.tmp"
		grep -qE 'Failed getting release file|Couldn.t download|Temporary failure resolving' \
			"$PW_TMP/debootstrap.log" && pw_skip "the Debian mirror $mirror is unreachable"
		pw_fail "debootstrap failed"
	fi
	mv "$root.tmp" "$root"
	touch "$root.done"
fi
exec 9>&-

# ---- what make install installs
dest="$PW_TMP/dest"
make -s -C "$top_builddir" install DESTDIR="$dest" >"$PW_TMP/install.log" 2>&1 ||
	{ cat "$PW_TMP/install.log" >&2; pw_fail "make install DESTDIR=... failed"; }
unit=$(find "$dest" -name portwatchd.service -type f)
[ -n "$unit" ] || pw_fail "make install did not install portwatchd.service"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
sanitized=false
ldd "$dest$exec_start" | grep -q libasan && sanitized=true

# ---- boot
PW_NSPAWN_PID=
PW_CONTAINER=
machine="pw-test-$$"
pw_nspawn_stop() {
	[ -n "$PW_NSPAWN_PID" ] || return 0
	# SIGTERM makes nspawn power the container off cleanly
	kill -TERM "$PW_NSPAWN_PID" 2>/dev/null || true
	pw_wait_for 20 eval '! kill -0 "$PW_NSPAWN_PID" 2>/dev/null' ||
		kill -KILL "$PW_NSPAWN_PID" 2>/dev/null || true
	wait "$PW_NSPAWN_PID" 2>/dev/null || true
	PW_NSPAWN_PID=
}
PW_CLEANUP_HOOKS+=(pw_nspawn_stop)

unshare --mount --propagation private sh -c '
	mount -t tmpfs -o mode=0755 pw-nspawn-run /run || exit 1
	exec systemd-nspawn -b --volatile=overlay --private-network --register=no --keep-unit \
		--console=read-only -M "$1" -D "$2"' sh "$machine" "$root" \
	>"$PW_TMP/console.log" 2>&1 </dev/null &
PW_NSPAWN_PID=$!

container_pid() { # the container's PID 1, as seen from here
	local c
	for c in $(pgrep -P "$PW_NSPAWN_PID"); do
		[ "$(cat "/proc/$c/comm" 2>/dev/null)" = systemd ] && { echo "$c"; return 0; }
	done
	return 1
}
pw_wait_for 30 container_pid >/dev/null ||
	{ cat "$PW_TMP/console.log" >&2; pw_fail "the container's systemd did not start"; }
PW_CONTAINER=$(container_pid)
ns() { nsenter -t "$PW_CONTAINER" -a "$@"; }
booted() {
	local s
	s=$(ns systemctl is-system-running 2>/dev/null) || true
	[ "$s" = running ] || [ "$s" = degraded ]
}
if ! pw_wait_for 60 booted; then
	cat "$PW_TMP/console.log" >&2
	ns systemctl --failed --no-pager >&2 || true
	pw_fail "the container did not finish booting"
fi
pw_log "container booted (PID $PW_CONTAINER)"

# ---- install into the container's overlay
tar -C "$dest" -cf - . | ns tar -C / --keep-directory-symlink --no-same-owner -xf - ||
	pw_fail "copying the DESTDIR install into the container failed"
ns test -x "$exec_start" || pw_fail "$exec_start is not in the container"
# Under a prefix systemd does not search (make distcheck's), link the unit
# and the catalog to where it looks, as a packager's prefix would have.
unit_dir=$(dirname "${unit#"$dest"}")
case "$unit_dir" in
/etc/systemd/system | /lib/systemd/system | /usr/lib/systemd/system | /usr/local/lib/systemd/system) ;;
*)
	ns ln -sf "$unit_dir/portwatchd.service" /etc/systemd/system/portwatchd.service
	catalog=$(find "$dest" -name portwatch.catalog -type f | head -n 1)
	[ -n "$catalog" ] && ns ln -sf "${catalog#"$dest"}" /usr/lib/systemd/catalog/portwatch.catalog
	;;
esac
ns journalctl --update-catalog || pw_fail "journalctl --update-catalog failed in the container"
# A short watchdog, so the test sees it fed within seconds; the unit's own
# WatchdogSec= is checked by unit-verify.sh.
ns mkdir -p /run/systemd/system/portwatchd.service.d
{
	printf '[Service]\nWatchdogSec=3s\n'
	# A prefix under /tmp (make distcheck's) is hidden by the unit's
	# PrivateTmp=yes: show the service that one tree, read-only.
	case "$exec_start" in
	/tmp/* | /var/tmp/*) printf 'BindReadOnlyPaths=%s\n' "$(dirname "$(dirname "$exec_start")")" ;;
	esac
	# LeakSanitizer needs ptrace, which the unit's syscall filter forbids
	$sanitized && printf 'Environment=ASAN_OPTIONS=detect_leaks=0\n'
} | ns sh -c 'cat >/run/systemd/system/portwatchd.service.d/50-test.conf'
ns systemctl daemon-reload || pw_fail "daemon-reload failed"

svc_show() { ns systemctl show -P "$1" portwatchd.service; }
dump_service() {
	ns systemctl status --no-pager portwatchd.service >&2 || true
	ns journalctl --no-pager -u portwatchd.service >&2 || true
}

# ---- start: Type=notify, so this returns once READY=1 arrived
timeout 60 nsenter -t "$PW_CONTAINER" -a systemctl start portwatchd.service ||
	{ dump_service; pw_fail "systemctl start portwatchd failed"; }
[ "$(svc_show ActiveState)" = active ] || { dump_service; pw_fail "portwatchd is not active"; }
main_pid=$(svc_show MainPID)
[ "$main_pid" -gt 0 ] || pw_fail "no MainPID"

# The start entry is the service's own entry, with the structured fields
# (stderr was the journal stream, so --log-target auto chose the journal).
started=$("$PW_HELPERS/pw-emit-events" --list | awk '$1 == "daemon-started" { print $2 }')
stopped=$("$PW_HELPERS/pw-emit-events" --list | awk '$1 == "daemon-stopped" { print $2 }')
has_entry() { [ -n "$(ns journalctl -q -o cat -u portwatchd.service "$@" 2>/dev/null)" ]; }
pw_wait_for 10 has_entry MESSAGE_ID="$started" _PID="$main_pid" ||
	{ dump_service; pw_fail "no daemon-started entry under journalctl -u portwatchd"; }
ns journalctl -q -o export -u portwatchd.service MESSAGE_ID="$started" _PID="$main_pid" >"$PW_TMP/start"
for f in _SYSTEMD_UNIT=portwatchd.service SYSLOG_IDENTIFIER=portwatchd PRIORITY=5 \
	_TRANSPORT=journal PORTWATCH_EVENT=daemon-started; do
	grep -qxF "$f" "$PW_TMP/start" || { cat "$PW_TMP/start" >&2; pw_fail "start entry lacks $f"; }
done
ns journalctl -q -x --no-pager -u portwatchd.service MESSAGE_ID="$started" >"$PW_TMP/start-x"
pw_assert_grep "$PW_TMP/start-x" 'Subject: portwatchd started' "journalctl -x shows no catalog text"

# ---- the hardening, on the live process
ns cat "/proc/$main_pid/status" >"$PW_TMP/status"
pw_assert_no_grep "$PW_TMP/status" '^Uid:[[:space:]]+0[[:space:]]' "runs as root despite DynamicUser="
pw_assert_grep "$PW_TMP/status" '^CapEff:[[:space:]]+0+$' "has effective capabilities"
pw_assert_grep "$PW_TMP/status" '^CapBnd:[[:space:]]+0+$' "has a capability bounding set"
pw_assert_grep "$PW_TMP/status" '^NoNewPrivs:[[:space:]]+1$'
pw_assert_grep "$PW_TMP/status" '^Seccomp:[[:space:]]+2$' "no seccomp filter"
ns cat "/proc/$main_pid/limits" >"$PW_TMP/limits"
pw_assert_grep "$PW_TMP/limits" '^Max open files +20000 +20000 ' "LimitNOFILE=20000 not applied"

# ---- the watchdog is armed and fed: it survives longer than WatchdogSec
pw_assert_eq "$(svc_show WatchdogUSec)" 3s "WatchdogUSec"
wd1=$(svc_show WatchdogTimestampMonotonic)
[ "${wd1:-0}" -gt 0 ] || pw_fail "watchdog not armed (WatchdogTimestampMonotonic=$wd1)"
sleep 4
wd2=$(svc_show WatchdogTimestampMonotonic)
[ "$(svc_show ActiveState)" = active ] || { dump_service; pw_fail "portwatchd died under the watchdog"; }
pw_assert_eq "$(svc_show MainPID)" "$main_pid" "MainPID after 4 s (watchdog restart?)"
[ "$wd2" -gt "$wd1" ] || pw_fail "the daemon did not ping the watchdog (timestamp $wd1 -> $wd2)"

if $manager_landed; then
	# ---- reload keeps the daemon and logs config-reloaded
	reloaded=$("$PW_HELPERS/pw-emit-events" --list | awk '$1 == "config-reloaded" { print $2 }')
	timeout 30 nsenter -t "$PW_CONTAINER" -a systemctl reload portwatchd.service ||
		{ dump_service; pw_fail "systemctl reload failed"; }
	pw_wait_for 10 has_entry MESSAGE_ID="$reloaded" _PID="$main_pid" ||
		{ dump_service; pw_fail "no config-reloaded entry after reload"; }
	[ "$(svc_show ActiveState)" = active ] || pw_fail "not active after reload"
	pw_assert_eq "$(svc_show MainPID)" "$main_pid" "MainPID after reload"

	# ---- a port change reaches the journal as the service's entry, and the
	# database. 127.0.0.1 is the container's own loopback (--private-network).
	opened=$("$PW_HELPERS/pw-emit-events" --list | awk '$1 == "port-opened" { print $2 }')
	confd="$(dirname "$(sed -n 's/^ExecStart=.*--config \([^ ]*\).*/\1/p' "$unit")")/conf.d"
	ns test -d "$confd" || pw_fail "no drop-in directory $confd in the container"
	ns sh -c "cat >$confd/90-nspawn-test.conf" <<-CONF
	jobs = (
		{
			name = "nspawn-test";
			targets = [ "127.0.0.1" ];
			ports = [ "4242" ];
			interval = "1h";
			timeout = "200ms";
			retries = 0;
			confirm_spacing = "100ms";
		}
	);
	CONF
	timeout 30 nsenter -t "$PW_CONTAINER" -a systemctl reload portwatchd.service ||
		{ dump_service; pw_fail "reload with a new job failed"; }
	pw_wait_for 10 has_entry MESSAGE_ID="$reloaded" PORTWATCH_JOBS_ADDED=1 ||
		{ dump_service; pw_fail "no config-reloaded entry with one job added"; }
	# a broken drop-in: `systemctl reload` fails (ExecReload is `portwatch
	# reload`, which waits for the outcome) and the daemon goes on as it was
	ns sh -c "cat >$confd/91-broken.conf" <<-'CONF'
	jobs = ( { name = "broken"; targets = "127.0.0.1"; ports = "22"; intervall = "5m"; } );
	CONF
	if timeout 30 nsenter -t "$PW_CONTAINER" -a systemctl reload portwatchd.service \
		>"$PW_TMP/reload.out" 2>&1; then
		dump_service
		pw_fail "systemctl reload succeeded with a broken configuration"
	fi
	ns journalctl -q -u portwatchd.service -o cat | grep -q 'unknown key "intervall"' ||
		{ dump_service; pw_fail "the rejected reload does not name the error in the unit's log"; }
	[ "$(svc_show ActiveState)" = active ] || { dump_service; pw_fail "not active after a rejected reload"; }
	pw_assert_eq "$(svc_show MainPID)" "$main_pid" "MainPID after a rejected reload"
	ns rm "$confd/91-broken.conf"
	has_job_entry() { has_entry PORTWATCH_JOB=nspawn-test "$@"; }
	# the new job runs soon after it appears: its baseline (4242 closed)
	baseline=$("$PW_HELPERS/pw-emit-events" --list | awk '$1 == "baseline-recorded" { print $2 }')
	pw_wait_for 30 has_job_entry MESSAGE_ID="$baseline" ||
		{ dump_service; pw_fail "the new job recorded no baseline"; }

	ns mkdir -p /usr/local/libexec/portwatch-test
	tar -C "$PW_HELPERS" -cf - pw-listen | ns tar -C /usr/local/libexec/portwatch-test -xf -
	# (stdin from /dev/null: a background nsenter reading the terminal stops)
	nsenter -t "$PW_CONTAINER" -a sh -c 'echo $$ >/run/pw-listen.pid &&
		exec /usr/local/libexec/portwatch-test/pw-listen -r /run/pw-listen.ready 127.0.0.1:4242' \
		</dev/null >"$PW_TMP/listen.log" 2>&1 &
	listen_nsenter=$!
	pw_wait_for 10 ns test -e /run/pw-listen.ready || pw_fail "listener in the container did not come up"
	ns systemctl kill -s USR1 --kill-whom=main portwatchd.service || pw_fail "cannot send SIGUSR1"
	pw_wait_for 30 has_job_entry -p warning MESSAGE_ID="$opened" PORTWATCH_PORT=4242 ||
		{ dump_service; pw_fail "no port-opened entry for 127.0.0.1:4242 under journalctl -u portwatchd -p warning"; }
	ns journalctl -q -o export -u portwatchd.service MESSAGE_ID="$opened" PORTWATCH_PORT=4242 >"$PW_TMP/opened"
	for f in _SYSTEMD_UNIT=portwatchd.service PRIORITY=4 PORTWATCH_JOB=nspawn-test \
		PORTWATCH_ADDRESS=127.0.0.1 PORTWATCH_OLD_STATE=closed PORTWATCH_NEW_STATE=open; do
		grep -qxF "$f" "$PW_TMP/opened" || { cat "$PW_TMP/opened" >&2; pw_fail "port-opened entry lacks $f"; }
	done
	# the store may write a moment after the journal entry
	opened_rows() {
		ns sqlite3 -readonly /var/lib/portwatch/portwatch.db \
			"SELECT count(*) FROM events WHERE port = 4242 AND kind = 'opened'" 2>/dev/null
	}
	pw_wait_for 10 eval '[ "$(opened_rows)" = 1 ]' ||
		{ dump_service; pw_fail "opened events for 127.0.0.1:4242 in the database: '$(opened_rows)', want 1"; }
	pw_assert_eq "$(svc_show MainPID)" "$main_pid" "MainPID after the scans"
	ns sh -c 'kill "$(cat /run/pw-listen.pid)"'
	wait "$listen_nsenter" 2>/dev/null || true
fi

# ---- stop: clean exit, and the stop entry
timeout 60 nsenter -t "$PW_CONTAINER" -a systemctl stop portwatchd.service ||
	{ dump_service; pw_fail "systemctl stop failed"; }
pw_assert_eq "$(svc_show ActiveState)" inactive "state after stop"
pw_assert_eq "$(svc_show Result)" success "Result after stop"
pw_assert_eq "$(svc_show ExecMainStatus)" 0 "exit status after stop"
pw_wait_for 10 has_entry MESSAGE_ID="$stopped" _PID="$main_pid" ||
	{ dump_service; pw_fail "no daemon-stopped entry under journalctl -u portwatchd"; }

pw_nspawn_stop
pw_pass
