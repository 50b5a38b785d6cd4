#!/bin/sh
# `make run`: start Switchyard in the foreground on 127.0.0.1:4000 with the
# simulated providers (switchyard sim on 127.0.0.1:4010), or the real OpenAI /
# Anthropic APIs when OPENAI_API_KEY / ANTHROPIC_API_KEY are set. Ctrl-C stops both.
set -eu
cd "$(dirname "$0")/.."
CONFIG=${SWITCHYARD_CONFIG:-configs/quickstart.yaml}
if [ -n "${OPENAI_API_KEY:-}" ] && [ -z "${OPENAI_BASE_URL:-}" ]; then
    export OPENAI_BASE_URL=https://api.openai.com/v1
fi
if [ -n "${ANTHROPIC_API_KEY:-}" ] && [ -z "${ANTHROPIC_BASE_URL:-}" ]; then
    export ANTHROPIC_BASE_URL=https://api.anthropic.com
fi
build/switchyard sim --listen 127.0.0.1:4010 2>build/sim.log &
SIM=$!
trap 'kill $SIM 2>/dev/null || true' EXIT INT TERM
KEY=${SWITCHYARD_KEY:-sk-sy-dev}
cat <<MSG
Switchyard is starting on http://127.0.0.1:4000 (config: $CONFIG).
Providers: OpenAI ${OPENAI_BASE_URL:-(simulated)}, Anthropic ${ANTHROPIC_BASE_URL:-(simulated)},
Gemini and Bedrock simulated. Models: gpt-4o-mini, claude-sonnet, gemini-flash, nova-pro.
In another terminal:

  curl -s http://127.0.0.1:4000/v1/chat/completions \\
    -H 'Authorization: Bearer $KEY' -H 'Content-Type: application/json' \\
    -d '{"model":"claude-sonnet","messages":[{"role":"user","content":"Hello!"}]}'

or point an OpenAI or Anthropic SDK at it:  baseURL http://127.0.0.1:4000/v1  apiKey $KEY

Ctrl-C stops it.
MSG
build/switchyard serve -c "$CONFIG"
