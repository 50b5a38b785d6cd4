#!/usr/bin/env bash
# e. Portkey's gateway, next to Switchyard.
# One scenario of bench/proxy.sh, with the references it is compared to in
# the same run; arguments go to bench/proxy.sh (--repeat, --duration, --rate,
# --upstream ...).
exec "$(dirname "$0")/../proxy.sh" --only sim,sy-passthrough,portkey "$@"
