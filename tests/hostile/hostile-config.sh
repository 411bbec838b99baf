#!/bin/bash
# Hostile configurations: each one must make `portwatchd --check-config`
# exit 2 with a message naming the file (path or path:line) and saying what
# is wrong; never a crash, a hang (each run is bounded by `timeout`), or a
# message the size of the input. The big inputs are generated here, not
# committed. Nothing is scanned.
. "$(dirname "$0")/../integration/lib.sh"

d=$PW_TMP/etc
mkdir -p "$d/conf.d"
n_cases=0

# expect_error NAME PATTERN [FILE]: --check-config on FILE (default
# $d/main.conf) exits 2 within 30 s, stderr matches PATTERN (extended
# regex) and stays small.
expect_error() {
	local name=$1 pattern=$2 file=${3:-$d/main.conf} st=0 size
	n_cases=$((n_cases + 1))
	timeout 30 "$PORTWATCHD" --check-config --config "$file" \
		>"$PW_TMP/out" 2>"$PW_TMP/err" </dev/null || st=$?
	[ "$st" = 124 ] && pw_fail "$name: --check-config did not finish within 30 s"
	[ "$st" -ge 128 ] && { head -c 2000 "$PW_TMP/err" >&2; pw_fail "$name: killed by signal $((st - 128))"; }
	[ "$st" = 2 ] || { head -c 2000 "$PW_TMP/err" >&2; pw_fail "$name: exit status $st, want 2"; }
	grep -qE -- "$pattern" "$PW_TMP/err" ||
		{ head -c 2000 "$PW_TMP/err" >&2; pw_fail "$name: no message matching /$pattern/"; }
	size=$(stat -c %s "$PW_TMP/err")
	[ "$size" -le 65536 ] || pw_fail "$name: $size bytes of messages for one bad file"
	grep -qiE 'sanitizer|runtime error|core dumped' "$PW_TMP/err" &&
		{ head -c 2000 "$PW_TMP/err" >&2; pw_fail "$name: sanitizer report"; }
	pw_log "ok: $name: $(head -c 160 "$PW_TMP/err" | head -1)"
}

# Big inputs must also load or fail within behaviour bounds (not
# benchmarks): seconds, and max RSS in the plain build. ASan shadows memory
# and slows everything, so under it only a looser time bound holds.
if ldd "$PORTWATCHD" 2>/dev/null | grep -q libasan; then
	max_secs=20 max_kb=
else
	max_secs=2 max_kb=$((128 * 1024))
fi

# bounded NAME WANT_STATUS [FILE]: --check-config on FILE exits WANT_STATUS
# within max_secs seconds and max_kb KiB of RSS (GNU time measures both).
bounded() {
	local name=$1 want=$2 file=${3:-$d/main.conf} st=0 secs kb
	n_cases=$((n_cases + 1))
	/usr/bin/time -o "$PW_TMP/time" -f '%e %M' timeout 60 "$PORTWATCHD" --check-config \
		--config "$file" >"$PW_TMP/out" 2>"$PW_TMP/err" </dev/null || st=$?
	read -r secs kb < <(tail -n 1 "$PW_TMP/time") || pw_fail "$name: no timing: $(head -c 300 "$PW_TMP/time")"
	[ "$st" = "$want" ] || { head -c 2000 "$PW_TMP/err" >&2; pw_fail "$name: exit status $st, want $want"; }
	awk -v s="$secs" -v m="$max_secs" 'BEGIN { exit !(s < m) }' ||
		pw_fail "$name: took $secs s, the bound is $max_secs s"
	[ -z "$max_kb" ] || [ "$kb" -lt "$max_kb" ] || pw_fail "$name: max RSS $kb KiB, the bound is $max_kb KiB"
	pw_log "ok: $name: $secs s, $kb KiB: $(head -c 160 "$PW_TMP/err" | head -1)"
}
# expect_ok NAME [FILE]: FILE loads, within the bounds above.
expect_ok() { bounded "$1" 0 "${2:-}"; }

main() { printf '%s\n' "$@" >"$d/main.conf"; } # lines of the main file
job='{ name = "j"; targets = "127.0.0.1"; ports = "22"; }'
m=$d/main.conf
at="${m//./\\.}:[0-9]+: "

