#!/bin/bash
# The tree says which program a file belongs to (README, "Layout"), and
# the binaries agree: portwatch links no code of daemon/, portwatchd none
# of cli/, and lib/ calls into neither. Read off the built objects with nm,
# so a source moved into the wrong folder's library, or a lib/ module that
# starts calling a daemon function, fails here.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
b=${top_builddir:-.}
fail=0
bad() { echo "layout: $*" >&2; fail=1; }

command -v nm >/dev/null || { echo "layout: SKIP: nm missing" >&2; exit 77; }
for f in daemon/libpwdaemon.a cli/libpwcli.a lib/libportwatch.a portwatchd portwatch; do
	[ -e "$b/$f" ] || { echo "layout: $b/$f not built" >&2; exit 1; }
done

defined() { nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBR]$/ { print $3 }' | sort -u; }
undefined() { nm -g --undefined-only "$1" 2>/dev/null | awk '{ print $NF }' | sort -u; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
defined "$b/daemon/libpwdaemon.a" >"$tmp/daemon"
defined "$b/cli/libpwcli.a" >"$tmp/cli"
defined "$b/portwatchd" >"$tmp/portwatchd"
defined "$b/portwatch" >"$tmp/portwatch"

# the check can fail: each program does hold its own folder's code
[ -n "$(comm -12 "$tmp/daemon" "$tmp/portwatchd")" ] || bad "portwatchd holds no daemon/ symbol: nm read nothing?"
[ -n "$(comm -12 "$tmp/cli" "$tmp/portwatch")" ] || bad "portwatch holds no cli/ symbol: nm read nothing?"

x=$(comm -12 "$tmp/daemon" "$tmp/portwatch")
[ -z "$x" ] || bad "portwatch links daemon-only code:" $x
x=$(comm -12 "$tmp/cli" "$tmp/portwatchd")
[ -z "$x" ] || bad "portwatchd links cli-only code:" $x
undefined "$b/lib/libportwatch.a" >"$tmp/lib-needs"
x=$(sort -u "$tmp/daemon" "$tmp/cli" | comm -12 - "$tmp/lib-needs")
[ -z "$x" ] || bad "lib/ calls into daemon/ or cli/:" $x

# include/ is for shared modules: each header there belongs to a lib/ source
cd "$top" || exit 1
for h in include/*.h; do
	m=$(basename "$h" .h)
	case $m in
	scan) continue ;; # types only: the probe space and timing, no code
	esac
	[ -e "lib/$m.c" ] || compgen -G "lib/$m-*.c" >/dev/null || bad "$h has no lib/$m.c: a daemon- or cli-only header belongs beside its source"
done
for c in daemon/*.c cli/*.c; do
	m=$(basename "$c" .c)
	[ ! -e "include/$m.h" ] || bad "include/$m.h belongs to $c, which is not in lib/"
done

[ "$fail" -eq 0 ] || exit 1
echo "layout: portwatch $(wc -l <"$tmp/cli") cli symbols, no daemon ones; portwatchd $(wc -l <"$tmp/daemon") daemon symbols, no cli ones"
