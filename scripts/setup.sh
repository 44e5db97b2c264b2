#!/usr/bin/env bash
# Installs what the tests need when it is missing: the official npm packages
# (from the committed lock files), a redis-server binary, Chromium, HAProxy
# and nginx (the load balancers of the routing tests), and a running PostgreSQL server
# (pgadapter's tests).
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
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
pg_new=
if ! command -v psql >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null 2>&1; then
	need+=(postgresql)
	pg_new=1
fi
as_root=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	as_root=(sudo)
fi
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ] && [ ${#as_root[@]} -eq 0 ]; then
		echo "setup: missing ${need[*]} and not root; install them with apt-get" >&2
		exit 1
	fi
	echo "setup: apt-get install ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	"${as_root[@]}" apt-get update -qq
	"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# pgadapter's tests use the PostgreSQL server at $PGADAPTER_TEST_URL, by
# default postgres@127.0.0.1:5432 without password, and create a database of
# their own for each test. Start a cluster when none runs; on a server this
# script just installed, let local TCP connections in without password.
if [ -z "${PGADAPTER_TEST_URL:-}" ] && command -v pg_lsclusters >/dev/null 2>&1; then
	read -r ver name _ < <(pg_lsclusters -h | head -n 1) || true
	if [ -z "${ver:-}" ]; then
		ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
		name=main
		echo "setup: pg_createcluster $ver $name" >&2
		"${as_root[@]}" pg_createcluster "$ver" "$name" >/dev/null
		pg_new=1
	fi
	if [ -n "$pg_new" ]; then
		"${as_root[@]}" sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' \
			"/etc/postgresql/$ver/$name/pg_hba.conf"
	fi
	if [ -z "$(pg_lsclusters -h | awk '$4 == "online"')" ]; then
		echo "setup: pg_ctlcluster $ver $name start" >&2
		"${as_root[@]}" pg_ctlcluster "$ver" "$name" start
	elif [ -n "$pg_new" ]; then
		"${as_root[@]}" pg_ctlcluster "$ver" "$name" reload
	fi
fi
