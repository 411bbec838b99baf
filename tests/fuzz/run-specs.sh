#!/bin/bash
# make check: the specs fuzz target for a bounded time (see run-fuzz.sh).
exec "$BASH" "$(dirname "$0")/run-fuzz.sh" specs