# -- wrong types
main 'database = 5;';                 expect_error "database as integer" "${at}\"database\" must be a string"
main 'max_rate = "fast";';            expect_error "max_rate as string" "${at}.*max_rate"
main 'jobs = "all";';                 expect_error "jobs as string" "${at}.*jobs"
main 'defaults = [ 1, 2 ];';          expect_error "defaults as array" "${at}.*defaults"
main 'jobs = ( 5 );';                 expect_error "job as integer" "${at}.*job"
main 'jobs = ( { name = 1; targets = "127.0.0.1"; ports = "22"; } );'
expect_error "job name as integer" "${at}.*name"
main 'jobs = ( { name = "j"; targets = 127; ports = "22"; } );'
expect_error "targets as integer" "${at}.*targets"
main 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = 22.5; } );'
expect_error "ports as float" "${at}.*ports"
main 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = "22"; interval = true; } );'
expect_error "interval as boolean" "${at}.*interval"
main 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = "22"; alert = { command = 7; }; } );'
expect_error "alert command as integer" "${at}.*command"

# -- huge numbers
main 'max_rate = 99999999999999999999999999;'
expect_error "integer beyond 64 bits" "${at}"
main 'max_inflight = 9223372036854775807L;'; expect_error "max_inflight 2^63-1" "${at}.*max_inflight"
main 'max_rate = -1;';                 expect_error "negative max_rate" "${at}.*max_rate"
main 'workers = 4294967297;';          expect_error "workers 2^32+1" "${at}.*workers"
main "jobs = ( { name = \"j\"; targets = \"127.0.0.1\"; ports = \"22\"; interval = \"99999999999999999999d\"; } );"
expect_error "interval overflowing" "${at}.*interval"
main "jobs = ( { name = \"j\"; targets = \"127.0.0.1\"; ports = \"22\"; interval = 18446744073709551615; } );"
expect_error "interval 2^64-1 seconds" "${at}.*interval"
main "jobs = ( { name = \"j\"; targets = \"127.0.0.1\"; ports = \"99999999999999999999\"; } );"
expect_error "port beyond 64 bits" "${at}.*port"
main "jobs = ( { name = \"j\"; targets = \"127.0.0.1/-1\"; ports = \"22\"; } );"
expect_error "negative prefix" "${at}.*target"
main "jobs = ( { name = \"j\"; targets = \"::/0\"; ports = \"all\"; } );"
expect_error "all of IPv6" "${at}.*(cap|too many|above)"
# the value's own token decides, not its text anywhere on the line; hex too
main "jobs = ( { name = \"j\"; targets = \"127.0.0.1\"; ports = [ 22, 80, 4294967376 ]; } );"
expect_error "port 2^32+80 beside 80" "${at}.*\"ports\": integer out of range \(libconfig reads it as 80\)"
main "jobs = ( { name = \"j\"; targets = \"127.0.0.1\"; ports = \"22\"; interval = 0x100000064; } );"
expect_error "interval 0x100000064" "${at}.*\"interval\": integer out of range \(libconfig reads it as 100\)"
main 'retention = "1e308s";';          expect_error "retention 1e308" "${at}.*retention"

# -- deep nesting: libconfig's parser stack, then our walk of the tree
for depth in 200 20000; do
	{ printf 'x = '; printf '(%.0s' $(seq "$depth"); printf ')%.0s' $(seq "$depth"); printf ';\n'; } >"$m"
	expect_error "lists nested $depth deep" "$m(:[0-9]+)?: "
	{ printf 'defaults = '; printf '{ a = %.0s' $(seq "$depth"); printf '1;'; printf ' }%.0s' $(seq "$depth"); printf ';\n'; } >"$m"
	expect_error "groups nested $depth deep" "$m(:[0-9]+)?: "
done

# -- 10 MB strings, and a file over the 16 MiB cap
big() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }
{ printf 'database = "'; big 10000000; printf '";\n'; } >"$m"
expect_error "10 MB database path" "${at}\"database\" is 10000000 bytes long"
{ printf 'include_dir = "'; big 10000000; printf '";\n'; } >"$m"
expect_error "10 MB include_dir" "${at}\"include_dir\" is 10000000 bytes long"
{ printf 'jobs = ( { name = "'; big 10000000; printf '"; targets = "127.0.0.1"; ports = "22"; } );\n'; } >"$m"
expect_error "10 MB job name" "${at}.*job name"
{ printf 'jobs = ( { name = "j"; targets = "'; big 10000000 1; printf '"; ports = "22"; } );\n'; } >"$m"
expect_error "10 MB target" "${at}.*target"
{ printf 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = "'; big 10000000 1; printf '"; } );\n'; } >"$m"
expect_error "10 MB port spec" "${at}.*port"
{ printf 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = "22"; alert = { command = [ "/bin/true", "'; big 10000000; printf '" ]; }; } );\n'; } >"$m"
expect_error "10 MB alert argument" "${at}.*(command|argument)"
{ printf 'unknown_'; big 10000000; printf ' = 1;\n'; } >"$m"
expect_error "10 MB key name" "${at}"
{ printf '# '; big 17000000; printf '\n'; } >"$m"
expect_error "17 MB file" "$m: cannot read file: File too large"

