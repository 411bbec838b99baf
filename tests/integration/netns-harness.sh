#!/bin/bash
# The network-namespace harness does what the scan tests rely on: a fresh
# namespace has only lo; its listeners are reachable inside and not from
# the host; nft drop means no answer, nft reject means EHOSTUNREACH; the
# NFQUEUE delayer adds its delay to a SYN and drops the configured share;
# cleanup removes the namespace and its processes, also when a test fails.
. "$(dirname "$0")/lib.sh"

pw_require_netns nfq
pw_netns_add main
ns=$PW_NETNS

# try ADDR:PORT STATE [MIN_MS MAX_MS [TIMEOUT_MS]]: one connect from inside
try() {
	local out state ms
	out=$(pw_netns_exec "$PW_HELPERS/pw-connect" -t "${5:-1000}" "$1") ||
		pw_fail "pw-connect $1 failed: $out"
	read -r state _ ms <<<"$out"
	[ "$state" = "$2" ] || pw_fail "connect $1: got '$out', want $2"
	if [ $# -ge 4 ] && ! awk -v v="$ms" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v >= lo && v < hi) }'; then
		pw_fail "connect $1: $out took ${ms} ms, want [$3, $4)"
	fi
}

# --- a fresh namespace: lo only, up, with 127.0.0.1/8 and ::1
links=$(ip -n "$ns" -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
pw_assert_eq "$links" "lo " "interfaces in a new namespace"
ip -n "$ns" link show lo | grep -q 'LOWER_UP' || pw_fail "lo is not up in $ns"
addrs=$(ip -n "$ns" -o addr show | awk '{ print $4 }' | sort | tr '\n' ' ')
pw_assert_eq "$addrs" "127.0.0.1/8 ::1/128 " "addresses in a new namespace"
[ -z "$(pw_netns_exec ss -Htan)" ] || pw_fail "sockets in a new namespace"

# --- listeners: reachable inside on any 127.x.y.z and ::1, not from the host
port=
for p in $(seq 47001 47200); do
	if [ -z "$(ss -Htln "sport = :$p")" ]; then
		port=$p
		break
	fi
done
[ -n "$port" ] || pw_fail "no free port in 47001-47200 on the host"
pw_netns_listen "127.0.0.1:$port" "[::1]:$port" "127.3.4.5:$port"
try "127.0.0.1:$port" open
try "[::1]:$port" open
try "127.3.4.5:$port" open
try "127.3.4.6:$port" closed
try "127.0.0.1:$((port + 1))" closed
# one connect to the host's own loopback: the listener is not there
out=$("$PW_HELPERS/pw-connect" -t 1000 "127.0.0.1:$port")
[ "${out%% *}" = closed ] || pw_fail "host connect to 127.0.0.1:$port: got '$out', want closed"

# --- nft drop: no answer at all until the timeout (the upper bound only
# allows for a loaded machine), other targets untouched
pw_netns_filter "$port" 127.3.4.5
pw_netns_filter 20000-20009
try "127.3.4.5:$port" filtered 300 1000 300
try "127.0.0.1:20005" filtered 300 1000 300
try "[::1]:20009" filtered 300 1000 300
try "127.0.0.1:$port" open
try "127.0.0.1:20010" closed

# --- nft reject: an immediate EHOSTUNREACH (both ICMP types we use)
pw_netns_unreach 21000
pw_netns_unreach 21001 127.0.0.1 admin-prohibited
pw_netns_unreach "{ $port }" 127.9.0.0/16
try "127.0.0.1:21000" unreachable 0 100
try "127.0.0.1:21001" unreachable 0 100
try "127.9.8.7:$port" unreachable 0 100
pw_netns_exec "$PW_HELPERS/pw-connect" -t 300 "127.0.0.1:21000" | grep -q ' EHOSTUNREACH ' ||
	pw_fail "reject host-unreachable did not give EHOSTUNREACH"

# --- delay: every SYN waits 40 ms, the RST and SYN-ACK do not
pw_netns_delay 40
try "127.0.0.1:$port" open 40 120
try "[::1]:$port" open 40 120
try "127.3.4.6:$port" closed 40 120
pw_netns_exec "$PW_HELPERS/pw-connect" -t 1000 -c 4 "127.0.0.1:$port" >"$PW_TMP/delayed"
[ "$(grep -c '^open ' "$PW_TMP/delayed")" = 4 ] || pw_fail "delayed connects: $(cat "$PW_TMP/delayed")"
pw_netns_delay_stop
pw_assert_eq "$(pw_nfq_stat seen)" 7 "SYNs the delayer saw"
pw_assert_eq "$(pw_nfq_stat delayed)" 7 "SYNs the delayer delayed"
pw_assert_eq "$(pw_nfq_stat dropped)" 0 "SYNs dropped without loss"
pw_assert_eq "$(pw_nfq_stat verdict_errors)" 0 "verdict errors"
try "127.0.0.1:$port" open 0 30

# --- loss: 10% of SYNs dropped, reproducibly per seed; with a 150 ms
# timeout there is no retransmission (first RTO is 1 s), so each dropped
# SYN is exactly one filtered connect.
pw_netns_delay 0 10 42
pw_netns_exec "$PW_HELPERS/pw-connect" -t 150 -c 200 "127.0.0.1:$port" >"$PW_TMP/lossy"
pw_netns_delay_stop
lost=$(grep -c '^filtered ' "$PW_TMP/lossy")
ok=$(grep -c '^open ' "$PW_TMP/lossy")
pw_assert_eq "$((lost + ok))" 200 "lossy connects that were open or filtered"
pw_assert_eq "$(pw_nfq_stat seen)" 200 "SYNs seen with loss"
pw_assert_eq "$(pw_nfq_stat dropped)" "$lost" "SYNs dropped vs filtered connects"
if [ "$lost" -lt 8 ] || [ "$lost" -gt 35 ]; then
	pw_fail "10% loss dropped $lost of 200"
fi
first=$lost
pw_netns_delay 0 10 42
pw_netns_exec "$PW_HELPERS/pw-connect" -t 150 -c 200 "127.0.0.1:$port" >"$PW_TMP/lossy2"
pw_netns_delay_stop
[ "$(cut -d' ' -f1 "$PW_TMP/lossy")" = "$(cut -d' ' -f1 "$PW_TMP/lossy2")" ] ||
	pw_fail "the same seed dropped different SYNs"
pw_log "loss 10%: $first of 200 SYNs dropped, same ones again with the same seed"

# --- cleanup: deleting a namespace stops its processes
pw_netns_add second
second=$PW_NETNS
pw_netns_listen "127.0.0.1:$port"
lpid=$PW_LISTEN_PID
pw_netns_del "$second"
! pw_netns_exists "$second" || pw_fail "$second still exists"
pw_wait_for 5 eval '! kill -0 '"$lpid"' 2>/dev/null' || pw_fail "listener in $second survived"
PW_NETNS=$ns

# ... and a failing test leaves nothing behind either
cat >"$PW_TMP/failing.sh" <<SH
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
pw_netns_add doomed
pw_netns_listen 127.0.0.1:80
pw_netns_filter 1-1000
pw_netns_delay 10
pw_netns_exec sleep 600 &
echo "\$PW_NETNS \$PW_LISTEN_PID \$PW_NFQ_PID \$!" >"$PW_TMP/doomed"
pw_fail "on purpose"
SH
st=0
bash "$PW_TMP/failing.sh" 2>"$PW_TMP/failing.log" || st=$?
pw_assert_eq "$st" 1 "exit status of a failing test"
read -r doomed pids <"$PW_TMP/doomed"
! pw_netns_exists "$doomed" || pw_fail "a failing test left $doomed behind"
for pid in $pids; do
	! kill -0 "$pid" 2>/dev/null || pw_fail "a failing test left process $pid running"
done

pw_pass
