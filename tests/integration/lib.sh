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
# A failure shows the end of the daemon's stderr too: sanitizer reports and
# the last events are there, and the directory is gone after exit.
pw_fail() {
	pw_log "FAIL: $*"
	if [ -s "$PW_TMP/daemon.log" ]; then
		pw_log "--- last lines of $PW_TMP/daemon.log:"
		tail -n 80 "$PW_TMP/daemon.log" >&2
	fi
	exit 1
}
# PW_TEST_STRICT=1 (set by ./bootstrap.sh test as root, so in CI) turns
# every skip into a failure: there, everything a test needs is installed.
pw_skip() {
	[ "${PW_TEST_STRICT:-0}" = 1 ] && pw_fail "PW_TEST_STRICT=1 but skipping: $*"
	pw_log "SKIP: $*"
	exit 77
}
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
# One notifier per daemon: a notifier left from an earlier daemon in the
# same test would share the socket path and the log file with the new one.
PW_NOTIFY_PID=
pw_start_daemon() {
	local sock="$PW_TMP/notify.sock"
	pw_stop_notify
	rm -f "$sock"
	"$PW_HELPERS/pw-notify" "$sock" 600 >"$PW_TMP/notify.log" &
	PW_NOTIFY_PID=$!
	PW_PIDS+=("$PW_NOTIFY_PID")
	pw_wait_for 10 test -S "$sock" || pw_fail "notify socket did not appear"
	local wrap=()
	# PW_DAEMON_NETNS=NAME runs the daemon inside that network namespace.
	[ -n "${PW_DAEMON_NETNS:-}" ] && wrap=(ip netns exec "$PW_DAEMON_NETNS")
	# PW_DAEMON_RESOLV=FILE: the daemon sees FILE as /etc/resolv.conf, in
	# a mount namespace of its own (the host's file is never touched). Each
	# step execs the next, so $! is still the daemon's pid.
	[ -n "${PW_DAEMON_RESOLV:-}" ] &&
		wrap+=(unshare -m --propagation private sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
			"$PW_DAEMON_RESOLV")
	# PW_DAEMON_HOSTS=FILE: likewise for /etc/hosts, with "multi on" in
	# /etc/host.conf so a name may stand for every address listed for it.
	[ -n "${PW_DAEMON_HOSTS:-}" ] && printf 'multi on\n' >"$PW_TMP/host.conf" &&
		wrap+=(unshare -m --propagation private sh -c 'mount --bind "$0" /etc/hosts &&
			mount --bind "$1" /etc/host.conf && shift && exec "$@"' "$PW_DAEMON_HOSTS" "$PW_TMP/host.conf")
	# A control socket of the test's own unless it names one: the default
	# path under /run would be shared by tests running in parallel.
	local a cfg= ctl=(--control-socket "$PW_TMP/ctl.sock") prev=
	for a in "$@"; do
		case "$a" in --control-socket | --control-socket=* | -s) ctl=() ;; esac
		[ "$prev" = --config ] && cfg=$a
		prev=$a
	done
	[ -n "$cfg" ] && grep -qE '^[[:space:]]*control_socket[[:space:]]*[=:]' "$cfg" 2>/dev/null && ctl=()
	NOTIFY_SOCKET="$sock" "${wrap[@]}" "$PORTWATCHD" --foreground "${ctl[@]}" "$@" 2>>"$PW_TMP/daemon.log" &
	PW_DAEMON_PID=$!
	PW_PIDS+=("$PW_DAEMON_PID")
	if ! pw_wait_for 30 grep -q '^READY=1' "$PW_TMP/notify.log"; then
		cat "$PW_TMP/daemon.log" >&2
		pw_fail "daemon did not send READY=1"
	fi
}

