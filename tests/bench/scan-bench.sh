#!/bin/bash
# scan-bench: portwatch scan against nmap -sT on the same workloads.
#
#   tests/bench/scan-bench.sh [-n RUNS] [-w WORKLOADS] [BUILDDIR]
#
# Run by hand as root (not by make check) from or with a build directory
# that has portwatch and the test helpers (make check builds them; the
# NFQUEUE delayer needs libnetfilter-queue-dev at configure time). Debian
# packages: nmap, time, iproute2, nftables, iptables.
#
# Everything runs inside a network namespace this script creates and
# removes, so the scanners see only its own listeners on lo:
#   a  127.0.0.1 ports 1-65535, 20 listeners            nmap -sT
#   b  127.0.0.0/16 x 10 ports, listeners on 6 addresses nmap -sT
#   c  127.0.0.1 ports 1-5000, 1000-1999 dropped by nft, 50 ms added to
#      every outgoing SYN by the NFQUEUE delayer        nmap -sT -T4
# Runs alternate between the two tools (who goes first alternates too);
# medians of wall and CPU time are reported with the largest peak RSS and
# how many runs found exactly the expected states. nmap runs with -n -Pn:
# no DNS, no host discovery, since portwatch does neither.
# Targets: a, b >= 1.8x faster than nmap and RSS < 16 MB; c >= 4x.
# PW_BENCH_ARGS adds options to every portwatch scan.
# Exit: 0 all targets met, 1 a target missed or a wrong result, 2 usage,
# 77 cannot run here.

set -u
runs=5
workloads=a,b,c
while getopts n:w:h opt; do
	case $opt in
	n) runs=$OPTARG ;;
	w) workloads=$OPTARG ;;
	*) sed -n '2,26s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
builddir=$(cd "${1:-.}" && pwd) || exit 2
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "scan-bench: -n wants a count" >&2; exit 2; }

PORTWATCH=${PORTWATCH:-$builddir/portwatch}
export PORTWATCHD=${PORTWATCHD:-$builddir/portwatchd}
export PW_HELPERS=${PW_HELPERS:-$builddir/tests/helpers}
. "$(dirname "$0")/../integration/lib.sh"

pw_require_netns nfq
command -v nmap >/dev/null || pw_skip "nmap not installed (apt-get install nmap)"
[ -x /usr/bin/time ] || pw_skip "/usr/bin/time not installed (apt-get install time)"
[ -x "$PW_HELPERS/pw-listen" ] || pw_skip "no test helpers in $builddir (run make check there first)"
have_portwatch=1
if [ ! -x "$PORTWATCH" ]; then
	pw_log "no $PORTWATCH: measuring nmap only"
	have_portwatch=0
fi

# ---------------------------------------------------------------- results
# Every scanner run is reduced to one normalised line per port that is not
# closed ("ADDR PORT STATE", sorted) plus a count of closed ports, so the two
# tools are compared on the same terms.

# nmap's XML output names every port, also the collapsed ones:
#   <address addr="127.0.0.1" .../>
#   <extraports state="filtered" count="1000">
#   <extrareasons reason="no-response" count="1000" proto="tcp" ports="1000-1999"/>
#   <port protocol="tcp" portid="22"><state state="open" .../>
nmap_xml_states() {
	awk '
	function attr(name,   m) {
		if (match($0, name "=\"[^\"]*\"")) return substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
		return ""
	}
	/<address / && attr("addrtype") ~ /ipv[46]/ { addr = attr("addr") }
	/<extraports / { xstate = attr("state") }
	/<extrareasons / {
		if (xstate == "closed") { closed += attr("count"); next }
		n = split(attr("ports"), r, ",")
		for (i = 1; i <= n; i++) {
			if (split(r[i], b, "-") == 1) b[2] = b[1]
			for (p = b[1] + 0; p <= b[2] + 0; p++) print addr, p, xstate
		}
	}
	/<port / {
		st = $0; sub(/.*<state state="/, "", st); sub(/".*/, "", st)
		if (st == "closed") closed++
		else print addr, attr("portid"), st
	}
	END { print "closed", closed + 0 }' "$1" | sort -k1,1V -k2,2n
}

