#!/bin/bash
# portwatchd --check-config on the shipped example configuration and on
# broken ones: job lines with probe counts and exit 0, or every error as
# file:line and exit 2; --database overrides the configured path. Nothing
# is scanned.
. "$(dirname "$0")/lib.sh"

# the shipped main file and its drop-in, as installed side by side
mkdir -p "$PW_TMP/etc/conf.d"
cp "$top_srcdir/etc/portwatchd.conf" "$PW_TMP/etc/"
cp "$top_srcdir/etc/conf.d/10-example.conf" "$PW_TMP/etc/conf.d/"
"$PORTWATCHD" --check-config --config "$PW_TMP/etc/portwatchd.conf" \
	--database "$PW_TMP/other.db" >"$PW_TMP/out" 2>"$PW_TMP/err" ||
	{ cat "$PW_TMP/err" >&2; pw_fail "--check-config on the shipped config exited $?"; }
pw_assert_grep "$PW_TMP/out" 'job "local-common" .*: 1 address\(es\) x 8 port\(s\) = 8 probes per run, every 5m'
pw_assert_grep "$PW_TMP/out" 'job "loopback-services" .*10-example\.conf:[0-9]+.*= 10 probes per run, every 30m'
pw_assert_grep "$PW_TMP/out" "database $PW_TMP/other\.db"
# what each job may cost, and all of them (issue 14.4)
pw_assert_grep "$PW_TMP/out" '^  memory 1\.2 KiB to 1\.9 KiB, database 200 B to 1\.8 KiB per run \(all ports closed to none closed\)$'
pw_assert_grep "$PW_TMP/out" '^enabled jobs together: memory .* \(max_memory 2\.0 GiB\), database .* per round of runs \(max_database_growth 8\.0 GiB\)$'

# a /16 x all ports is under the probe cap, but above the default
# ceilings if none of its ports were closed; it runs when they are raised
cat >"$PW_TMP/wide.conf" <<CONF
jobs = ( { name = "wide"; targets = "127.0.0.0/16"; ports = "all"; } );
CONF
st=0
"$PORTWATCHD" --check-config --config "$PW_TMP/wide.conf" --database "$PW_TMP/w.db" >"$PW_TMP/out" 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for a /16 x all ports under the default ceilings"
pw_assert_grep "$PW_TMP/err" 'wide\.conf:1: job "wide": with it the jobs may need 320\.0 GiB of memory if none of their ports is closed, above max_memory = 2\.0 GiB'
pw_assert_grep "$PW_TMP/err" 'wide\.conf:1: job "wide": .* 840\.0 GiB of database growth .* above max_database_growth = 8\.0 GiB'
sed -i '1i max_memory = "400G"; max_database_growth = "1T";' "$PW_TMP/wide.conf"
"$PORTWATCHD" --check-config --config "$PW_TMP/wide.conf" --database "$PW_TMP/w.db" >"$PW_TMP/out" 2>"$PW_TMP/err" ||
	{ cat "$PW_TMP/err" >&2; pw_fail "the /16 x all ports with raised ceilings was refused"; }
pw_assert_grep "$PW_TMP/out" '= 4294901760 probes per run'
pw_assert_grep "$PW_TMP/out" '^  memory 2\.5 MiB to 320\.0 GiB, database 200 B to 840\.0 GiB per run'

# errors from the main file and a drop-in, all of them, then exit 2
cat >"$PW_TMP/etc/conf.d/20-bad.conf" <<'CONF'
jobs = (
  { name = "local-common"; targets = "127.0.0.1"; ports = "22"; },
  { name = "typo"; targets = "127.0.0.1"; ports = "22"; intervall = "5m"; }
);
CONF
cat >"$PW_TMP/bad.conf" <<CONF
include_dir = "$PW_TMP/etc/conf.d";
jobs = (
  { name = "local-common";
    targets = [ "127.0.0.0/8" ];
    ports = [ "all" ]; }
);
CONF
st=0
"$PORTWATCHD" --check-config --config "$PW_TMP/bad.conf" >"$PW_TMP/out" 2>"$PW_TMP/err" || st=$?
pw_assert_eq "$st" 2 "exit status for an invalid config"
pw_assert_grep "$PW_TMP/err" 'bad\.conf:3: job "local-common": 16777216 addresses x 65535 ports = 1099494850560 probes per run, above the cap'
pw_assert_grep "$PW_TMP/err" '20-bad\.conf:2: job "local-common": duplicate job name \(first defined at .*bad\.conf:3\)'
pw_assert_grep "$PW_TMP/err" '20-bad\.conf:3: job "typo": unknown key "intervall" \(did you mean "interval"\?\)'
pw_assert_no_grep "$PW_TMP/out" 'probes per run'

pw_pass