# pw_stop_daemon [SIGNAL]: stop it and set PW_DAEMON_STATUS to its exit code.
# Then notify.log holds every message the daemon sent, STOPPING=1 included.
pw_stop_daemon() {
	kill -"${1:-TERM}" "$PW_DAEMON_PID"
	PW_DAEMON_STATUS=0
	wait "$PW_DAEMON_PID" || PW_DAEMON_STATUS=$?
	pw_stop_notify
}
pw_stop_notify() {
	[ -n "$PW_NOTIFY_PID" ] || return 0
	kill "$PW_NOTIFY_PID" 2>/dev/null || true
	wait "$PW_NOTIFY_PID" 2>/dev/null || true
	PW_NOTIFY_PID=
}

# ======================================================================
# Private network namespaces: everything that probes port ranges, drops,
# rejects, delays or loses packets happens in a namespace the test creates
# here and that is removed on exit, even on failure. Inside it only lo
# exists (all of 127.0.0.0/8 and ::1), so the only listeners are the test's.
#
#   pw_require_netns [nfq]   skip (77) unless root, ip, nft (and with nfq:
#                            iptables, ip6tables, the pw-nfq-delay helper)
#   pw_netns_add [TAG]       create pw-$$-TAG with lo up; sets PW_NETNS
#   pw_netns_del NAME        stop its processes and delete it
#   pw_netns_exec CMD...     run CMD inside $PW_NETNS
#   pw_netns_listen ADDR:PORT...      pw-listen inside; sets PW_LISTEN_PID
#   pw_netns_filter PORTS [DADDR]     drop SYNs to them: "filtered"
#   pw_netns_unreach PORTS [DADDR [TYPE]]  reject with icmpx TYPE
#                            (host-unreachable): "unreachable". IPv4 only:
#                            this kernel's TCP ignores ICMPv6 errors on ::1.
#   pw_netns_nft RULE...     any other rule for the input chain
#   pw_netns_delay MS [LOSS% [SEED]]  delay/drop outgoing SYNs via NFQUEUE;
#                            sets PW_NFQ_PID and PW_NFQ_STATS
#   pw_netns_delay_stop      release held packets, write PW_NFQ_STATS
# PORTS is nft syntax: 80, 1000-1999 or "{ 22, 80 }"; DADDR an address or
# prefix (127.1.0.0/16, ::1). Set PW_NETNS_STRICT=1 (CI as root) to turn
# the skips of pw_require_netns into failures.
# ======================================================================

PW_NETNS=
PW_NFQ_PID=
PW_NFQ_STATS=
PW_NFQ_QUEUE=0

pw_netns_skip() {
	if [ "${PW_NETNS_STRICT:-0}" = 1 ] || [ "${PW_TEST_STRICT:-0}" = 1 ]; then
		pw_fail "PW_NETNS_STRICT=1 but: $*"
	fi
	pw_skip "$*"
}

pw_require_netns() {
	local tool
	[ "$(id -u)" -eq 0 ] || pw_netns_skip "network namespaces need root"
	for tool in ip nft; do
		command -v "$tool" >/dev/null || pw_netns_skip "$tool not installed"
	done
	if [ "${1:-}" = nfq ]; then
		for tool in iptables ip6tables; do
			command -v "$tool" >/dev/null || pw_netns_skip "$tool not installed"
		done
		[ -x "$PW_HELPERS/pw-nfq-delay" ] ||
			pw_netns_skip "pw-nfq-delay not built (libnetfilter-queue-dev missing at configure time)"
	fi
}

pw_netns_add() {
	local name="pw-$$-${1:-ns}"
	ip netns add "$name" 2>"$PW_TMP/netns.err" ||
		pw_netns_skip "cannot create a network namespace: $(cat "$PW_TMP/netns.err")"
	PW_CLEANUP_HOOKS+=("pw_netns_del $name")
	ip -n "$name" link set lo up || pw_fail "$name: cannot bring lo up"
	PW_NETNS=$name
}

