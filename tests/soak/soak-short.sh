#!/bin/bash
# make check: the soak test for 60 s (see soak.sh; `make soak` runs 600 s).
SOAK_SECONDS=${SOAK_SECONDS:-60} exec "$BASH" "$(dirname "$0")/soak.sh"
