#!/usr/bin/env bash
# Runs every test of every module with -race. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
status=0
for mod in $(git ls-files 'go.mod' '*/go.mod'); do
	dir=$(dirname "$mod")
	echo "== go test ($dir)"
	(cd "$dir" && go vet ./... && go test -race -count=1 -timeout 20m ./...) || status=1
done
exit $status