# nmap's grepable output (enough when only open ports matter, and cheaper
# for nmap to write than XML): "Host: A ()\tPorts: 22/open/tcp//ssh///, ..."
nmap_grep_states() {
	awk -F'\t' '
	/^Host: .*Ports: / {
		split($1, h, " ")
		for (i = 2; i <= NF; i++) {
			if ($i !~ /^Ports: /) continue
			n = split(substr($i, 8), ps, ", ")
			for (j = 1; j <= n; j++) {
				split(ps[j], f, "/")
				if (f[2] == "open") print h[2], f[1], f[2]
			}
		}
	}' "$1" | sort -k1,1V -k2,2n
}

nmap_states() { # OUTFILE -> normalised lines on stdout
	if head -c 5 "$1" | grep -q '^<?xml'; then
		nmap_xml_states "$1"
	else
		nmap_grep_states "$1"
	fi
}

portwatch_states() { pw_scan_states "$1"; }

# ---------------------------------------------------------------- timing
# measure TOOL LABEL CMD...: run CMD in the namespace under /usr/bin/time,
# append "wall cpu rss_kb correct" to $PW_TMP/TOOL.LABEL.runs.
measure() {
	local tool=$1 label=$2 out="$PW_TMP/$1.$2.out" tf="$PW_TMP/$1.$2.time" ok=0
	shift 2
	pw_netns_exec /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$out" 2>"$PW_TMP/$tool.$label.err" ||
		{ pw_log "$tool failed ($*):"; tail -5 "$PW_TMP/$tool.$label.err" >&2; }
	"${tool}_states" "$out" >"$PW_TMP/$tool.$label.got"
	# without a closed count, only the open ports are compared
	if ! grep -q '^closed ' "$PW_TMP/$label.want"; then
		grep ' open$' "$PW_TMP/$tool.$label.got" >"$PW_TMP/$tool.$label.open"
		mv "$PW_TMP/$tool.$label.open" "$PW_TMP/$tool.$label.got"
	fi
	if cmp -s "$PW_TMP/$tool.$label.got" "$PW_TMP/$label.want"; then
		ok=1
	else
		pw_log "$tool run differs from the expected states:"
		diff "$PW_TMP/$label.want" "$PW_TMP/$tool.$label.got" | head -10 >&2
	fi
	awk -v ok=$ok 'NR == 1 { printf "%s %.3f %s %d\n", $1, $2 + $3, $4, ok }' "$tf" \
		>>"$PW_TMP/$tool.$label.runs"
}

