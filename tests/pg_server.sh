#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite, started by hand (no service manager needed).
#
#   tests/pg_server.sh run CMD [ARGS...]   start a server, run CMD with P2P_TEST_DATABASE_URL set to its maintenance
#                                          database, stop the server (also when CMD fails), exit with CMD's status
#   tests/pg_server.sh start               start one and print `DIR URL` (for working on the tests by hand)
#   tests/pg_server.sh stop DIR            stop the one started in DIR and remove DIR
#
# If P2P_TEST_DATABASE_URL is already set, `run` uses that server and starts nothing.
# The data lives in a fresh temporary folder, owned by the `postgres` user when we run as root (PostgreSQL
# refuses to run as root). fsync is off: the data is thrown away afterwards, and the tests only need it fast.
set -euo pipefail

bindir() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
        echo "PostgreSQL's server programs were not found in /usr/lib/postgresql/*/bin: apt-get install postgresql" >&2
        exit 1
    fi
    echo "$found"
}

as_owner() {   # run a server program as the data folder's owner
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

new_dir() {
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/p2p-pg.XXXXXX")
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    echo "$dir"
}

start() {   # start DIR: a server with its data in DIR; prints its maintenance database's URL
    local bin dir=$1 port
    bin=$(bindir)
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    for attempt in 1 2 3; do   # another process may take the free port before the server does
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null; then
            echo "postgresql://postgres@127.0.0.1:$port/postgres"
            return 0
        fi
    done
    cat "$dir/log" >&2
    exit 1
}

stop() {
    local dir=$1
    [ -d "$dir/data" ] && as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}

case "${1:-}" in
    start) DIR=$(new_dir); echo "$DIR $(start "$DIR")" ;;
    stop) stop "$2" ;;
    run)
        shift
        if [ -n "${P2P_TEST_DATABASE_URL:-}" ]; then exec "$@"; fi
        DIR=$(new_dir)
        trap 'stop "$DIR"' EXIT   # whatever happens next, the server is stopped and its folder removed
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        URL=$(start "$DIR")       # fails the whole command if the server does not start
        echo "PostgreSQL for the tests: $URL"
        # In the background, so that a signal to this script is handled at once: passed on to the command,
        # whose end is awaited, and then the EXIT trap stops the server.
        P2P_TEST_DATABASE_URL=$URL "$@" &
        child=$!
        trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM HUP
        status=0
        wait "$child" || status=$?
        while kill -0 "$child" 2>/dev/null; do wait "$child" || status=$?; done
        exit "$status"
        ;;
    *) echo "usage: $0 run CMD [ARGS...] | start | stop DIR" >&2; exit 2 ;;
esac
