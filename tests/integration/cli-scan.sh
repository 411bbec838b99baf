#!/bin/bash
# portwatch scan's contract with scripts: exit codes (0 ok, 1 failure or
# interrupted, 2 usage, 3 open port with --fail-open), the text table and
# its summary line, the JSON document, --all. Scans run in a private netns.
. "$top_srcdir/tests/integration/lib.sh"

PORTWATCH=${PORTWATCH:-$top_builddir/portwatch}
[ -x "$PORTWATCH" ] || pw_fail "no portwatch binary at $PORTWATCH"

expect_exit() { # WANT CMD...: run CMD, check its exit status
	local want=$1 st=0
	shift
	"$@" >"$PW_TMP/out" 2>"$PW_TMP/err" || st=$?
	[ "$st" = "$want" ] || { cat "$PW_TMP/err" >&2; pw_fail "$* exited $st, want $want"; }
}

# ---------------------------------------------------------------- usage
expect_exit 0 "$PORTWATCH" --help
pw_assert_grep "$PW_TMP/out" '^  scan ' "--help lists the scan verb"
expect_exit 0 "$PORTWATCH" --version
pw_assert_grep "$PW_TMP/out" '^portwatch [0-9]' "--version"
expect_exit 2 "$PORTWATCH"
expect_exit 2 "$PORTWATCH" scna 127.0.0.1
pw_assert_grep "$PW_TMP/err" 'did you mean "scan"' "typo suggestion"
expect_exit 2 "$PORTWATCH" --frobnicate
expect_exit 0 "$PORTWATCH" scan --help
pw_assert_grep "$PW_TMP/out" '^Usage: portwatch scan' "scan --help"
expect_exit 2 "$PORTWATCH" scan
expect_exit 2 "$PORTWATCH" scan 127.0.0.1 -p 0
pw_assert_grep "$PW_TMP/err" 'invalid port spec "0"' "port 0 refused by name"
expect_exit 2 "$PORTWATCH" scan 127.0.0.1 -p 80 --rate nope
expect_exit 2 "$PORTWATCH" scan 127.0.0.300 -p 80
expect_exit 2 "$PORTWATCH" scan 127.0.0.1 -p 80 --shard 3/2
expect_exit 2 "$PORTWATCH" scan 127.0.0.1 -p 80 --retries 3 --max-retries 2
pw_assert_grep "$PW_TMP/err" "max-retries 2 is below --retries 3" "max-retries below retries"
expect_exit 2 "$PORTWATCH" scan 127.0.0.1 -p 80 --max-retries 101

# ---------------------------------------------------------------- scans
pw_require_netns
pw_netns_add cli
pw_netns_listen 127.0.0.1:22 127.0.0.1:8080 127.0.0.2:443 '[::1]:22'
scan() { expect_exit "$1" pw_netns_exec "$PORTWATCH" scan "${@:2}"; }

scan 0 127.0.0.1-2,::1 -p 1-1024,8080
pw_assert_grep "$PW_TMP/out" '^ADDRESS +PORT +STATE +SERVICE$' "header line"
[ "$(grep -cE '^[0-9a-f:.]+ +[0-9]+ +open' "$PW_TMP/out")" = 4 ] ||
	{ cat "$PW_TMP/out" >&2; pw_fail "want exactly 4 open lines"; }
pw_assert_grep "$PW_TMP/out" '^127\.0\.0\.1 +22 +open +ssh$' "open line with service name"
pw_assert_grep "$PW_TMP/out" '^127\.0\.0\.2 +443 +open' "second address"
pw_assert_grep "$PW_TMP/out" '^::1 +22 +open' "IPv6 in the same run"
pw_assert_grep "$PW_TMP/out" '^Scanned 3 addresses x 1025 ports in [0-9.]+ s: 4 open, 3071 closed, 0 filtered, 0 unreachable, 0\.0% of attempts lost$' \
	"summary line"
pw_assert_no_grep "$PW_TMP/out" 'closed +[a-z]' "closed ports listed without --all"
[ ! -s "$PW_TMP/err" ] || { cat "$PW_TMP/err" >&2; pw_fail "stderr not empty (no progress unless a terminal)"; }

