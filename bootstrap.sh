#!/bin/bash
# The quick start behind README.md, for a fresh Debian 12 machine, as root:
#
#   ./bootstrap.sh run    install what is missing, build, run portwatchd in
#                         the foreground on etc/portwatchd.conf (database
#                         under ./var/); Ctrl-C stops it cleanly
#   ./bootstrap.sh test   install what is missing, build, run every test:
#                         make check, then again under ASan+UBSan
#
# Builds go to ./build and ./build-asan; nothing is installed system-wide
# except Debian packages.
set -euo pipefail
cd "$(dirname "$0")"
top=$PWD

# Build and run-time needs, then what the tests need (network namespaces,
# nftables, NFQUEUE, clang for libFuzzer, journald, sqlite3 CLI).
build_pkgs=(build-essential autoconf automake pkg-config libconfig-dev libsqlite3-dev
	libsystemd-dev check netbase)
test_pkgs=(sqlite3 iproute2 nftables iptables libnetfilter-queue-dev clang valgrind
	systemd systemd-container debootstrap util-linux procps psmisc time clang-format)

say() { printf '==> %s\n' "$*" >&2; }

install_missing() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "missing Debian packages: ${missing[*]} (run as root, or install them)"
		exit 1
	fi
	say "installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# What configure saw: the installed versions of every package it may look
# for. `run` configures before the test packages are there; `test` then
# finds them changed and configures again, so the optional parts (the
# NFQUEUE helper, the fuzzers) get built.
packages_seen() {
	# dpkg-query fails for a package that was never installed: that is an
	# answer here, not an error (set -e, pipefail)
	{ dpkg-query -W -f='${Package}=${Version} ${Status}\n' "${build_pkgs[@]}" "${test_pkgs[@]}" \
		2>/dev/null || true; } | sort
}

configure_build() { # DIR CONFIGURE-ARGS...
	local dir=$1 seen
	shift
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	mkdir -p "$dir"
	seen=$(packages_seen)
	if [ ! -f "$dir/Makefile" ] || [ "$seen" != "$(cat "$dir/packages.seen" 2>/dev/null)" ]; then
		[ -f "$dir/Makefile" ] && say "packages changed since $dir was configured: configuring again"
		(cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out) ||
			{ cat "$dir/configure.out" "$dir/config.log" >&2; exit 1; }
		printf '%s\n' "$seen" >"$dir/packages.seen"
	fi
	make -C "$dir" -j"$(nproc)" >/dev/null
}

# make check in DIR; prints the failing logs and records the counts.
total_pass=0 total_fail=0 total_skip=0 failed_logs=()
run_checks() { # DIR LABEL
	local dir=$1 label=$2 st=0 n
	say "make check ($label)"
	make -C "$dir" -j"$(nproc)" check >"$dir/check.out" 2>&1 || st=$?
	grep -E '^(PASS|FAIL|SKIP|ERROR|XPASS|XFAIL):' "$dir/check.out" || true
	grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$dir/check.out" || true
	# On stdout too, and last: a CI that keeps only the tail of stdout
	# still shows why a test failed.
	for n in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find "$dir/tests" -name '*.trs') 2>/dev/null); do
		say "--- ${n%.trs}.log ($label)"
		tail -n 60 "${n%.trs}.log"
		failed_logs+=("${n%.trs}.log ($label)")
	done
	n=$(sed -n 's/^# PASS: *//p' "$dir/check.out"); total_pass=$((total_pass + ${n:-0}))
	n=$(sed -n 's/^# SKIP: *//p' "$dir/check.out"); total_skip=$((total_skip + ${n:-0}))
	n=$(sed -n 's/^# FAIL: *//p' "$dir/check.out"); total_fail=$((total_fail + ${n:-0}))
	n=$(sed -n 's/^# ERROR: *//p' "$dir/check.out"); total_fail=$((total_fail + ${n:-0}))
	if [ "$st" -ne 0 ] && [ -z "$(grep '^# TOTAL' "$dir/check.out")" ]; then
		tail -n 40 "$dir/check.out" >&2
		total_fail=$((total_fail + 1))
	fi
}

case "${1:-}" in
run)
	install_missing "${build_pkgs[@]}"
	configure_build build
	mkdir -p var
	say "starting portwatchd (Ctrl-C stops it)"
	exec build/portwatchd --foreground --config etc/portwatchd.conf --database var/portwatch.db \
		--control-socket var/portwatchd.sock
	;;
test)
	install_missing "${build_pkgs[@]}" "${test_pkgs[@]}"
	# As root every test can run, so a skip means something is missing: fail.
	[ "$(id -u)" -eq 0 ] && export PW_TEST_STRICT=1
	configure_build build
	run_checks build "plain build"
	configure_build build-asan --enable-sanitizers
	run_checks build-asan "ASan+UBSan build"
	[ ${#failed_logs[@]} -eq 0 ] || printf 'failed: %s\n' "${failed_logs[@]}"
	echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
	[ "$total_fail" -eq 0 ]
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
