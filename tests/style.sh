#!/bin/bash
# The C sources follow the repository's .clang-format (STYLE: "a
# .clang-format that the code actually follows"): clang-format would change
# nothing. Formatting differs between clang-format releases, so this runs
# with Debian 12's (14), which ./bootstrap.sh installs.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! command -v clang-format >/dev/null; then
	[ "${PW_TEST_STRICT:-0}" = 1 ] && { echo "style: PW_TEST_STRICT=1 but clang-format is missing" >&2; exit 1; }
	echo "style: SKIP: clang-format not installed" >&2
	exit 77
fi
cd "$top" || exit 1
bad=0
for f in lib/*.c lib/*.h daemon/*.c daemon/*.h cli/*.c cli/*.h include/*.h tests/*.c tests/*.h tests/helpers/*.c tests/helpers/*.h tests/fuzz/*.c; do
	[ -e "$f" ] || continue
	if ! clang-format --style=file --dry-run --Werror "$f" 2>"${TMPDIR:-/tmp}/style.$$"; then
		head -n 20 "${TMPDIR:-/tmp}/style.$$" >&2
		bad=$((bad + 1))
	fi
done
rm -f "${TMPDIR:-/tmp}/style.$$"
[ "$bad" -eq 0 ] || { echo "style: $bad file(s) differ from .clang-format: run clang-format -i on them" >&2; exit 1; }
echo "style: every C file follows .clang-format ($(clang-format --version | head -n 1))"
