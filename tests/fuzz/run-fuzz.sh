#!/bin/bash
# Run the libFuzzer target for the target/port spec parsers for a bounded
# time (PW_FUZZ_SECONDS, default 30). Skips when clang was not found at
# configure time, so the target was not built.
set -u
: "${top_builddir:?run through make check}"
: "${top_srcdir:?run through make check}"

fuzzer="$top_builddir/tests/fuzz/fuzz-specs"
[ -x "$fuzzer" ] || { echo "run-fuzz: SKIP: $fuzzer not built (no clang)" >&2; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"

# New inputs go to the scratch corpus; the shipped seeds are read only.
# Leak detection stays on: a leak is a failure like a crash. A failing
# input is kept in the build tree (crash-*, leak-*) to reproduce with
#     tests/fuzz/fuzz-specs FILE
cd "$work" && "$fuzzer" -max_total_time="${PW_FUZZ_SECONDS:-30}" -timeout=5 \
	-rss_limit_mb=1024 -max_len=512 -print_final_stats=1 \
	-artifact_prefix="$top_builddir/tests/fuzz/" \
	"$work/corpus" "$top_srcdir/tests/fuzz/corpus"
