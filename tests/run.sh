#!/usr/bin/env bash
# The whole suite, in two runs (make test calls this inside tests/pg_server.sh):
#   1. every test without a browser, on both cores (pytest-xdist): they are independent, each on its own
#      temporary database, and this halves their time. The browser tests that time nothing (`page_checks`: axe,
#      360 px and vnu on every kind of page) run in this run too, in order in one worker (--dist loadgroup), while
#      the other worker takes the tests without a browser; that worker joins in when they are done;
#   2. the other browser tests, one at a time: they time what people see on several screens at once (a change
#      must reach every screen within 2.5 s), which a second busy core would disturb.
# Both runs happen whatever the first gives; the status is a failure if either failed, or if neither ran a test
# (pytest's 5, "no tests collected", is fine for one half: PYTEST_ARGS may pick tests of one kind only).
#
# First, in a few seconds, the code's own checks: ruff, and the import contracts (pyproject.toml); a failure there
# fails the run too, after the tests have run.
#
#   tests/run.sh PYTHON [PYTEST_ARGS...]
set -u
python=$1
shift
bin=$(dirname "$python")
"$bin/ruff" check . && "$bin/lint-imports" --no-cache
lint=$?
"$python" -m pytest -m "not browser or page_checks" -n 2 --dist loadgroup "$@"
without_timing=$?
"$python" -m pytest -m "browser and not page_checks" "$@"
timing=$?
if [ "$lint" != 0 ]; then echo "ruff or the import contracts failed: see the top of this output." >&2; exit "$lint"; fi
for status in "$without_timing" "$timing"; do
    if [ "$status" != 0 ] && [ "$status" != 5 ]; then exit "$status"; fi
done
if [ "$without_timing" = 5 ] && [ "$timing" = 5 ]; then
    echo "No test ran: nothing matched ${*:-the suite}." >&2
    exit 5
fi
exit 0
