#!/usr/bin/env bash
# The whole suite, in two runs (make test calls this inside tests/pg_server.sh):
#   1. every test but the `live` ones, on both cores (pytest-xdist): they are independent, each on its own
#      temporary database or server, and this halves their time. Each browser module goes whole to one worker
#      (--dist loadgroup: its server is set up once), the page checks (axe, 360 px and vnu on every kind of page)
#      as one unit; the tests without a browser fill in around them;
#   2. the `live` browser tests, one at a time: they time what people see on several screens at once (a change
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
"$python" -m pytest -m "not live" -n 2 --dist loadgroup "$@"
without_timing=$?
"$python" -m pytest -m "live" "$@"
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
