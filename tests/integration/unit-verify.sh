#!/bin/bash
# The installed service unit: substituted, accepted by `systemd-analyze
# verify` without a word, and hardened to a security exposure of 2.0 or
# lower (`systemd-analyze security --offline=true`). Needs no PID 1 systemd.
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || pw_skip "systemd-analyze missing (Debian package systemd)"
: "${top_builddir:?run through make check (top_builddir unset)}"

# Install just what the unit refers to into a private DESTDIR.
dest="$PW_TMP/dest"
targets=(install-sbinPROGRAMS install-binPROGRAMS install-systemdsystemunitDATA)
have_man=false
if command -v man >/dev/null; then
	targets+=(install-man)
	have_man=true
fi
make -s -C "$top_builddir" DESTDIR="$dest" "${targets[@]}" >"$PW_TMP/install.log" 2>&1 ||
	{ cat "$PW_TMP/install.log" >&2; pw_fail "make install into DESTDIR failed"; }

unit=$(find "$dest" -name portwatchd.service -type f)
[ -n "$unit" ] || pw_fail "make install did not install portwatchd.service"
pw_assert_no_grep "$unit" '@[a-z]+@' "unsubstituted @variable@ left in the installed unit"
pw_assert_grep "$unit" '^Type=notify$'
pw_assert_grep "$unit" '^ExecReload=/[^ ]*/portwatch reload --config /[^ ]*/portwatchd\.conf$'
pw_assert_grep "$unit" '^WatchdogSec=[1-9]'
pw_assert_grep "$unit" '^CapabilityBoundingSet=$' "the unit keeps capabilities"
pw_assert_grep "$unit" '^RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX$'

# ExecStart names the binary by its final path, which does not exist on this
# machine; verify the same unit with that one path moved under DESTDIR.
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ -x "$dest$exec_start" ] || pw_fail "ExecStart=$exec_start is not what make install installed"
mkdir "$PW_TMP/verify"
exec_reload=$(sed -n 's/^ExecReload=\([^ ]*\).*/\1/p' "$unit")
[ -x "$dest$exec_reload" ] || pw_fail "ExecReload=$exec_reload is not what make install installed"
sed -e "s|^ExecStart=$exec_start |ExecStart=$dest$exec_start |" \
	-e "s|^ExecReload=$exec_reload |ExecReload=$dest$exec_reload |" "$unit" >"$PW_TMP/verify/portwatchd.service"

man_opt=--man=no
if $have_man; then
	man_opt=--man=yes
	export MANPATH
	MANPATH=$(dirname "$(find "$dest" -name 'portwatchd.8*' -type f | head -n1)")/..
fi
st=0
systemd-analyze verify "$man_opt" "$PW_TMP/verify/portwatchd.service" >"$PW_TMP/verify.out" 2>&1 || st=$?
cat "$PW_TMP/verify.out" >&2
pw_assert_eq "$st" 0 "systemd-analyze verify exit status"
[ ! -s "$PW_TMP/verify.out" ] || pw_fail "systemd-analyze verify printed warnings"

systemd-analyze security --offline=true "$PW_TMP/verify/portwatchd.service" >"$PW_TMP/security.out" 2>&1 ||
	{ cat "$PW_TMP/security.out" >&2; pw_fail "systemd-analyze security failed"; }
score=$(sed -n 's/.*Overall exposure level for portwatchd\.service: \([0-9.]*\).*/\1/p' "$PW_TMP/security.out")
[ -n "$score" ] || { cat "$PW_TMP/security.out" >&2; pw_fail "no exposure score in the output"; }
pw_log "security exposure: $score (limit 2.0)"
grep '✗' "$PW_TMP/security.out" >&2 || true
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || pw_fail "exposure $score is above 2.0"

pw_pass