# -- big but valid: each must load in well under a second, not grow with
# the square of the input (line lookups once walked the file from the start)
{ printf 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = [\n'; seq -f ' %g,' 65534
  printf ' 65535 ]; } );\n'; } >"$m"
expect_ok "65535-line port list"
{ printf 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = [ '; seq -s, 1 65535 | tr -d '\n'
  printf ' ]; } );\n'; } >"$m"
expect_ok "65535 ports on one line" # each number's check scanned the whole line: 82 s

# 400k scattered addresses (parsed only, never scanned): each once moved
# and reindexed every range after it. As one comma-separated string, and
# as a list: libconfig grows a list 16 elements per realloc(), which under
# ASan (realloc always copies) alone takes 40 s, so the list form runs in
# the plain build only.
targets400k() { # SEP: 400k addresses in a scattered order
	awk -v sep="$1" 'BEGIN { for (i = 0; i < 400000; i++) { v = (i * 7919) % 400000;
		printf "127.%d.%d.%d%s", int(v / 65536) + 1, int(v / 256) % 256, v % 256, sep } }'
}
{ printf 'jobs = ( { name = "j"; ports = "22"; targets = "'; targets400k ,; printf '127.0.0.1"; } );\n'; } >"$m"
expect_ok "400k scattered targets in one string"
if [ -n "$max_kb" ]; then
	{ printf 'jobs = ( { name = "j"; ports = "22"; targets = [\n'; targets400k $'",\n "' | sed '1s/^/ "/'
	  printf '127.0.0.1" ]; } );\n'; } >"$m"
	expect_ok "400k scattered targets as a list"
fi

# 15 MiB of commas, under the file cap: 15 million empty elements once
# gave as many messages (GBs of them). PW_DIAG_MAX are kept, the rest counted.
{ printf 'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = "'; big 15000000 ,; printf '"; } );\n'; } >"$m"
bounded "15 MiB comma string" 2
grep -qE '^\.\.\. and 14999[0-9]{3} more errors$' "$PW_TMP/err" ||
	{ tail -c 300 "$PW_TMP/err" >&2; pw_fail "15 MiB comma string: no \"... and N more errors\" line"; }
[ "$(wc -l <"$PW_TMP/err")" -le 101 ] || pw_fail "15 MiB comma string: $(wc -l <"$PW_TMP/err") lines of messages"

# -- invalid UTF-8 and other bytes
main $'jobs = ( { name = "j\xff\xfe"; targets = "127.0.0.1"; ports = "22"; } );'
expect_error "invalid UTF-8 in a job name" "${at}.*job name"
main $'jobs = ( { name = "j"; targets = "127.0.0.\xc3\x28"; ports = "22"; } );'
expect_error "invalid UTF-8 in a target" "${at}.*target"
main $'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = "\xed\xa0\x80"; } );'
expect_error "UTF-16 surrogate in a port spec" "${at}.*port"
main $'\xef\xbb\xbfdatabase = "/tmp/x.db";'
expect_error "byte-order mark" "${at}.*syntax"
printf 'database = "/tmp/x.db";\0jobs = ();\n' >"$m"
expect_error "NUL byte" "$m: cannot read file: contains a NUL byte"
main $'jobs = ( { name = "j"; targets = "127.0.0.1"; ports = "22"; alert = { command = [ "/bin/echo", "a\x01\x1b[2J" ]; events = [ "opened\xff" ]; }; } );'
expect_error "control bytes and invalid UTF-8 in alert events" "${at}.*event"

