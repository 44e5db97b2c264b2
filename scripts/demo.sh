#!/usr/bin/env bash
# Starts the chat demo (examples/chat) on embedded defaults and prints its URL.
# The first run fetches the official browser client (socket.io-client) with
# npm from examples/chat's lock file.
#
#   PORT=8080 ADDR=127.0.0.1 ./scripts/demo.sh
#   DEBUG='socket.io:*,engine.io:*' ./scripts/demo.sh   # debug logs on stderr
set -euo pipefail
cd "$(dirname "$0")/../examples/chat"

if [ ! -f node_modules/socket.io-client/dist/socket.io.min.js ] ||
	[ package-lock.json -nt node_modules/.package-lock.json ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "demo: npm (Node.js 20+) is needed once, to fetch the official browser client (socket.io-client)" >&2
		exit 1
	fi
	echo "demo: fetching the official browser client (npm ci in examples/chat)" >&2
	npm ci --no-audit --no-fund --loglevel=error
fi
# Built, then run in place of this script, so that signals reach it.
mkdir -p ../../.tmp
go build -o ../../.tmp/chat-demo .
exec ../../.tmp/chat-demo
