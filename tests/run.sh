#!/usr/bin/env bash
# The whole suite (make test calls this inside tests/pg_server.sh), in three pytest-xdist workers: the tests are
# independent, each on its own temporary database or server. Each browser module goes whole to one worker
# (--dist loadgroup: its server is set up once), the page checks (axe, 360 px and vnu on every kind of page) as one
# unit; the tests without a browser fill in around them. Three on two cores, because a browser test spends most of
# its time waiting for a page or a poll (two kept the cores ~60% busy). Four were tried (eleventh session): six
# fresh-clone runs took 6:32-10:02 against 6:29-8:17 with three in the session before, and on a slow minute the cores
# were full: no clear gain, and more of the tests that lean on timing failed. The page checks, ~5 minutes in one worker, are the
# longest unit. No test times anything (make bench measures speed): a browser test that waits for a live change
# waits a few polls, so busy cores do not disturb it.
#
# First, in a few seconds, the code's own checks: ruff, and the import contracts (pyproject.toml); a failure there
# fails the run too, after the tests have run. A run in which no test ran is a failure (pytest's 5).
#
#   tests/run.sh PYTHON [PYTEST_ARGS...]
set -u
python=$1
shift
bin=$(dirname "$python")
"$bin/ruff" check . && "$bin/lint-imports" --no-cache
lint=$?
"$python" -m pytest -n 3 --dist loadgroup "$@"
tests=$?
if [ "$lint" != 0 ]; then echo "ruff or the import contracts failed: see the top of this output." >&2; exit "$lint"; fi
if [ "$tests" = 5 ]; then echo "No test ran: nothing matched ${*:-the suite}." >&2; fi
exit "$tests"
