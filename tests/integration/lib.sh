# Shared by the integration tests: temporary state, the real daemon with a
# notify socket the test reads, loopback listeners, and assertions.
# Source it from bash; every test gets its own directory, removed on exit.
# Exit codes follow automake: 0 pass, 1 fail, 77 skip.

set -u

: "${PORTWATCHD:?run through make check (PORTWATCHD unset)}"
: "${PW_HELPERS:?run through make check (PW_HELPERS unset)}"

PW_TEST_NAME=$(basename "$0" .sh)
PW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pw-$PW_TEST_NAME.XXXXXX")
PW_PIDS=()
PW_CLEANUP_HOOKS=()

pw_cleanup() {
	local pid hook
	for hook in "${PW_CLEANUP_HOOKS[@]}"; do
		$hook || true
	done
	for pid in "${PW_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PW_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$PW_TMP"
}
trap pw_cleanup EXIT

pw_log() { printf '%s: %s\n' "$PW_TEST_NAME" "$*" >&2; }
pw_fail() { pw_log "FAIL: $*"; exit 1; }
pw_skip() { pw_log "SKIP: $*"; exit 77; }
pw_pass() { pw_log "PASS"; exit 0; }

pw_require_root() {
	[ "$(id -u)" -eq 0 ] || pw_skip "needs root"
}

# pw_wait_for SECONDS COMMAND...: poll until COMMAND succeeds.
pw_wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

pw_assert_grep() { # FILE PATTERN [what]
	grep -qE -- "$2" "$1" || { pw_log "--- $1:"; cat "$1" >&2; pw_fail "${3:-no line matching /$2/ in $1}"; }
}
pw_assert_no_grep() { # FILE PATTERN [what]
	! grep -qE -- "$2" "$1" || { pw_log "--- $1:"; cat "$1" >&2; pw_fail "${3:-unexpected /$2/ in $1}"; }
}
pw_assert_eq() { # GOT WANT WHAT
	[ "$1" = "$2" ] || pw_fail "$3: got '$1', want '$2'"
}

# pw_listen ADDR:PORT...: start listeners; waits until they are up and
# sets PW_LISTEN_PID. Stop them with pw_unlisten PID.
pw_listen() {
	local ready="$PW_TMP/listen.$RANDOM.ready"
	"$PW_HELPERS/pw-listen" -r "$ready" "$@" &
	PW_LISTEN_PID=$!
	PW_PIDS+=("$PW_LISTEN_PID")
	pw_wait_for 10 test -e "$ready" || pw_fail "listeners $* did not come up"
}
pw_unlisten() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# pw_start_daemon ARGS...: run the real portwatchd in the foreground with
# NOTIFY_SOCKET pointed at a socket this test reads; waits for READY=1.
# Sets PW_DAEMON_PID; stderr goes to $PW_TMP/daemon.log, notify messages to
# $PW_TMP/notify.log.
pw_start_daemon() {
	local sock="$PW_TMP/notify.sock"
	"$PW_HELPERS/pw-notify" "$sock" 600 >"$PW_TMP/notify.log" &
	PW_PIDS+=("$!")
	pw_wait_for 10 test -S "$sock" || pw_fail "notify socket did not appear"
	NOTIFY_SOCKET="$sock" "$PORTWATCHD" --foreground "$@" 2>"$PW_TMP/daemon.log" &
	PW_DAEMON_PID=$!
	PW_PIDS+=("$PW_DAEMON_PID")
	if ! pw_wait_for 30 grep -q '^READY=1' "$PW_TMP/notify.log"; then
		cat "$PW_TMP/daemon.log" >&2
		pw_fail "daemon did not send READY=1"
	fi
}

# pw_stop_daemon [SIGNAL]: stop it and set PW_DAEMON_STATUS to its exit code.
pw_stop_daemon() {
	kill -"${1:-TERM}" "$PW_DAEMON_PID"
	PW_DAEMON_STATUS=0
	wait "$PW_DAEMON_PID" || PW_DAEMON_STATUS=$?
}
