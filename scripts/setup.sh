#!/usr/bin/env bash
# Installs what the tests need when it is missing: the official npm packages
# (from the committed lock file), a redis-server binary and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f package-lock.json ]; then
	if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
		npm ci --no-audit --no-fund --loglevel=error
	fi
fi
