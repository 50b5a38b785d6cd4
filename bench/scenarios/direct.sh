#!/usr/bin/env bash
# a. direct to the upstreams (the sim and nginx's static body, side by side).
# One scenario of bench/proxy.sh, with the references it is compared to in
# the same run; arguments go to bench/proxy.sh (--repeat, --duration, --rate,
# --upstream ...).
exec "$(dirname "$0")/../proxy.sh" --only sim,nginx-static "$@"
