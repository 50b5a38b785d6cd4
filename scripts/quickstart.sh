#!/bin/sh
# `make run`: start the gateway in the foreground on 127.0.0.1:4000 and show
# how to talk to it. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
CONFIG=${SWITCHYARD_CONFIG:-configs/quickstart.yaml}
cat <<MSG
Switchyard is starting on http://127.0.0.1:4000 (config: $CONFIG).
In another terminal:

  curl -s http://127.0.0.1:4000/health

Ctrl-C stops it.
MSG
exec build/switchyard serve -c "$CONFIG"
