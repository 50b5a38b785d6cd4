#!/usr/bin/env bash
# b. nginx proxy_pass with upstream keep-alive.
# One scenario of bench/proxy.sh, with the references it is compared to in
# the same run; arguments go to bench/proxy.sh (--repeat, --duration, --rate,
# --upstream ...).
exec "$(dirname "$0")/../proxy.sh" --only sim,nginx-proxy "$@"
