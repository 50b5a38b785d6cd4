#!/bin/sh
# Install what Switchyard needs to build, test and benchmark on Debian 12:
# Debian packages (apt-get) and the npm packages the end-to-end tests use.
# Idempotent: when everything is present it changes nothing and prints one line.
set -eu
cd "$(dirname "$0")/.."

PKGS="make gcc libc6-dev pkg-config clang libclang-rt-14-dev
      libssl-dev libyaml-dev libsqlite3-dev libjansson-dev libc-ares-dev libpcre2-dev
      libpq-dev libhiredis-dev
      python3 valgrind curl ca-certificates"
# Servers the governance tests start on loopback (shared limits and store).
PKGS="$PKGS redis-server postgresql"
# Node.js and npm run the official SDK clients in the tests; a machine that
# already has a node (any packaging) keeps it.
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
# Benchmarks: load generator, reference proxy, plots, profiles (perf).
PKGS="$PKGS wrk nginx-light gnuplot-nox linux-perf"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# nginx-light is one way to have nginx; any installed nginx will do.
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
    missing=$(echo "$missing" | sed 's/ nginx-light//')
fi
if [ -n "$(echo "$missing" | tr -d ' ')" ]; then
    echo "deps: installing Debian packages:$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

if [ -f tests/package.json ]; then
    if [ ! -d tests/node_modules ] || [ tests/package.json -nt tests/node_modules ] ||
       { [ -f tests/package-lock.json ] && [ tests/package-lock.json -nt tests/node_modules ]; }; then
        echo "deps: installing npm packages for the tests"
        (cd tests && npm install --no-audit --no-fund --loglevel=error)
        touch tests/node_modules
    fi
fi
echo "deps: ok"