pw_netns_exists() {
	ip netns list | awk -v n="$1" '$1 == n { f = 1 } END { exit !f }'
}

pw_netns_del() {
	local name=$1 pids i
	pw_netns_exists "$name" || return 0
	# Only our own processes live in our namespace.
	pids=$(ip netns pids "$name" 2>/dev/null)
	if [ -n "$pids" ]; then
		kill $pids 2>/dev/null || true
		for ((i = 0; i < 40; i++)); do
			[ -z "$(ip netns pids "$name" 2>/dev/null)" ] && break
			sleep 0.05
		done
		pids=$(ip netns pids "$name" 2>/dev/null)
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	fi
	ip netns del "$name"
}

pw_netns_exec() {
	ip netns exec "$PW_NETNS" "$@"
}

pw_netns_listen() {
	local ready="$PW_TMP/listen.$RANDOM.ready"
	ip netns exec "$PW_NETNS" "$PW_HELPERS/pw-listen" -r "$ready" "$@" &
	PW_LISTEN_PID=$!
	PW_PIDS+=("$PW_LISTEN_PID")
	pw_wait_for 10 test -e "$ready" || pw_fail "listeners $* did not come up in $PW_NETNS"
}

# The input chain: a SYN dropped or rejected there has left the scanner's
# socket as it would towards a firewalled host.
pw_netns_nft() {
	if ! ip netns exec "$PW_NETNS" nft list chain inet pw input >/dev/null 2>&1; then
		ip netns exec "$PW_NETNS" nft -f - <<-NFT || pw_netns_skip "nftables does not work here"
		table inet pw {
			chain input { type filter hook input priority 0; policy accept; }
		}
		NFT
	fi
	ip netns exec "$PW_NETNS" nft add rule inet pw input "$@" ||
		pw_fail "nft rule rejected: $*"
}

pw_netns_daddr() { # [ADDR]: the nft match for a destination, or nothing
	case "${1:-}" in
	"") ;;
	*:*) printf 'ip6 daddr %s ' "$1" ;;
	*) printf 'ip daddr %s ' "$1" ;;
	esac
}

pw_netns_filter() { # PORTS [DADDR]
	pw_netns_nft "$(pw_netns_daddr "${2:-}")tcp dport $1 drop"
}

pw_netns_unreach() { # PORTS [DADDR [TYPE]]
	pw_netns_nft "$(pw_netns_daddr "${2:-}")tcp dport $1 reject with icmpx type ${3:-host-unreachable}"
}

# Only SYNs go to the queue: held SYN-ACKs or RSTs on lo are dropped by the
# kernel, and a delayed SYN already delays the whole handshake once.
pw_netns_delay() { # DELAY_MS [LOSS_PERCENT [SEED]]
	local ready="$PW_TMP/nfq.ready" ipt
	PW_NFQ_STATS="$PW_TMP/nfq.stats"
	rm -f "$ready" "$PW_NFQ_STATS"
	ip netns exec "$PW_NETNS" "$PW_HELPERS/pw-nfq-delay" -q "$PW_NFQ_QUEUE" -d "$1" \
		-l "${2:-0}" -s "${3:-1}" -r "$ready" -S "$PW_NFQ_STATS" 2>"$PW_TMP/nfq.err" &
	PW_NFQ_PID=$!
	PW_PIDS+=("$PW_NFQ_PID")
	if ! pw_wait_for 10 test -e "$ready"; then
		cat "$PW_TMP/nfq.err" >&2
		grep -q 'cannot bind queue' "$PW_TMP/nfq.err" &&
			pw_netns_skip "no NFQUEUE support (nfnetlink_queue)"
		pw_fail "pw-nfq-delay did not come up"
	fi
	for ipt in iptables ip6tables; do
		ip netns exec "$PW_NETNS" "$ipt" -A OUTPUT -p tcp --tcp-flags SYN,ACK,RST,FIN SYN \
			-j NFQUEUE --queue-num "$PW_NFQ_QUEUE" 2>"$PW_TMP/ipt.err" ||
			pw_netns_skip "$ipt NFQUEUE rule refused: $(cat "$PW_TMP/ipt.err")"
	done
}