# -- files that cannot be read
main 'jobs = ();'
expect_error "missing main file" "$d/missing\.conf: cannot read file: No such file" "$d/missing.conf"
expect_error "main file is a directory" "$d/conf\.d: cannot read file: is a directory" "$d/conf.d"
mkfifo "$d/fifo.conf"
expect_error "main file is a FIFO" "$d/fifo\.conf: cannot read file: not a regular file" "$d/fifo.conf"
expect_error "main file is a device" "/dev/zero: cannot read file: not a regular file" /dev/zero
mv "$d/fifo.conf" "$d/conf.d/50-fifo.conf"
expect_error "drop-in is a FIFO" "$d/conf\.d/50-fifo\.conf: cannot read file: not a regular file"
rm "$d/conf.d/50-fifo.conf"
mkdir "$d/conf.d/60-dir.conf"
expect_error "drop-in is a directory" "$d/conf\.d/60-dir\.conf: cannot read file: is a directory"
rmdir "$d/conf.d/60-dir.conf"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	# root reads anything: check as nobody, on copies it may traverse to
	u=$PW_TMP/unreadable
	mkdir -m 0755 "$u" "$u/conf.d"
	echo 'jobs = ();' >"$u/main.conf"
	chmod 0644 "$u/main.conf"
	echo "jobs = ( $job );" >"$u/conf.d/10-secret.conf"
	chmod 0600 "$u/conf.d/10-secret.conf"
	chmod 0755 "$PW_TMP"
	PORTWATCHD_REAL=$PORTWATCHD
	PORTWATCHD="$PW_TMP/as-nobody"
	printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "%s" "$@"\n' \
		"$PORTWATCHD_REAL" >"$PORTWATCHD"
	chmod 0755 "$PORTWATCHD"
	expect_error "unreadable drop-in" "$u/conf\.d/10-secret\.conf: cannot read file: Permission denied" "$u/main.conf"
	chmod 0600 "$u/main.conf"
	expect_error "unreadable main file" "$u/main\.conf: cannot read file: Permission denied" "$u/main.conf"
	chmod 0644 "$u/main.conf"
	chmod 0700 "$u/conf.d"
	echo "include_dir = \"$u/conf.d\";" >"$u/main.conf"
	expect_error "unreadable drop-in directory" "$u/conf\.d: cannot open drop-in directory: Permission denied" "$u/main.conf"
	PORTWATCHD=$PORTWATCHD_REAL
else
	pw_log "unreadable-file cases skipped: they need root and setpriv to run as nobody"
fi

# -- symlink loops
main 'jobs = ();'
ln -s 71-loop.conf "$d/conf.d/70-loop.conf"
ln -s 70-loop.conf "$d/conf.d/71-loop.conf"
expect_error "symlink loop between drop-ins" "$d/conf\.d/70-loop\.conf: cannot read file: Too many levels of symbolic links"
rm "$d/conf.d/70-loop.conf" "$d/conf.d/71-loop.conf"
ln -s self.conf "$d/conf.d/80-self.conf"; ln -sf 80-self.conf "$d/conf.d/self.conf"
ln -sfn 80-self.conf "$d/conf.d/80-self.conf"
expect_error "drop-in linking to itself" "$d/conf\.d/80-self\.conf: cannot read file: Too many levels of symbolic links"
rm -f "$d/conf.d/80-self.conf" "$d/conf.d/self.conf"
ln -s loopdir "$d/loopdir"
main "include_dir = \"$d/loopdir\";"
expect_error "include_dir a symlink loop" "$d/loopdir: cannot open drop-in directory: Too many levels of symbolic links"

# -- @include, libconfig's own directive, pointing where it should not
# (libconfig names the included file as written, not as a full path)
main '@include "main.conf"'
expect_error "@include of itself" "main\\.conf:[0-9]+: include file nesting too deep"
main '@include "/nonexistent/x.conf"'
expect_error "@include of a missing file" "${at}cannot open include file"

# what libconfig would open itself must pass the same checks
mkfifo "$d/inc.fifo"
main '@include "inc.fifo"'
expect_error "@include of a FIFO" "$m: @include \"inc\.fifo\": not a regular file"
main '@include "../../../../../../../../../../dev/zero"'
expect_error "@include of /dev/zero" "$m: @include \".*dev/zero\": not a regular file"
echo '@include "inc.fifo"' >"$d/nested.inc"
main 'jobs = ();' '@include "nested.inc"'
expect_error "@include of a file that includes a FIFO" "$m: @include \"inc\.fifo\": not a regular file"
rm "$d/inc.fifo" "$d/nested.inc"
# the name as libconfig reads it: \" and \\ are escapes, not its end
mkfifo "$d/fi\"fo" "$d/b\\s"
main '@include "fi\"fo"'
expect_error "@include of a FIFO named with an escaped quote" "$m: @include \"fi\"fo\": not a regular file"
main '@include "b\\s"'
expect_error "@include of a FIFO named with an escaped backslash" "$m: @include \"b\\\\s\": not a regular file"
rm "$d/fi\"fo" "$d/b\\s"

pw_log "$n_cases hostile configurations refused cleanly"
pw_pass