scan 3 127.0.0.1 -p 8080 --fail-open
scan 0 127.0.0.1 -p 8081 --fail-open

scan 0 127.0.0.1 -p 20-25 --all
[ "$(grep -cE '^127\.0\.0\.1 +2[0-5] ' "$PW_TMP/out")" = 6 ] || pw_fail "--all lists all 6 ports"
pw_assert_grep "$PW_TMP/out" '^127\.0\.0\.1 +21 +closed +ftp$' "--all shows closed ports"
# sorted by port
grep -E '^127' "$PW_TMP/out" | awk '{ print $2 }' | sort -n -c || pw_fail "--all output not sorted"

# --all keeps 4 bits per probe: more than 2^24 probes is refused before
# any probe is sent (2^26 here), instead of asking for gigabytes
scan 2 127.0.0.0/16 -p 1-1024 --all
pw_assert_grep "$PW_TMP/err" 'portwatch scan: --all lists at most 16777216 probes, this scan makes 67108864: narrow it or drop --all'
scan 0 127.0.0.1,::1 -p 20-25 --all --json
jq -e '.summary.complete == true and .summary.open == 2 and .summary.closed == 10
	and (.ports | length) == 12 and .accepts_all == []
	and ([.ports[] | select(.state == "open")] | length) == 2
	and ([.ports[] | select(.address == "127.0.0.1" and .port == 22)][0]
	     | .service == "ssh" and .rtt_usec >= 0)' "$PW_TMP/out" >/dev/null ||
	{ cat "$PW_TMP/out" >&2; pw_fail "JSON document"; }
# a loss-free link: nothing lost, no extra attempt
jq -e '.summary.loss_pct == 0 and .summary.loss_attempts == 0' "$PW_TMP/out" >/dev/null ||
	{ cat "$PW_TMP/out" >&2; pw_fail "JSON loss"; }

# 127.0.0.9 accepts on every port (all redirected to the listener on
# 127.0.0.1:8080): one accepts-all line, none of its ports, exit 3
pw_netns_exec nft -f - <<'EOF' || pw_fail "nft nat rule"
table ip pwcli {
 chain out { type nat hook output priority -100;
  ip daddr 127.0.0.9 tcp dport 1-65535 redirect to :8080
 }
}
EOF
scan 3 127.0.0.1,127.0.0.9 -p 1-2000 --fail-open
pw_assert_grep "$PW_TMP/out" '^127\.0\.0\.9 +\* +accepts-all' "accepts-all line"
pw_assert_no_grep "$PW_TMP/out" '^127\.0\.0\.9 +[0-9]' "ports of the wildcard address listed"
pw_assert_grep "$PW_TMP/out" ': 1 open, 1999 closed, .*, 1 address accepting everything$' "summary"
scan 0 127.0.0.9 -p 1-50 --no-guard --json
jq -e '.summary.open == 50 and .accepts_all == []' "$PW_TMP/out" >/dev/null || pw_fail "--no-guard"

# SIGTERM mid-scan: results so far, "Interrupted", exit 1. (Not SIGINT:
# a non-interactive shell starts background commands with SIGINT ignored.)
pw_netns_filter 1-100 127.0.0.1
ip netns exec "$PW_NETNS" "$PORTWATCH" scan 127.0.0.1 -p 1-200 --timeout 5s --min-timeout 5s \
	--max-timeout 10s >"$PW_TMP/int.out" 2>&1 &
pid=$!
# mid-scan: once its first SYNs wait on the dropped ports
syn_sent() { [ -n "$(pw_netns_exec ss -Htn state syn-sent)" ]; }
pw_wait_for 10 syn_sent || pw_fail "the scan to interrupt never started"
kill -TERM "$pid"
st=0
wait "$pid" || st=$?
[ "$st" = 1 ] || pw_fail "interrupted scan exited $st, want 1"
pw_assert_grep "$PW_TMP/int.out" '^Interrupted after 1 address x 200 ports' "interrupted summary"
pw_pass