pw_netns_delay_stop() {
	local ipt st
	for ipt in iptables ip6tables; do
		ip netns exec "$PW_NETNS" "$ipt" -F OUTPUT
	done
	kill "$PW_NFQ_PID" 2>/dev/null || true
	st=0
	wait "$PW_NFQ_PID" 2>/dev/null || st=$?
	PW_NFQ_PID=
	if [ "$st" != 0 ]; then
		cat "$PW_TMP/nfq.err" >&2
		pw_fail "pw-nfq-delay exited with status $st"
	fi
}

pw_nfq_stat() { # NAME: a counter from the stopped delayer's stats file
	awk -v k="$1" '$1 == k { print $2 }' "$PW_NFQ_STATS"
}

# pw_scan_states FILE: portwatch scan's output (see its --help), the table
# ("ADDRESS PORT STATE SERVICE" rows, "ADDR * accepts-all" rows) or --json
# ({"address": "A", "port": N, "state": "S"...} rows, "accepts_all": [A...]),
# as sorted "ADDR PORT STATE" lines for every port that is not closed, then
# "closed N". Comparable between runs and tools.
pw_scan_states() {
	awk '
	function row(a, p, st) {
		if (st == "closed") closed++
		else print a, p, st
	}
	/^ *\{"address": / {
		a = $0; sub(/.*"address": "/, "", a); sub(/".*/, "", a)
		p = $0; sub(/.*"port": /, "", p); sub(/[^0-9].*/, "", p)
		st = $0; sub(/.*"state": "/, "", st); sub(/".*/, "", st)
		row(a, p, st)
		next
	}
	/^ *"accepts_all": \[/ {
		n = split($0, w, "\"")
		for (i = 4; i <= n; i += 2) print w[i], "*", "accepts-all"
		next
	}
	($2 ~ /^[0-9]+$/ || $2 == "*") && $3 ~ /^(open|closed|filtered|unreachable|accepts-all)$/ {
		row($1, $2, $3)
	}
	END { print "closed", closed + 0 }' "$1" | sort -k1,1V -k2,2n
}

# pw_scan_summary FILE KEY: a number from the summary of portwatch scan --json
pw_scan_summary() {
	grep -o "\"$2\": [0-9]*" "$1" | tail -1 | awk '{ print $2 }'
}

# ---------------------------------------------------------------- journal
# A private systemd-journald for tests that read back what was logged. There
# is no systemd as PID 1 here, and /run is the machine's own, so everything
# happens in a private mount namespace: a tmpfs over /run (the journal
# sockets and the volatile journal live there), a journald.conf drop-in with
# Storage=volatile, and journald started by the test. Nothing outside the
# namespace sees it; the machine's /run and /var/log/journal stay untouched.
#
#   pw_journal_reexec "$@"    first line after sourcing lib.sh: re-runs the
#                             test inside `unshare -m` (skips if not root)
#   pw_journal_start          start journald; sets PW_JOURNALD_PID
#   pw_journal_export ARGS    entries matching journalctl ARGS, -o export
#   pw_journal_wait SECS ARGS wait until an entry matches ARGS
#   pw_journal_install_catalog FILE...
#                             make `journalctl -x` in the namespace use FILEs
#                             (returns 1 without /var/lib/systemd/catalog)

PW_JOURNAL_DIR=/run/log/journal

pw_journald_path() {
	local p
	for p in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
		[ -x "$p" ] && { echo "$p"; return 0; }
	done
	return 1
}

pw_journal_reexec() {
	[ -n "${PW_IN_JOURNAL_NS:-}" ] && return 0
	pw_require_root
	pw_journald_path >/dev/null || pw_skip "systemd-journald missing (Debian package systemd)"
	command -v journalctl >/dev/null || pw_skip "journalctl missing (Debian package systemd)"
	command -v unshare >/dev/null || pw_skip "unshare missing (Debian package util-linux)"
	[ -s /etc/machine-id ] || pw_skip "no /etc/machine-id: journald would not know where to write"
	# This shell's own temp dir and trap are not needed: the re-run makes its own.
	rm -rf "$PW_TMP"
	trap - EXIT
	exec unshare --mount --propagation private env PW_IN_JOURNAL_NS=1 "$BASH" "$0" "$@"
}

pw_journal_stop() {
	[ -n "${PW_JOURNALD_PID:-}" ] || return 0
	kill "$PW_JOURNALD_PID" 2>/dev/null || true
	wait "$PW_JOURNALD_PID" 2>/dev/null || true
	PW_JOURNALD_PID=
}

pw_journal_start() {
	local journald
	[ -n "${PW_IN_JOURNAL_NS:-}" ] || pw_fail "pw_journal_start outside pw_journal_reexec's namespace"
	journald=$(pw_journald_path) || pw_skip "systemd-journald missing"
	mount -t tmpfs -o mode=0755,size=64m pw-journal /run || pw_fail "cannot mount a tmpfs on /run"
	mkdir -p /run/systemd/journald.conf.d "$PW_JOURNAL_DIR"
	cat >/run/systemd/journald.conf.d/50-portwatch-test.conf <<-CONF
	[Journal]
	Storage=volatile
	ReadKMsg=no
	ForwardToSyslog=no
	ForwardToKMsg=no
	ForwardToConsole=no
	ForwardToWall=no
	RateLimitBurst=0
	CONF
	"$journald" >"$PW_TMP/journald.log" 2>&1 &
	PW_JOURNALD_PID=$!
	PW_CLEANUP_HOOKS+=(pw_journal_stop)
	if ! pw_wait_for 10 test -S /run/systemd/journal/socket; then
		cat "$PW_TMP/journald.log" >&2
		pw_fail "systemd-journald did not create its socket"
	fi
	# journald logs "Journal started" itself once it can write
	pw_journal_wait 10 _PID="$PW_JOURNALD_PID" ||
		{ cat "$PW_TMP/journald.log" >&2; pw_fail "systemd-journald is not writing"; }
}

pw_journal_export() {
	journalctl -D "$PW_JOURNAL_DIR" --no-pager -q -o export "$@"
}

pw_journal_wait() { # SECS MATCH...
	local secs=$1
	shift
	pw_wait_for "$secs" pw_journal_has "$@"
}
pw_journal_has() {
	[ -n "$(journalctl -D "$PW_JOURNAL_DIR" --no-pager -q -o cat -n 1 "$@" 2>/dev/null)" ]
}

# pw_journal_entry_field FILE FIELD: the values of FIELD in an export-format
# FILE, one line each (text fields only).
pw_journal_entry_field() {
	sed -n "s/^$2=//p" "$1"
}

pw_journal_install_catalog() { # CATALOG-FILE...
	local root="$PW_TMP/catalog-root"
	mkdir -p "$root/usr/lib/systemd/catalog" "$root/var/lib/systemd/catalog"
	cp "$@" "$root/usr/lib/systemd/catalog/"
	journalctl --root="$root" --update-catalog || pw_fail "journalctl --update-catalog rejected $*"
	[ -s "$root/var/lib/systemd/catalog/database" ] || pw_fail "no catalog database was built"
	# journalctl -x reads /var/lib/systemd/catalog/database: replace it, in
	# this namespace only (never create anything on the machine's /var).
	[ -d /var/lib/systemd/catalog ] || return 1
	mount --bind "$root/var/lib/systemd/catalog" /var/lib/systemd/catalog ||
		pw_fail "cannot bind-mount the catalog database"
}
