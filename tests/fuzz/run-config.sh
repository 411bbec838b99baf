#!/bin/bash
# make check: the config fuzz target for a bounded time (see run-fuzz.sh).
exec "$BASH" "$(dirname "$0")/run-fuzz.sh" config
