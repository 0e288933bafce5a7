"""The live board under a room's load: 50 participants on one board, proposing and responding while every
screen polls for changes, against the real server on loopback.

Prints, in one table: the time from a write to its appearance on every other screen (p50/p95), the server's
p95 latency, errors, and the throughput of the live endpoint (answering "nothing new") as a ratio to a bare
route (/healthz) on the same server, measured in the same run.

    make bench            (or: .venv/bin/python -m bench.board [--people 50] [--seconds 20])

With P2P_BENCH_JSON=path, also writes board_propagation_p50_ms, board_propagation_p95_ms, board_server_p95_ms,
board_errors and live_vs_bare_ratio there (merged with what the file holds).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import threading
import time
import urllib.parse
from pathlib import Path

from bench.login import PASSWORD, running_server

POLL_SECONDS = 1.5


class Client:
    """One person's browser: a keep-alive connection, a session cookie, and the CSRF token of its page."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.token = ""
        self.latencies: list[float] = []
        self.errors = 0

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers.update({"Content-Type": "application/x-www-form-urlencoded", "X-CSRFToken": self.token})
        if "board" in path:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            text = response.read().decode()
        except (OSError, http.client.HTTPException):
            self.errors += 1
            self.connection.close()
            return 0, ""
        self.latencies.append(time.perf_counter() - started)
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        if response.status >= 500:
            self.errors += 1
        return response.status, text

    def log_in(self, name: str) -> None:
        _, page = self.request("GET", "/login")
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/login", {"csrf_token": self.token, "name": name, "password": PASSWORD})
        _, page = self.request("GET", "/")
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    with running_server(args.people) as (port, names, group_id, _):
        facilitator = Client(port)
        facilitator.log_in("Bench facilitator")
        people = []
        for name in names:
            client = Client(port)
            client.log_in(name)
            people.append(client)
        board = f"/groups/{group_id}/board"
        written: dict[str, float] = {}      # text -> when the write returned
        seen: dict[str, list[float]] = {}   # text -> when each other screen first showed it
        lock = threading.Lock()
        stop = threading.Event()

        def screen(client: Client, me: int):
            version = 0
            shown: set[str] = set()
            next_write = time.perf_counter() + random.uniform(2, 6)
            while not stop.is_set():
                status, body = client.request("GET", f"{board}/live?v={version}")
                now = time.perf_counter()
                if status == 200:
                    version = int(re.search(r"v=(\d+)", body).group(1))
                    for text in re.findall(r'class="proposal__text">([^<]+)<', body):
                        if text not in shown:
                            shown.add(text)
                            with lock:
                                if text in written and not text.startswith(f"p{me}-"):
                                    seen.setdefault(text, []).append(now - written[text])
                if now >= next_write:   # a few proposals each, spread over the run
                    text = f"p{me}-{random.randint(0, 10**9)}"
                    status, _ = client.request("POST", f"{board}/proposals", {"text": text})
                    with lock:
                        written[text] = time.perf_counter()
                    next_write = now + random.uniform(4, 10)
                stop.wait(POLL_SECONDS)

        threads = [threading.Thread(target=screen, args=(c, n), daemon=True) for n, c in enumerate(people)]
        for thread in threads:
            thread.start()
            time.sleep(POLL_SECONDS / len(threads))   # screens poll out of step, as in a real room
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()

        # Throughput: the live endpoint answering "nothing new" against a bare route, same server, same run.
        version = int(re.search(r"v=(\d+)", facilitator.request("GET", f"{board}/live")[1]).group(1))

        def hammer(path: str, seconds: float = 4.0) -> float:
            clients = [Client(port) for _ in range(8)]
            for c in clients:
                c.cookie = facilitator.cookie
            counts = [0] * len(clients)
            end = time.perf_counter() + seconds

            def run(i):
                while time.perf_counter() < end:
                    clients[i].request("GET", path)
                    counts[i] += 1
            workers = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            return sum(counts) / seconds

        bare = hammer("/healthz")
        live = hammer(f"{board}/live?v={version}")

    delays = sorted(d for ds in seen.values() for d in ds)
    latencies = sorted(l for c in people for l in c.latencies)
    errors = sum(c.errors for c in people) + facilitator.errors

    def pct(values, p):
        return values[min(len(values) - 1, int(len(values) * p))] * 1000 if values else float("nan")

    figures = {
        "board_propagation_p50_ms": round(pct(delays, 0.50)),
        "board_propagation_p95_ms": round(pct(delays, 0.95)),
        "board_server_p95_ms": round(pct(latencies, 0.95), 1),
        "board_errors": errors,
        "live_vs_bare_ratio": round(live / bare, 2),
    }
    print(f"{'figure':<52}{'value':>10}")
    print(f"{f'{len(written)} proposals by {args.people} people over {args.seconds:g} s':<52}")
    print(f"{'write to every other screen, p50 (ms)':<52}{figures['board_propagation_p50_ms']:>10}")
    print(f"{'write to every other screen, p95 (ms)':<52}{figures['board_propagation_p95_ms']:>10}")
    print(f"{'server latency, p95 of {0} requests (ms)'.format(len(latencies)):<52}{figures['board_server_p95_ms']:>10}")
    print(f"{'errors':<52}{errors:>10}")
    print(f"{'live endpoint vs bare route, requests/s':<52}{live:>5.0f} / {bare:.0f}")
    print(f"{'  ratio':<52}{figures['live_vs_bare_ratio']:>10}")
    if os.environ.get("P2P_BENCH_JSON"):
        path = Path(os.environ["P2P_BENCH_JSON"])
        merged = json.loads(path.read_text()) if path.exists() else {}
        merged.update(figures)
        path.write_text(json.dumps(merged, indent=2))


if __name__ == "__main__":
    main()
