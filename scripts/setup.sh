#!/usr/bin/env bash
# Installs what the tests need when it is missing: the official npm packages
# (from the committed lock files), a redis-server binary and Chromium.
# Safe to run again: it does nothing and prints nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm_ci DIR installs DIR's packages from its lock file when node_modules is
# absent or older than the lock file.
npm_ci() {
	local dir=$1
	[ -f "$dir/package-lock.json" ] || return 0
	if [ ! -f "$dir/node_modules/.package-lock.json" ] ||
		[ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		echo "setup: npm ci in $dir" >&2
		(cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
	fi
}

npm_ci .
npm_ci interop
npm_ci examples/chat
npm_ci redisadapter/testdata/capture
npm_ci bench/node

# Debian packages, installed only when their binary is missing.
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
	as_root=()
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			as_root=(sudo)
		else
			echo "setup: missing ${need[*]} and not root; install them with apt-get" >&2
			exit 1
		fi
	fi
	echo "setup: apt-get install ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${as_root[@]}" apt-get update -qq
	"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
