#!/bin/bash
# portwatch scan in a private network namespace reports exactly the right
# state for every port: open and closed on 127.0.0.1, 127.x.y.z and ::1;
# filtered behind an nft drop; unreachable behind an nft reject; still
# right with 20 ms of SYN delay and 10% SYN loss (retries); and repeated
# scans of the ephemeral port range show no phantom open port (a loopback
# connect that meets itself is not an open port).
. "$(dirname "$0")/lib.sh"

PORTWATCH=${PORTWATCH:-$top_builddir/portwatch}
[ -x "$PORTWATCH" ] || pw_fail "no portwatch binary at $PORTWATCH"
pw_require_netns nfq
pw_netns_add scan

# scan NAME ARGS...: portwatch scan --all inside the namespace; the states
# it found go to $PW_TMP/NAME.got as sorted "ADDR PORT STATE" lines for
# every port that is not closed, then "closed N".
scan() {
	local name=$1 st=0
	shift
	pw_netns_exec "$PORTWATCH" scan --all "$@" >"$PW_TMP/$name.out" 2>"$PW_TMP/$name.err" || st=$?
	if [ "$st" != 0 ]; then
		cat "$PW_TMP/$name.err" >&2
		pw_fail "portwatch scan $* exited $st"
	fi
	pw_scan_states "$PW_TMP/$name.out" >"$PW_TMP/$name.got"
}

# expect NAME CLOSED: stdin has the expected non-closed "ADDR PORT STATE"
expect() {
	{ cat; echo "closed $2"; } | sort -k1,1V -k2,2n >"$PW_TMP/$1.want"
	if ! cmp -s "$PW_TMP/$1.want" "$PW_TMP/$1.got"; then
		diff "$PW_TMP/$1.want" "$PW_TMP/$1.got" | head -20 >&2
		pw_fail "$1: states differ from the expected ones (< expected, > got)"
	fi
}

# --- open and closed: 127.0.0.1, ::1 and scattered 127.x.y.z
pw_netns_listen 127.0.0.1:22 127.0.0.1:8080 127.0.0.1:40000 "[::1]:22" "[::1]:443" \
	127.1.2.3:80 127.200.0.1:8443 127.255.255.250:80
scan basic 127.0.0.1 ::1 -p 1-1024,8080,40000
expect basic $((2 * 1026 - 5)) <<EOF
127.0.0.1 22 open
127.0.0.1 8080 open
127.0.0.1 40000 open
::1 22 open
::1 443 open
EOF
scan scattered 127.1.2.0/24 127.200.0.0/30 127.255.255.248/30 -p 80,8443
expect scattered $(((256 + 4 + 4) * 2 - 3)) <<EOF
127.1.2.3 80 open
127.200.0.1 8443 open
127.255.255.250 80 open
EOF

# --- filtered (nft drop, also of a port that listens) and unreachable
# (nft reject with icmpx host-unreachable)
pw_netns_listen 127.0.0.1:5005
pw_netns_filter 5000-5009 127.0.0.1
pw_netns_filter 5000-5009 ::1
pw_netns_unreach 1-65535 127.0.0.2
scan firewall 127.0.0.1 127.0.0.2 ::1 -p 4990-5019 --timeout 200ms --retries 1
{
	for ((p = 5000; p <= 5009; p++)); do
		echo "127.0.0.1 $p filtered"
		echo "::1 $p filtered"
	done
	for ((p = 4990; p <= 5019; p++)); do
		echo "127.0.0.2 $p unreachable"
	done
} | expect firewall 40

# --- a few file descriptors only (the dropped ports keep sockets busy until
# their timeout): the scan sizes itself to the limit, asked for more or not,
# and stays exact. (The engine's unit test forces EMFILE itself.)
st=0
(
	ulimit -n 24
	exec ip netns exec "$PW_NETNS" "$PORTWATCH" scan --all --json 127.0.0.1 -p 4900-5100,22 \
		--timeout 200ms --retries 1 -c 64
) >"$PW_TMP/emfile.out" 2>"$PW_TMP/emfile.err" || st=$?
[ "$st" = 0 ] || { cat "$PW_TMP/emfile.err" >&2; pw_fail "scan with 24 fds exited $st"; }
pw_scan_states "$PW_TMP/emfile.out" >"$PW_TMP/emfile.got"
{
	echo "127.0.0.1 22 open"
	for ((p = 5000; p <= 5009; p++)); do echo "127.0.0.1 $p filtered"; done
} | expect emfile $((201 - 10))
pw_log "24 fds: exact, $(pw_scan_summary "$PW_TMP/emfile.out" scanner_errors) scanner-side errors"

# --- 20 ms delay and 10% loss on every SYN: retries still get it right.
# P(a port sees no answer) = 0.1^(retries + 1): with 400 ports and 5
# retries, a wrong "filtered" comes once in ~2500 runs.
pw_netns_delay 20 10 7
scan lossy 127.0.0.1 -p 1-400,8080 --retries 5
pw_netns_delay_stop
pw_log "delay+loss: delayer $(tr '\n' ' ' <"$PW_NFQ_STATS")"
[ "$(pw_nfq_stat dropped)" -gt 0 ] || pw_fail "the delayer dropped nothing: the loss was not tested"
expect lossy $((401 - 2)) <<EOF
127.0.0.1 22 open
127.0.0.1 8080 open
EOF

# --- the ephemeral range: a probe to a port in it can meet its own socket
# (or another probe's), which is not an open port. The whole default range
# is scanned, then a narrowed one that makes such meetings frequent.
read -r lo hi < <(pw_netns_exec sysctl -n net.ipv4.ip_local_port_range)
[ "$lo" -lt 40000 ] && [ "$hi" -gt 40000 ] || pw_fail "ephemeral range $lo-$hi does not hold 40000"
pw_netns_listen "127.0.0.1:$((lo + 1234))"
for i in 1 2 3; do
	scan ephemeral 127.0.0.1 -p "$lo-$hi"
	expect ephemeral $((hi - lo + 1 - 2)) <<-EOF
	127.0.0.1 $((lo + 1234)) open
	127.0.0.1 40000 open
	EOF
done
# With 20 ephemeral ports, about two runs in three meet themselves: 20 runs
# exercise the self-connect path all but surely (P(never) ~ 1e-10).
pw_netns_exec sysctl -q -w net.ipv4.ip_local_port_range="41000 41019"
pw_netns_listen 127.0.0.1:41005
self=0
for ((i = 1; i <= 20; i++)); do
	scan narrow 127.0.0.1 -p 41000-41019 --json
	expect narrow 19 <<<"127.0.0.1 41005 open"
	self=$((self + $(pw_scan_summary "$PW_TMP/narrow.out" self_connects)))
done
pw_log "ephemeral range of 20 ports: $self self-connects in 20 scans, none reported open"
[ "$self" -gt 0 ] || pw_fail "no self-connect in 20 scans: the case was not exercised"

pw_pass
