# Entry points for newcomers and CI. See README.md.
.PHONY: demo test deps

# Runs the chat demo on embedded defaults.
demo:
	./scripts/demo.sh

# Installs what the tests need (npm packages, redis-server, chromium, a
# running PostgreSQL) when missing, then runs every module's tests with the
# race detector.
test:
	./scripts/test.sh