median() { # COLUMN FILE
	sort -g -k"$1","$1" "$2" | awk -v c="$1" '{ v[NR] = $c }
		END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

status=0
summary=()

# report LABEL TARGET_RATIO
report() {
	local label=$1 target=$2 tool wall cpu rss ok n line ratio verdict
	declare -A w
	for tool in portwatch nmap; do
		[ -s "$PW_TMP/$tool.$label.runs" ] || continue
		wall=$(median 1 "$PW_TMP/$tool.$label.runs")
		cpu=$(median 2 "$PW_TMP/$tool.$label.runs")
		rss=$(sort -n -k3,3 "$PW_TMP/$tool.$label.runs" | tail -1 | cut -d' ' -f3)
		ok=$(awk '{ s += $4 } END { print s }' "$PW_TMP/$tool.$label.runs")
		n=$(wc -l <"$PW_TMP/$tool.$label.runs")
		w[$tool]=$wall
		line=$(printf '%s  %-9s wall %7.3f s  cpu %7.3f s  peak RSS %6.1f MB  correct %d/%d' \
			"$label" "$tool" "$wall" "$cpu" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$ok" "$n")
		echo "$line"
		summary+=("$line")
		if [ "$ok" != "$n" ]; then
			[ "$tool" = portwatch ] && status=1
		fi
		if [ "$tool" = portwatch ] && [ "$label" != c ] && [ "$rss" -ge 16384 ]; then
			summary+=("$label  portwatch peak RSS $rss KB >= 16 MB: MISSED")
			status=1
		fi
	done
	[ -n "${w[portwatch]:-}" ] && [ -n "${w[nmap]:-}" ] || return 0
	ratio=$(awk -v a="${w[nmap]}" -v b="${w[portwatch]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 999) }')
	if awk -v r="$ratio" -v t="$target" 'BEGIN { exit !(r >= t) }'; then
		verdict=met
	else
		verdict=MISSED
		status=1
	fi
	line="$label  portwatch is ${ratio}x faster than nmap (target ${target}x): $verdict"
	echo "$line"
	summary+=("$line")
}

# run_workload LABEL TARGET_RATIO "PORTWATCH ARGS" "NMAP ARGS": each tool
# prints every state when the expected states count closed ports, else
# only open ports (what both do by default)
run_workload() {
	local label=$1 target=$2 pwargs=$3 nmargs=$4 i
	if grep -q '^closed ' "$PW_TMP/$label.want"; then
		pwargs+=" --all"
		nmargs+=" -oX -"
	else
		nmargs+=" -oG -"
	fi
	for ((i = 1; i <= runs; i++)); do
		if ((i % 2)) && ((have_portwatch)); then
			# shellcheck disable=SC2086
			measure portwatch "$label" "$PORTWATCH" scan $pwargs ${PW_BENCH_ARGS:-}
		fi
		# shellcheck disable=SC2086
		measure nmap "$label" nmap -n -Pn -sT $nmargs
		if ! ((i % 2)) && ((have_portwatch)); then
			# shellcheck disable=SC2086
			measure portwatch "$label" "$PORTWATCH" scan $pwargs ${PW_BENCH_ARGS:-}
		fi
	done
	report "$label" "$target"
}

# want LABEL [CLOSED]: expected "ADDR PORT STATE" lines on stdin, and with
# CLOSED, the number of closed ports (then every state is checked)
want() {
	local label=$1
	{ cat; [ $# -lt 2 ] || echo "closed $2"; } | sort -k1,1V -k2,2n >"$PW_TMP/$label.want"
}

new_namespace() {
	[ -z "$PW_NETNS" ] || pw_netns_del "$PW_NETNS"
	pw_netns_add "bench-$1"
}

# ---------------------------------------------------------------- (a)
if [[ $workloads == *a* ]]; then
	new_namespace a
	ports_a="7 22 80 443 1000 2222 3306 5432 6379 8080 9000 11211 20000 27017 30000 32768 40000 50000 60000 65535"
	pw_netns_listen $(for p in $ports_a; do echo "127.0.0.1:$p"; done)
	for p in $ports_a; do echo "127.0.0.1 $p open"; done | want a
	run_workload a 1.8 "127.0.0.1 -p 1-65535" "-p 1-65535 127.0.0.1"
fi

# ---------------------------------------------------------------- (b)
if [[ $workloads == *b* ]]; then
	new_namespace b
	ports_b=22,80,443,3306,5432,6379,8080,8443,9000,27017
	listeners_b="127.0.0.1:22 127.0.3.7:80 127.0.77.77:5432 127.0.128.1:22 127.0.200.9:443 127.0.255.254:8080"
	# shellcheck disable=SC2086
	pw_netns_listen $listeners_b
	for l in $listeners_b; do echo "${l%:*} ${l##*:} open"; done | want b
	run_workload b 1.8 "127.0.0.0/16 -p $ports_b" "-p $ports_b 127.0.0.0/16"
fi

# ---------------------------------------------------------------- (c)
if [[ $workloads == *c* ]]; then
	new_namespace c
	# 1500 listens but is dropped: it must come out filtered, not open
	pw_netns_listen 127.0.0.1:22 127.0.0.1:80 127.0.0.1:443 127.0.0.1:1500 \
		127.0.0.1:3000 127.0.0.1:4999
	pw_netns_filter 1000-1999 127.0.0.1
	pw_netns_delay 50
	{
		for p in 22 80 443 3000 4999; do echo "127.0.0.1 $p open"; done
		for ((p = 1000; p <= 1999; p++)); do echo "127.0.0.1 $p filtered"; done
	} | want c $((5000 - 1000 - 5))
	run_workload c 4 "127.0.0.1 -p 1-5000" "-T4 -p 1-5000 127.0.0.1"
	pw_netns_delay_stop
	pw_log "delayer: $(tr '\n' ' ' <"$PW_NFQ_STATS")"
fi

echo
echo "summary ($runs runs each, $(nproc) CPUs, $(uname -r)):"
printf '  %s\n' "${summary[@]}"
exit $status
