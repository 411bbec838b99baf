#!/bin/bash
# Run one libFuzzer target for a bounded time:
#     run-fuzz.sh TARGET      (specs, config or cli)
# First every saved regression input of the target (tests/fuzz/regress/TARGET/,
# each a crash or leak found once) must pass, then the fuzzer runs for
# PW_FUZZ_SECONDS (default 30) from the seeds in tests/fuzz/corpus/TARGET/.
# make check runs it through run-specs.sh, run-config.sh and run-cli.sh;
# `make fuzz FUZZ_SECONDS=600` runs each target longer. Skips (77) when
# clang was not found at configure time, so the target was not built.
set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

target=${1:?usage: run-fuzz.sh TARGET}
fuzzer="$top_builddir/tests/fuzz/fuzz-$target"
[ -x "$fuzzer" ] || { echo "run-fuzz: SKIP: $fuzzer not built (no clang)" >&2; exit 77; }

# Inputs longer than this teach nothing new, and keep runs fast.
case $target in
specs) max_len=512 extra=() ;;
config) max_len=16384 extra=() ;;
# the CLI prints on every input: libFuzzer closes the target's stdout and
# stderr, its own reports still get through
cli) max_len=1024 extra=(-close_fd_mask=3) ;;
*) echo "run-fuzz: unknown target $target" >&2; exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/pw-fuzz-$target.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# the targets' own scratch files too: libFuzzer may end without atexit()
export TMPDIR=$work

# Leak detection stays on: a leak is a failure like a crash. lsan.supp
# names the leaks of libraries we cannot fix (and why).
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$top_srcdir/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

regress=("$top_srcdir/tests/fuzz/regress/$target"/*)
if [ -e "${regress[0]}" ]; then
	echo "run-fuzz: $target: ${#regress[@]} regression input(s)" >&2
	(cd "$work" && "$fuzzer" -timeout=10 -rss_limit_mb=2048 "${extra[@]}" "${regress[@]}") ||
		{ echo "run-fuzz: $target: a regression input fails again" >&2; exit 1; }
fi

# New inputs go to the scratch corpus; the shipped seeds are read only. A
# failing input is kept in the build tree (crash-*, leak-*, timeout-*) to
# reproduce with `tests/fuzz/fuzz-TARGET FILE`; copy it to
# tests/fuzz/regress/TARGET/ once fixed.
cd "$work" && "$fuzzer" -max_total_time="${PW_FUZZ_SECONDS:-30}" -timeout=10 \
	-rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 "${extra[@]}" \
	-artifact_prefix="$top_builddir/tests/fuzz/$target-" \
	"$work/corpus" "$top_srcdir/tests/fuzz/corpus/$target"
