#!/bin/bash
# STYLE.md: a file has one job and a function fits on a screen. Every C
# source of lib/, daemon/ and cli/ stays under MAX_FILE lines and every
# function body under MAX_FN lines (kernel style: a function's braces stand
# alone in column 0). An exception is listed below with the reason; none
# is needed today.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
MAX_FILE=900
MAX_FN=60
exceptions=( # FILE or FILE:FUNCTION, and why
)

excepted() {
	local e
	for e in "${exceptions[@]}"; do [ "$e" = "$1" ] && return 0; done
	return 1
}

bad=0
for f in lib/*.c daemon/*.c cli/*.c; do
	n=$(wc -l <"$f")
	if [ "$n" -gt "$MAX_FILE" ] && ! excepted "$f"; then
		echo "sizes: $f has $n lines (at most $MAX_FILE): split it on its seams" >&2
		bad=1
	fi
	# the name is on the line before "{" or on the first line of a
	# multi-line signature; the body runs from "{" to "}" in column 0
	while read -r name len; do
		excepted "$f:$name" && continue
		echo "sizes: $f: $name() is $len lines (at most $MAX_FN)" >&2
		bad=1
	done < <(awk -v max="$MAX_FN" '
		/^[a-zA-Z].*\(/ { sig = $0 }
		/^\{$/ { start = NR; name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name) }
		/^\}/ && start { if (NR - start + 1 > max) print name, NR - start + 1; start = 0 }
	' "$f")
done
[ "$bad" -eq 0 ] || exit 1
echo "sizes: every file under $MAX_FILE lines, every function under $MAX_FN"
